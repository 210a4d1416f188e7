import PostfixConfig
import PostfixText
#if canImport(Glibc)
import Glibc
#endif

/// postmapd's configuration: a file in main.cf syntax (postmapd.cf(5)), read with the project's own
/// main.cf reader (`name = value`, continuation lines, comments, `$name` expansion).
public struct ServerConfiguration: Sendable, Equatable {
    /// Where a listener accepts connections.
    public enum Address: Sendable, Equatable, Hashable, CustomStringConvertible {
        case inet(host: String, port: Int)
        case unix(path: String)

        public var description: String {
            switch self {
            case .inet(let host, let port): host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
            case .unix(let path): "unix:\(path)"
            }
        }
    }

    /// A listener and what it serves.
    public struct Listener: Sendable, Equatable {
        public enum Kind: String, Sendable, Equatable { case socketmap, tcpTable = "tcp_table" }
        public var address: Address
        public var kind: Kind
        /// tcp_table: the one table this listener serves. socketmap: nil (the request names the table).
        public var table: String?
    }

    /// The tables served, by name: each a list of `type:name` searched in order (one entry: one table).
    public var tables: [String: String] = [:]
    /// Table names in the order the file gives them.
    public var tableOrder: [String] = []
    /// `*_maps` parameters of Postfix's main.cf served under their own names.
    public var postfixMaps: [String] = []
    /// `postfix_config_directory`: the main.cf that `postfix_maps`, legacy ldap names and table tunables read.
    public var postfixConfigDirectory: String = "/etc/postfix"
    public var listeners: [Listener] = []
    public var maximumConnections = 4096
    /// Seconds.
    public var idleTimeout = 300
    /// Seconds.
    public var requestTimeout = 10
    public var maximumRequestSize = 100_000
    /// A table asked with the client's IP address: `OK` or `PERMIT` lets it in. nil: everyone.
    public var clientAccess: String?
    public var unixSocketOwner: String?
    public var unixSocketMode: mode_t = 0o666
    /// Drop to this user after binding, when started as root.
    public var user: String?
    /// Milliseconds between two looks at a table's files.
    public var tableCheckInterval = 250
    public var lookupThreads = 8
    /// The event loops that answer connections; nil: `defaultEventLoops`.
    public var eventLoops: Int?
    public var metricsListen: Address?
    public var syslogName = "postmapd"
    public var syslogFacility = "mail"
    /// `name=value` lines that mean nothing here (warned about, as postconf warns about unused names).
    public var unused: [String] = []

    /// The parameters this file knows.
    public static let knownNames: Set<String> = [
        "postfix_config_directory", "postfix_maps", "socketmap_listen", "tcp_table_listen", "max_connections",
        "idle_timeout", "request_timeout", "max_request_size", "client_access", "unix_socket_owner",
        "unix_socket_mode", "user", "table_check_interval", "lookup_threads", "event_loops", "metrics_listen",
        "syslog_name", "syslog_facility",
    ]

    public init() {}

    /// Read and check `path`. Errors name the file and the parameter.
    public static func load(_ path: String) throws(ServerConfigError) -> ServerConfiguration {
        let table = ParameterDictionary()
        final class Sink: @unchecked Sendable {
            // `@unchecked Sendable`: used only on this thread, during this call.
            var lines: [String] = []
        }
        let sink = Sink()
        do {
            try ConfigFileReader.load(path, into: table, warn: { sink.lines.append($0) }, rereadHotFile: false)
        } catch {
            switch error {
            case .open(let e): throw ServerConfigError("open \(path): \(systemErrorText(e))")
            case .fatal(let f): throw ServerConfigError(f.message)
            }
        }
        var raw: [(String, String)] = []
        for (name, value) in table.entries { raw.append((ByteText.string(name), ByteText.string(value))) }
        var config = try parse(raw, path: path)
        config.unused += sink.lines
        return config
    }

