import PostfixText
/// The table types a program knows, and the one place that opens a `type:name` table.
public struct MapRegistry: Sendable {
    private var types: [String: MapType] = [:]

    public init(_ types: [MapType] = []) {
        for type in types { register(type) }
    }

    /// The catalog's built-in types plus the openers of `backends`, each of which should have a
    /// `.backend` row in the catalog (`mismatches` lists any that do not, for tests).
    public init(catalog: [MapCatalog.Entry], backends: [MapType]) {
        for entry in catalog {
            if case .builtin(let type) = entry.implementation { register(type) }
        }
        for type in backends { register(type) }
    }

    /// Disagreements between the registered openers and the catalog: a type without a row, a row of an
    /// implemented type without an opener, or an opener whose key kind or build support differ from its row.
    public func mismatches(with catalog: [MapCatalog.Entry]) -> [String] {
        var out: [String] = []
        for (name, type) in types.sorted(by: { $0.key < $1.key }) {
            guard let row = catalog.first(where: { $0.name == name }) else {
                out.append("\(name): registered, not in the catalog")
                continue
            }
            if !row.isImplemented { out.append("\(name): registered, but the catalog says postfixOnly") }
            if (row.keys == .fixed) != type.fixedKeys { out.append("\(name): key kind differs from the catalog") }
            if row.buildable != (type.build != nil) { out.append("\(name): build support differs from the catalog") }
        }
        for row in catalog where row.isImplemented && types[row.name] == nil {
            out.append("\(row.name): implemented in the catalog, no opener registered")
        }
        return out
    }

    /// Add or replace a type.
    public mutating func register(_ type: MapType) {
        types[type.name] = type
    }

    /// The type registered under `name`.
    public func type(named name: String) -> MapType? { types[name] }

    /// Every registered type name, sorted.
    public var typeNames: [String] { types.keys.sorted() }

    private func resolve(_ spec: MapSpec) throws(MapError) -> MapType {
        if spec.name.isEmpty {
            throw .configuration("open dictionary: expecting \"type:name\" form instead of \"\(spec.type):\"")
        }
        guard let type = types[spec.type] else {
            throw .configuration("unsupported dictionary type: \(spec.type)")
        }
        return type
    }

    private func needsUTF8Layer(_ request: OpenRequest) -> Bool {
        request.settings.utf8Enabled && request.flags.contains(.utf8Request)
    }

    /// Open a table, adding the UTF-8 layer when `smtputf8_enable` is on and the caller asked for it.
    /// Nested tables of `unionmap:`/`pipemap:` are opened through this registry too.
    public func open(_ spec: MapSpec, _ request: OpenRequest) throws(MapError) -> any LookupTable {
        var request = request
        if request.opener == nil {
            let registry = self
            request.opener = { spec, request throws(MapError) in try registry.open(spec, request) }
        }
        if types[spec.type] == nil, !spec.name.isEmpty,
           let warning = PostfixRelease.current.clients.unknownTypeWarning {
            // 3.10's dynamicmaps warns at every open of a type no module provides, before the error.
            request.diagnostics.warning(warning.replacing("%s", with: spec.type))
        }
        let type = try resolve(spec)
        guard needsUTF8Layer(request), !type.handlesUTF8 else { return try type.open(spec.name, request) }
        var inner = request
        let fold = type.fixedKeys && request.flags.contains(.foldFixed)
        inner.flags.remove(.foldFixed)
        let table = try type.open(spec.name, inner)
        return UTF8KeyTable(wrapping: table, fold: fold, diagnostics: request.diagnostics)
    }

    /// Start a from-scratch build of an indexed table.
    public func builder(_ spec: MapSpec, _ request: OpenRequest) throws(MapError) -> any TableBuilder {
        let type = try resolve(spec)
        guard let build = type.build else {
            throw .configuration("unsupported dictionary type: \(spec.type) does not support bulk-mode creation.")
        }
        guard needsUTF8Layer(request) else { return try build(spec.name, request) }
        var inner = request
        let fold = type.fixedKeys && request.flags.contains(.foldFixed)
        inner.flags.remove(.foldFixed)
        let builder = try build(spec.name, inner)
        return UTF8TableBuilder(inner: builder, fold: fold, spec: spec, diagnostics: request.diagnostics)
    }
}
