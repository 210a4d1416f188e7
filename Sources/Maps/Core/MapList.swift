import PostfixText

/// A list of tables searched in order, as Postfix's `maps.c` searches a `*_maps` parameter: the first
/// table that has the key answers.
///
/// The value is split as Postfix splits it (commas and blanks outside `{}`); `$name` references must be
/// expanded by the caller, who knows main.cf. Every lookup returns a trace: which table answered, with
/// which exact key, and for rule tables which rule.
public final class MapList {
    /// What the list is called in messages: the parameter name (`virtual_alias_maps`).
    public let title: String
    /// The tables, in order.
    public let specs: [MapSpec]
    private var tables: [(any LookupTable)?]
    private let registry: MapRegistry
    private let request: OpenRequest
    /// Postfix's `maps_find` rules: an empty value is a configuration error, and failures are warned about.
    /// postmap, which calls each table itself, prints an empty value and reports failures its own way.
    private let mapsFindRules: Bool

    /// The result of one search.
    public enum Outcome: Sendable {
        case found([UInt8])
        case notFound
        /// A table failed (to open, or to look up): Postfix's search stops there.
        case failed(spec: MapSpec, error: MapError, opening: Bool)
    }

    /// Split a parameter value into table references (`mystrtokq` with `CHARS_COMMA_SP` and `{}`).
    public static func split(_ value: String) -> [MapSpec] {
        ConfigText.quotedTokens(ByteText.bytes(of: value), ConfigText.isCommaOrBlank).map {
            MapSpec(parsing: ByteText.string($0), defaultType: "")
        }
    }

    /// Open every table of `value` now, as Postfix's `maps_create` does; an open error is thrown.
    public convenience init(title: String, value: String, registry: MapRegistry, request: OpenRequest) throws(MapError) {
        self.init(title: title, specs: Self.split(value), registry: registry, request: request, lazily: false)
        for index in specs.indices { _ = try table(index) }
    }

    /// A list over `specs`. With `lazily`, each table opens when a search first reaches it, and an open
    /// error is returned by that search (as postmap opens its maps one by one).
    public init(title: String, specs: [MapSpec], registry: MapRegistry, request: OpenRequest, lazily: Bool,
                mapsFindRules: Bool = true) {
        self.title = title
        self.specs = specs
        self.tables = Array(repeating: nil, count: specs.count)
        self.registry = registry
        self.request = request
        self.mapsFindRules = mapsFindRules
    }

    /// A list over tables the caller has opened already (the map server's shared tables). `find` then
    /// never opens or writes anything, so a list of thread-safe tables may be searched from many threads.
    public init(title: String, opened: [(spec: MapSpec, table: any LookupTable)], diagnostics: Diagnostics) {
        self.title = title
        self.specs = opened.map(\.spec)
        self.tables = opened.map(\.table)
        self.registry = MapRegistry()
        self.request = OpenRequest(diagnostics: diagnostics)
        self.mapsFindRules = true
    }

    /// The open table at `index`, opening it if needed.
    public func table(_ index: Int) throws(MapError) -> any LookupTable {
        if let table = tables[index] { return table }
        let table = try registry.open(specs[index], request)
        tables[index] = table
        return table
    }

    /// Search for `key`. With `keys`, tables of the other key class are skipped, as callers of
    /// `maps_find` skip pattern tables for partial keys (`DICT_FLAG_FIXED`) and the reverse.
    /// Without `traced`, each table is asked with its plain `lookup` and the trace stays empty (the map
    /// server's path: the same rules, without the cost of recording them).
    public func find(_ key: [UInt8], keys: MapCatalog.Keys? = nil, traced: Bool = true) -> (outcome: Outcome, trace: [TraceStep]) {
        var trace: [TraceStep] = []
        // Postfix: "Temp. workaround, for buggy callers that pass zero-length keys".
        if key.isEmpty, mapsFindRules { return (.notFound, trace) }
        for (index, spec) in specs.enumerated() {
            if let keys, let kind = Self.keyKind(spec), kind != keys {
                let why = keys == .fixed ? "a pattern table is not asked for a partial key" : "a fixed-key table"
                trace.append(TraceStep(table: spec.description, key: key, outcome: .skipped(why), detail: LookupDetail(keys: [])))
                continue
            }
            let table: any LookupTable
            do {
                table = try self.table(index)
            } catch {
                trace.append(TraceStep(table: spec.description, key: key, outcome: .failed(error), detail: LookupDetail(keys: [])))
                return (.failed(spec: spec, error: error, opening: true), trace)
            }
            let outcome: TraceStep.Outcome
            if traced {
                var step = table.traceStep(key)
                step.table = spec.description
                trace.append(step)
                outcome = step.outcome
            } else {
                do {
                    outcome = try table.lookup(key).map { .found($0) } ?? .notFound
                } catch {
                    outcome = .failed(error)
                }
            }
            switch outcome {
            case .found(let value):
                if value.isEmpty, mapsFindRules {
                    let text = "\(title) lookup of \(ByteText.string(key)) returns an empty string result"
                    request.diagnostics.warning(text)
                    request.diagnostics.warning("\(title) should return NO RESULT in case of NOT FOUND")
                    return (.failed(spec: spec, error: .configuration(text), opening: false), trace)
                }
                return (.found(value), trace)
            case .failed(let error):
                if mapsFindRules {
                    request.diagnostics.warning("\(table.type):\(table.name) lookup error for \"\(ByteText.string(key))\"")
                }
                return (.failed(spec: spec, error: error, opening: false), trace)
            case .notFound, .skipped:
                continue
            }
        }
        return (.notFound, trace)
    }

    /// The key class of a table, as its catalog row says; `proxy:` has its inner table's class, which
    /// Postfix's proxy client takes from the proxymap server.
    static func keyKind(_ spec: MapSpec) -> MapCatalog.Keys? {
        var spec = spec
        while spec.type == "proxy", let colon = spec.name.firstIndex(of: ":") {
            spec = MapSpec(type: String(spec.name[..<colon]), name: String(spec.name[spec.name.index(after: colon)...]))
        }
        return MapCatalog.entry(named: spec.type)?.keys
    }

    /// Close every open table.
    public func close() {
        for table in tables { table?.close() }
        tables = Array(repeating: nil, count: specs.count)
    }
}
