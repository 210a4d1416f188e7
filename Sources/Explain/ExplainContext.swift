import Maps
import MapBackends
import PostfixConfig
import PostfixText

/// Everything one explanation reads: main.cf (with a master.cf service's `-o` overrides and the
/// command line's), the table registry, and the map lists and match lists built from parameters.
public final class ExplainContext {
    /// The parameters, as the daemon being explained sees them.
    public private(set) var config: MainConfig
    /// The registry that opens every table.
    public let registry: MapRegistry
    /// The Postfix release whose smtpd is explained (its restriction table: `SMTPDRestrictions.table(for:)`).
    public var release: PostfixRelease = PostfixRelease.current
    let sink = WarningSink()
    private var lists: [String: MapList] = [:]
    private var matchLists: [String: MatchList<MapList>] = [:]

    /// Settings as Postfix's daemons open their tables: locked, fixed keys folded, UTF-8 checked;
    /// `proxy:` opened directly (there is no proxymap to ask).
    public var request: OpenRequest {
        let settings = MapSettings(config: config, proxy: .direct)
        let sink = self.sink
        return OpenRequest(mode: .readOnly, flags: [.lock, .foldFixed, .utf8Request], settings: settings,
                           diagnostics: Diagnostics(warning: { sink.add($0) }))
    }

    /// A context over `config`; `overrides` are `name=value` settings applied last.
    public init(config: MainConfig, registry: MapRegistry = MapBackends.registry,
                overrides: [(String, String)] = []) throws(ExplainError) {
        self.config = config
        self.registry = registry
        for (name, value) in overrides {
            guard Self.isKnown(name, in: config) else { throw Self.unknownParameter(name, config) }
            self.config.set(name, value)
        }
    }

    /// Read main.cf from `directory` (else `MAIL_CONFIG`, else /etc/postfix), then apply the `-o`
    /// settings of the master.cf service `service` (`name/type`), then `overrides`.
    public static func load(directory: String?, service: String?, overrides: [(String, String)],
                            registry: MapRegistry = MapBackends.registry) throws(ExplainError) -> ExplainContext {
        let dir = MainConfig.defaultDirectory(override: directory)
        var config: MainConfig
        do {
            config = try MainConfig.load(directory: dir)
        } catch {
            throw ExplainError(.configuration, error.message)
        }
        // Postfix's programs set config_directory to the directory they read (-c, MAIL_CONFIG).
        if config.explicit["config_directory"] == nil { config.set("config_directory", dir) }
        var fromService: [String: String] = [:]
        let mainOnly = config
        if let service {
            for (name, value) in try serviceOverrides(directory: dir, service: service) {
                config.set(name, value)
                fromService[name] = service
            }
        }
        let context = try ExplainContext(config: config, registry: registry, overrides: overrides)
        for (name, service) in fromService where !overrides.contains(where: { $0.0 == name }) {
            context.serviceSettings[name] = service
        }
        if !context.serviceSettings.isEmpty {
            context.rewriting = try ExplainContext(config: mainOnly, registry: registry, overrides: overrides)
        }
        for warning in config.warnings { context.sink.add(warning) }
        return context
    }