    /// Build a configuration from `name = value` pairs in file order.
    public static func parse(_ pairs: [(String, String)], path: String = "postmapd.cf") throws(ServerConfigError) -> ServerConfiguration {
        var values: [String: String] = [:]
        for (name, value) in pairs { values[name] = value }
        func expand(_ text: String) throws(ServerConfigError) -> String {
            let outcome = MacroExpander.expand(ByteText.bytes(of: text), options: .recurse, lookup: { name, _ in
                values[ByteText.string(name)].map { ByteText.bytes(of: $0) }
            }, warn: { _ in })
            if let fatal = outcome.fatal { throw ServerConfigError("\(path): \(fatal)") }
            return ByteText.string(outcome.text)
        }
        var config = ServerConfiguration()
        for (name, rawValue) in pairs {
            let value = try expand(rawValue)
            func fail(_ why: String) -> ServerConfigError { ServerConfigError("\(path): \(name) = \(rawValue): \(why)") }
            // The names this file knows come first: table_check_interval is not a table.
            if name.hasPrefix("table_"), !knownNames.contains(name) {
                let tableName = String(name.dropFirst("table_".count))
                guard !tableName.isEmpty else { throw fail("table name missing after table_") }
                guard !value.isEmpty else { throw fail("no table given") }
                if config.tables[tableName] == nil { config.tableOrder.append(tableName) }
                config.tables[tableName] = value
                continue
            }
            switch name {
            case "postfix_config_directory":
                config.postfixConfigDirectory = value
            case "postfix_maps":
                config.postfixMaps = words(value)
                for map in config.postfixMaps where !map.hasSuffix("_maps") && !map.hasSuffix("_checks") {
                    throw fail("\(map) is not a *_maps parameter")
                }
            case "socketmap_listen":
                for word in words(value) {
                    config.listeners.append(Listener(address: try address(word, fail), kind: .socketmap, table: nil))
                }
            case "tcp_table_listen":
                for word in words(value) {
                    guard let equals = word.lastIndex(of: "="), equals != word.startIndex,
                          word.index(after: equals) != word.endIndex else {
                        throw fail("expected ADDRESS=TABLE, got \"\(word)\"")
                    }
                    config.listeners.append(Listener(address: try address(String(word[..<equals]), fail), kind: .tcpTable,
                                                     table: String(word[word.index(after: equals)...])))
                }
            case "max_connections": config.maximumConnections = try bounded(positive(value, fail), name, fail)
            case "idle_timeout": config.idleTimeout = try bounded(seconds(value, fail), name, fail)
            case "request_timeout": config.requestTimeout = try bounded(seconds(value, fail), name, fail)
            case "max_request_size": config.maximumRequestSize = try bounded(positive(value, fail), name, fail)
            case "lookup_threads": config.lookupThreads = try bounded(positive(value, fail), name, fail)
            case "event_loops": config.eventLoops = try bounded(positive(value, fail), name, fail)
            case "table_check_interval": config.tableCheckInterval = try bounded(milliseconds(value, fail), name, fail)
            case "client_access": config.clientAccess = value.isEmpty ? nil : value
            case "unix_socket_owner": config.unixSocketOwner = value.isEmpty ? nil : value
            case "unix_socket_mode":
                guard let mode = mode_t(value, radix: 8), mode <= 0o777 else { throw fail("expected an octal mode such as 0660") }
                config.unixSocketMode = mode
            case "user": config.user = value.isEmpty ? nil : value
            case "metrics_listen": config.metricsListen = value.isEmpty ? nil : try address(value, fail)
            case "syslog_name": config.syslogName = value
            case "syslog_facility": config.syslogFacility = value
            default:
                // A name that another value refers to is a macro, as in main.cf.
                let referenced = pairs.contains { $0.1.contains("$\(name)") || $0.1.contains("${\(name)}") || $0.1.contains("$(\(name))") }
                if !referenced { config.unused.append("\(path): unused parameter: \(name)=\(rawValue)") }
            }
        }
        for listener in config.listeners {
            if let table = listener.table, config.tables[table] == nil, !config.postfixMaps.contains(table) {
                throw ServerConfigError("\(path): tcp_table_listen: \(listener.address)=\(table): no table_\(table) or postfix_maps entry \(table)")
            }
        }
        // Port 0 (the system picks one) may be given more than once.
        let addresses = (config.listeners.map(\.address) + (config.metricsListen.map { [$0] } ?? [])).filter {
            if case .inet(_, 0) = $0 { return false }
            return true
        }
        if Set(addresses).count != addresses.count {
            throw ServerConfigError("\(path): the same address is given to more than one listener")
        }
        if config.listeners.isEmpty {
            throw ServerConfigError("\(path): no listener: set socketmap_listen or tcp_table_listen")
        }
        return config
    }

    /// Every table name served, in order: `table_*` entries, then `postfix_maps`.
    public var servedNames: [String] { tableOrder + postfixMaps.filter { tables[$0] == nil } }

    static func words(_ value: String) -> [String] {
        value.split(whereSeparator: { $0 == "," || $0 == " " || $0 == "\t" || $0 == "\n" }).map(String.init)
    }

