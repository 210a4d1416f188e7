import Maps
#if canImport(Glibc)
import Glibc
#endif

/// A failure to read main.cf; the message is Postfix's text without the program prefix.
public struct ConfigError: Error, Sendable {
    public var message: String
    public init(_ message: String) { self.message = message }
}

/// The parameters of one main.cf, with Postfix's built-in defaults behind them and `$name` expansion.
///
/// This is the reader that postmap and postalias use to find `default_database_type`, `alias_database`,
/// `smtputf8_enable` and the table tunables.
public struct MainConfig: Sendable {
    /// The configuration directory (`-c`, `MAIL_CONFIG`, or `/etc/postfix`).
    public let directory: String
    /// The explicit `name = value` settings of main.cf, last one winning.
    public private(set) var explicit: [String: String] = [:]
    /// Warnings Postfix prints while reading (`overriding earlier entry`).
    public private(set) var warnings: [String] = []

    /// The built-in defaults that the map tools need. Values are raw (unexpanded), as `postconf -d` prints them.
    public static let builtinDefaults: [String: String] = [
        "alias_database": "hash:/etc/aliases",
        "alias_maps": "hash:/etc/aliases, nis:mail.aliases",
        "berkeley_db_create_buffer_size": "16777216",
        "berkeley_db_read_buffer_size": "131072",
        "compatibility_level": "0",
        "config_directory": "/etc/postfix",
        "default_database_type": "hash",
        "lmdb_map_size": "16777216",
        "mail_name": "Postfix",
        "mail_version": "3.7.11",
        "smtputf8_enable": "${{$compatibility_level} <level {1} ? {no} : {yes}}",
    ]

    /// The directory named by `-c`, else `MAIL_CONFIG`, else `/etc/postfix`.
    public static func defaultDirectory(override: String?) -> String {
        if let override { return override }
        if let env = getenv("MAIL_CONFIG") { return String(cString: env) }
        return "/etc/postfix"
    }

    /// An empty configuration (built-in defaults only).
    public init(directory: String) {
        self.directory = directory
    }

    /// Read `DIR/main.cf`. A missing file is an error, as in Postfix (`open DIR/main.cf: ...`).
    public static func load(directory: String) throws(ConfigError) -> MainConfig {
        var config = MainConfig(directory: directory)
        let path = "\(directory)/main.cf"
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw ConfigError("open \(path): \(systemErrorText(errno))") }
        defer { close(fd) }
        var lineWarnings: [String] = []
        let reader = LogicalLineReader(ByteReader(fd: fd, path: path), warning: { lineWarnings.append($0) })
        while let line = reader.next() {
            let text = ByteText.string(KeyCodec.cString(line.text))
            guard let (name, value) = Self.splitNameValue(text) else {
                let shown = text
                if let first = text.unicodeScalars.first, first == "=" {
                    throw ConfigError("\(path), line \(line.lineNumber): missing attribute name: \"\(shown)\"")
                }
                throw ConfigError("\(path), line \(line.lineNumber): missing '=' after attribute name: \"\(shown)\"")
            }
            if let old = config.explicit[name], old != value {
                lineWarnings.append("\(path), line \(line.lineNumber): overriding earlier entry: \(name)=\(old)")
            }
            config.explicit[name] = value
        }
        config.warnings = lineWarnings
        return config
    }

    /// Split `name = value` as Postfix's `split_nameval` does: name up to whitespace or `=`, value trimmed.
    static func splitNameValue(_ line: String) -> (String, String)? {
        let scalars = Array(line.unicodeScalars)
        var i = 0
        while i < scalars.count, isSpace(scalars[i]) { i += 1 }
        let nameStart = i
        while i < scalars.count, !isSpace(scalars[i]), scalars[i] != "=" { i += 1 }
        let name = String(String.UnicodeScalarView(scalars[nameStart..<i]))
        while i < scalars.count, isSpace(scalars[i]) { i += 1 }
        guard i < scalars.count, scalars[i] == "=", !name.isEmpty else { return nil }
        i += 1
        var end = scalars.count
        while i < end, isSpace(scalars[i]) { i += 1 }
        while end > i, isSpace(scalars[end - 1]) { end -= 1 }
        return (name, String(String.UnicodeScalarView(scalars[i..<end])))
    }

    /// The raw value: main.cf's, else the built-in default, else one computed from the host.
    public func raw(_ name: String) -> String? {
        if let value = explicit[name] ?? Self.builtinDefaults[name] { return value }
        switch name {
        case "myhostname": return computedHostname()
        case "mydomain": return computedDomain()
        default: return nil
        }
    }

    /// Postfix's default `myhostname`: the host name, qualified with `$mydomain` or `.localdomain`
    /// when it has no dot.
    private func computedHostname() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        let host = gethostname(&buffer, buffer.count) == 0
            ? String(decoding: buffer.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
            : "localhost"
        if host.contains(".") { return host }
        if explicit["mydomain"] != nil { return "\(host).$mydomain" }
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
    }

    /// The fully expanded value of a parameter (`$name` references resolved recursively).
    public func value(_ name: String) -> String? {
        guard let raw = raw(name) else { return nil }
        var expander = Expander(config: self)
        return expander.expand(raw, depth: 0)
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

@inline(__always)
func isSpace(_ s: Unicode.Scalar) -> Bool {
    s == " " || (s.value >= 0x09 && s.value <= 0x0D)
}
