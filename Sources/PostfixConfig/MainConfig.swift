import PostfixText
#if canImport(Glibc)
import Glibc
#endif

/// The parameters of one main.cf, with Postfix 3.7.11's built-in defaults behind them and `$name`
/// expansion.
///
/// This is the reader that postmap and postalias use to find `default_database_type`, `alias_database`,
/// `smtputf8_enable` and the table tunables. (postconf itself works on `PostconfSession`, which follows
/// postconf's own lookup rules.)
public struct MainConfig: Sendable {
    /// The configuration directory (`-c`, `MAIL_CONFIG`, or `/etc/postfix`).
    public let directory: String
    /// The explicit `name = value` settings of main.cf, last one winning.
    public private(set) var explicit: [String: String] = [:]
    /// Warnings Postfix prints while reading (`overriding earlier entry`).
    public private(set) var warnings: [String] = []

    /// The built-in defaults by name, raw (unexpanded) as `postconf -d` prints them; host-dependent and
    /// run-time values are not included.
    public static let builtinDefaults: [String: String] = {
        var out: [String: String] = [:]
        for p in BuiltinParameters.all where p.kind != .hostDependent && p.kind != .adhoc && p.kind != .legacy {
            out[ByteText.string(p.name)] = ByteText.string(p.defaultValue)
        }
        return out
    }()

    /// The directory named by `-c`, else `MAIL_CONFIG`, else `/etc/postfix`.
    public static func defaultDirectory(override: String?) -> String {
        if let override { return override }
        if let env = getenv("MAIL_CONFIG") { return String(decoding: Array(UnsafeBufferPointer(start: env, count: strlen(env))).map { UInt8(bitPattern: $0) }, as: UTF8.self) }
        return "/etc/postfix"
    }

    /// An empty configuration (built-in defaults only).
    public init(directory: String) {
        self.directory = directory
    }

    /// Read `DIR/main.cf`. A missing file is an error, as in Postfix (`open DIR/main.cf: ...`).
    public static func load(directory: String) throws(Fatal) -> MainConfig {
        var config = MainConfig(directory: directory)
        let path = "\(directory)/main.cf"
        let table = ParameterDictionary()
        var lineWarnings: [String] = []
        final class Sink { var lines: [String] = [] }
        let sink = Sink()
        do {
            try ConfigFileReader.load(path, into: table, warn: { sink.lines.append($0) }, rereadHotFile: false)
        } catch {
            switch error {
            case .open(let e): throw Fatal("open \(path): \(systemErrorText(e))")
            case .fatal(let f): throw Fatal(f.message)
            }
        }
        lineWarnings = sink.lines
        for (name, value) in table.entries {
            config.explicit[ByteText.string(name)] = ByteText.string(value)
        }
        config.warnings = lineWarnings
        return config
    }

    /// Built-in parameters not defined yet, as in a Postfix program that initializes them late: their
    /// defaults are invisible (a `$name` reference to one expands to nothing) until `set`.
    private var undefinedDefaults: Set<String> = []

    /// Hide the built-in defaults of `names` until each is `set`.
    public mutating func hideDefaults(_ names: [String]) {
        undefinedDefaults.formUnion(names)
    }

    /// The raw value: main.cf's, else the built-in default, else one computed from the host.
    public func raw(_ name: String) -> String? {
        if let value = explicit[name] { return value }
        if undefinedDefaults.contains(name) { return nil }
        guard let p = BuiltinParameters.lookup(ByteText.bytes(of: name)) else { return nil }
        switch p.kind {
        case .hostDependent:
            switch name {
            case "myhostname": return computedHostname()
            case "mydomain": return computedDomain()
            default: return nil
            }
        case .adhoc, .legacy:
            return name == "process_id" ? String(getpid()) : ""
        default:
            return ByteText.string(p.defaultValue)
        }
    }

    /// Postfix's default `myhostname`: the host name, qualified with `$mydomain` or `.localdomain`
    /// when it has no dot.
    private func computedHostname() -> String {
        let host = (try? HostNetworks.hostname()).map { ByteText.string($0) } ?? "localhost"
        if host.contains(".") { return host }
        if let domain = explicit["mydomain"] { return "\(host).\(expand(domain))" }
        return "\(host).localdomain"
    }

    /// Postfix's default `mydomain`: what follows the first dot of `$myhostname`, else `localdomain`.
    private func computedDomain() -> String {
        guard let host = value("myhostname"), let dot = host.firstIndex(of: ".") else { return "localdomain" }
        let domain = host[host.index(after: dot)...]
        return domain.isEmpty ? "localdomain" : String(domain)
    }

    /// Set a value, as `postconf -o` or a command-line override would.
    public mutating func set(_ name: String, _ value: String) {
        explicit[name] = value
        undefinedDefaults.remove(name)
    }

    private func expand(_ text: String) -> String {
        let outcome = MacroExpander.expand(ByteText.bytes(of: text), options: .recurse, lookup: { name, _ in
            self.raw(ByteText.string(name)).map { ByteText.bytes(of: $0) }
        }, warn: { _ in })
        return ByteText.string(outcome.text)
    }

    /// The fully expanded value of a parameter (`$name` references resolved recursively).
    public func value(_ name: String) -> String? {
        guard let raw = raw(name) else { return nil }
        return expand(raw)
    }

    /// A boolean parameter (`yes`/`no`, case-insensitive), or `fallback` when unset or malformed.
    public func bool(_ name: String, default fallback: Bool) -> Bool {
        switch value(name)?.lowercased() {
        case "yes": return true
        case "no": return false
        default: return fallback
        }
    }

    /// An integer parameter, or `fallback` when unset or malformed.
    public func int(_ name: String, default fallback: Int) -> Int {
        guard let text = value(name), let number = Int(text) else { return fallback }
        return number
    }
}