    /// The `-o name=value` settings of one master.cf entry.
    static func serviceOverrides(directory: String, service: String) throws(ExplainError) -> [(String, String)] {
        let parts = service.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
            throw ExplainError(.input, "--service wants name/type (smtp/inet, submission/inet), not \"\(service)\"")
        }
        let path = "\(directory)/master.cf"
        let bytes: [UInt8]
        switch FileText.read(path) {
        case .success(let b): bytes = b
        case .failure(let e): throw ExplainError(.configuration, "open \(path): \(e.text)")
        }
        let reader = LogicalLineReader(ByteReader(bytes: bytes, path: path), warning: { _ in })
        while let line = reader.next() {
            guard let entry = try? MasterEntry(line: line.text, warn: { _ in }) else { continue }
            if ByteText.string(entry.argv[0]) == String(parts[0]), ByteText.string(entry.argv[1]) == String(parts[1]) {
                return entry.optionSettings.map { (ByteText.string($0.0), ByteText.string($0.1)) }
            }
        }
        throw ExplainError(.input, "\(path): no service \(service)")
    }

    /// trivial-rewrite's view when `--service` applied `-o` settings: main.cf and the command line's
    /// overrides only. A service's `-o` reaches that service alone; the address class (local, virtual
    /// alias, virtual mailbox, relay) is decided by trivial-rewrite, which reads main.cf.
    private var rewriting: ExplainContext?
    /// The context trivial-rewrite's decisions are read from (this one when no service applied).
    public var trivialRewrite: ExplainContext { rewriting ?? self }

    /// The parameters a master.cf service's `-o` set (`--service`), with the service.
    public internal(set) var serviceSettings: [String: String] = [:]

    /// Where a parameter's value comes from, for the trace: "" for main.cf or the default, else
    /// " (set by -o in master.cf service NAME/TYPE)".
    public func origin(of parameter: String) -> String {
        guard let service = serviceSettings[parameter] else { return "" }
        return " (set by -o \(parameter)=... in master.cf service \(service))"
    }

    /// A built-in parameter, or one main.cf sets.
    static func isKnown(_ name: String, in config: MainConfig) -> Bool {
        BuiltinParameters.lookup(ByteText.bytes(of: name)) != nil || config.explicit[name] != nil
    }

    static func unknownParameter(_ name: String, _ config: MainConfig) -> ExplainError {
        var best: (String, Int)?
        for p in BuiltinParameters.all {
            let candidate = ByteText.string(p.name)
            let d = editDistance(name, candidate)
            if d <= 2, d < (best?.1 ?? 3) { best = (candidate, d) }
        }
        let hint = best.map { " (did you mean \($0.0)?)" } ?? ""
        return ExplainError(.input, "unknown parameter name: \(name)\(hint)")
    }

    static func editDistance(_ a: String, _ b: String, limit: Int = 2) -> Int {
        let a = Array(a.utf8), b = Array(b.utf8)
        if abs(a.count - b.count) > limit { return limit + 1 }
        var previous = Array(0...b.count)
        for i in 1...max(a.count, 1) where !a.isEmpty {
            var current = [i] + Array(repeating: 0, count: b.count)
            for j in 1...max(b.count, 1) where !b.isEmpty {
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            previous = current
        }
        return previous[b.count]
    }

    /// A parameter's expanded value; an unknown name is an input error.
    public func parameter(_ name: String) throws(ExplainError) -> String {
        guard Self.isKnown(name, in: config) else { throw Self.unknownParameter(name, config) }
        return config.value(name) ?? ""
    }

    /// The value, or "" for unknown names (for parameters this code knows exist).
    func value(_ name: String) -> String { config.value(name) ?? "" }

    func bool(_ name: String) -> Bool { config.bool(name, default: false) }

    func int(_ name: String, _ fallback: Int) -> Int { config.int(name, default: fallback) }

    /// Whether `feature` (`smtpd_access_maps`, `transport_maps`, `relay_domains`, ...) is listed in
    /// `parent_domain_matches_subdomains`: `example.com` then matches its subdomains, instead of only
    /// `.example.com` doing so.
    public func parentMatchesSubdomains(_ feature: String) -> Bool {
        ConfigText.tokens(ByteText.bytes(of: value("parent_domain_matches_subdomains")), ConfigText.isCommaOrBlank)
            .contains { ByteText.string($0) == feature }
    }

    /// The map list of a `*_maps` parameter (`$name` expanded), opened lazily and kept.
    public func mapList(parameter name: String) throws(ExplainError) -> MapList {
        let value = try parameter(name)
        return mapList(title: name, value: value)
    }

    /// A map list over `value`, kept by title and value.
    public func mapList(title: String, value: String) -> MapList {
        let cacheKey = title + "\u{0}" + value
        if let list = lists[cacheKey] { return list }
        let list = MapList(title: title, specs: MapList.split(value), registry: registry, request: request, lazily: true)
        lists[cacheKey] = list
        return list
    }

    /// A match list over a parameter (`mydestination`, `relay_domains`, `mynetworks`, ...).
    func matchList(_ name: String, kind: MatchList<MapList>.Kind, value: String? = nil) -> MatchList<MapList> {
        let key = name + "\u{0}" + (value ?? "")
        if let list = matchLists[key] { return list }
        // Lookups go through map lists (traced); parent domains are looked up in tables with fixed keys only.
        let list = MatchList<MapList>(title: name, text: ByteText.bytes(of: value ?? self.value(name)), kind: kind,
                                      parent: parentMatchesSubdomains(name), errors: .whenMatched,
                                      openTable: { [unowned self] spec in
            let table = self.mapList(title: name, value: spec)
            return (table, table.specs.allSatisfy { MapCatalog.entry(named: $0.type)?.keys == .fixed })
        })
        matchLists[key] = list
        return list
    }

    /// Warnings collected since the last call.
    public func drainWarnings() -> [String] { sink.drain() + (rewriting?.drainWarnings() ?? []) }

    /// Close every table.
    public func close() {
        for list in lists.values { list.close() }
        lists.removeAll()
        rewriting?.close()
    }
}