    /// `inet:HOST:PORT`, `HOST:PORT`, `[IPv6]:PORT`, `unix:/path` (or a bare absolute path).
    static func address(_ text: String, _ fail: (String) -> ServerConfigError) throws(ServerConfigError) -> Address {
        var rest = Substring(text)
        if rest.hasPrefix("unix:") || rest.hasPrefix("/") {
            if rest.hasPrefix("unix:") { rest = rest.dropFirst(5) }
            guard rest.hasPrefix("/") else { throw fail("a unix socket needs an absolute path") }
            guard rest.utf8.count < 108 else { throw fail("unix socket path is too long") }
            return .unix(path: String(rest))
        }
        if rest.hasPrefix("inet:") { rest = rest.dropFirst(5) }
        let host: Substring
        let portText: Substring
        if rest.hasPrefix("["), let close = rest.firstIndex(of: "]") {
            host = rest[rest.index(after: rest.startIndex)..<close]
            let after = rest[rest.index(after: close)...]
            guard after.hasPrefix(":") else { throw fail("expected [HOST]:PORT") }
            portText = after.dropFirst()
        } else {
            guard let colon = rest.lastIndex(of: ":") else { throw fail("expected HOST:PORT") }
            host = rest[..<colon]
            portText = rest[rest.index(after: colon)...]
        }
        guard let port = Int(portText), (0...65535).contains(port) else { throw fail("bad port \"\(portText)\"") }
        guard !host.isEmpty else { throw fail("no host (use 127.0.0.1 for loopback, 0.0.0.0 for every address)") }
        return .inet(host: String(host), port: port)
    }

    /// The values each numeric setting may take. Beyond them the server could not work (a thread per
    /// lookup thread, a descriptor per connection) or a time would overflow when converted.
    public static let bounds: [String: (range: ClosedRange<Int>, unit: String)] = [
        "max_connections": (1...1_000_000, ""),
        "idle_timeout": (1...604_800, "s"),
        "request_timeout": (1...86_400, "s"),
        "max_request_size": (1...100_000_000, ""),
        "lookup_threads": (1...1024, ""),
        "event_loops": (1...MapServer.maximumLoops, ""),
        "table_check_interval": (0...86_400_000, "ms"),
    ]

    /// `n`, if within the bounds of `name`.
    static func bounded(_ n: Int, _ name: String, _ fail: (String) -> ServerConfigError) throws(ServerConfigError) -> Int {
        guard let (range, unit) = bounds[name] else { return n }
        guard range.contains(n) else {
            throw fail("out of range: \(name) must be from \(range.lowerBound)\(unit) to \(range.upperBound)\(unit)")
        }
        return n
    }

    static func positive(_ value: String, _ fail: (String) -> ServerConfigError) throws(ServerConfigError) -> Int {
        guard let n = Int(value), n > 0 else {
            // Too many digits for a number: out of range, not a syntax error.
            if !value.isEmpty, value.utf8.allSatisfy({ (0x30...0x39).contains($0) }), value.utf8.contains(where: { $0 != 0x30 }) {
                return Int.max
            }
            throw fail("expected a positive number")
        }
        return n
    }

    /// A time with Postfix's units (s, m, h, d; seconds when none).
    static func seconds(_ value: String, _ fail: (String) -> ServerConfigError) throws(ServerConfigError) -> Int {
        guard let n = ValueSyntax.seconds(ByteText.bytes(of: value), defaultUnit: UInt8(ascii: "s")), n > 0 else {
            throw fail("expected a time such as 10s or 5m")
        }
        return n
    }

    /// A time in milliseconds (`250ms`), or with Postfix's units.
    static func milliseconds(_ value: String, _ fail: (String) -> ServerConfigError) throws(ServerConfigError) -> Int {
        if value.hasSuffix("ms") {
            guard let n = Int(value.dropLast(2)), n >= 0 else {
                // Digits too many for a number are a time out of range, not a syntax error.
                if !value.dropLast(2).isEmpty, value.dropLast(2).utf8.allSatisfy({ (0x30...0x39).contains($0) }) {
                    return Int.max
                }
                throw fail("expected a time such as 250ms or 1s")
            }
            return n
        }
        guard let n = ValueSyntax.seconds(ByteText.bytes(of: value), defaultUnit: UInt8(ascii: "s")) else {
            throw fail("expected a time such as 250ms or 1s")
        }
        return n * 1000
    }
}

/// A configuration that cannot be used, with the file and the parameter in its text.
public struct ServerConfigError: Error, CustomStringConvertible, Sendable, Equatable {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
