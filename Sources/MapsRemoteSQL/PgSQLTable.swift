import PostfixText
import CSQLLoader
import Maps
import MapsLDAP
import PostfixConfig
#if canImport(Glibc)
import Glibc
#endif

/// Postfix's `pgsql` table (`pgsql_table(5)`, Postfix 3.7.11 as Debian's postfix-pgsql builds it): each
/// lookup is one query, built from the key with `%` templates and escaped with `PQescapeStringConn` on
/// the connection that runs it; every column of every row is a result, formatted and joined with commas.
///
/// A server that cannot be reached, refuses the login, or answers with an error makes the lookup fail
/// with a temporary error after Postfix's warnings, never "not found"; `hosts` may list several servers,
/// tried as Postfix tries them. Unlike Postfix, every wait for a server is bounded (see `timeout`).
final class PgSQLTable: LookupTable {
    let type = "pgsql"
    let name: String
    private var settings: SQLSettings
    private var hosts: SQLHosts<OpaquePointer>
    /// How each host connects: a connection URI, or host and port for `PQsetdbLogin`.
    private let targets: [(conninfo: String?, host: String, port: String?)]
    private let diagnostics: Diagnostics
    private let fold: Bool
    /// Seconds to wait for a query's answer when the connection sets no `connect_timeout` (Postfix waits forever).
    static let defaultTimeout: Int32 = 60

    init(name: String, request: OpenRequest) throws(MapError) {
        if request.mode != .readOnly {
            throw .usage("pgsql:\(name) map requires O_RDONLY access mode")
        }
        self.name = name
        diagnostics = request.diagnostics
        fold = request.flags.contains(.foldFixed)
        let warn = request.diagnostics.warning
        let p = try TableParameters(name: name, mainParameter: request.settings.mainParameter, warn: { warn($0) })
        settings = try SQLSettings(type: "pgsql", p)
        try settings.readQuery(p, request: request, selectFunction: true)
        var targets: [(conninfo: String?, host: String, port: String?)] = []
        var kinds: [(label: String, kind: SQLHosts<OpaquePointer>.Kind)] = []
        for label in settings.hosts {
            if label.hasPrefix("postgresql:") {
                targets.append((label, "", nil))
                kinds.append((label, .uri))
                continue
            }
            // The historical forms: unix:/path, inet:host:port, or either without its prefix.
            var rest = label
            if rest.hasPrefix("unix:") || rest.hasPrefix("inet:") { rest.removeFirst(5) }
            if let first = rest.first, first != "/" {
                if let colon = rest.lastIndex(of: ":") {
                    targets.append((nil, String(rest[..<colon]), String(rest[rest.index(after: colon)...])))
                } else {
                    targets.append((nil, rest, nil))
                }
                kinds.append((label, .inet))
            } else {
                targets.append((nil, rest, nil))
                kinds.append((label, .unix))
            }
        }
        self.targets = targets
        hosts = SQLHosts(kinds, release: { csql_pq_finish(UnsafeMutableRawPointer($0)) })
        try PgSQLTable.load(name)
    }

    private static func load(_ name: String) throws(MapError) {
        if csql_pq_load() != 0 {
            throw .configuration("pgsql:\(name): cannot load the PostgreSQL client library: \(String(cString: csql_pq_load_error()))")
        }
    }

    func close() {
        settings.domains?.close()
        hosts.closeAll()
    }

    var sourceFiles: [String] { TableParameters.isFileName(name) ? [name] : [] }

    // MARK: Lookup

    func lookup(_ key: [UInt8]) throws(MapError) -> [UInt8]? {
        let key = fold ? CaseFolding.asciiLowercased(key) : key
        if let domains = settings.domains {
            guard let at = key.lastIndex(of: 0x40), at > 0 else { return nil }
            let inList: Bool
            do { inList = try domains.contains(Array(key[(at + 1)...])) } catch {
                throw .temporary("pgsql:\(name): domain check failed", errno: csql_errno())
            }
            if !inList { return nil }
        }
        var query: [UInt8] = []
        guard settings.templates.expand(settings.query, value: key, key: nil, into: &query, quote: nil,
                                        diagnostics: diagnostics) else { return nil }
        guard let res = run(key) else {
            throw .temporary("pgsql:\(name): lookup failed", errno: csql_errno())
        }
        defer { csql_pq_clear(res) }
        return try collect(res, key: key)
    }

    /// The rows' values through `result_format`, joined; Postfix's expansion limit.
    private func collect(_ res: UnsafeMutableRawPointer, key: [UInt8]) throws(MapError) -> [UInt8]? {
        let rows = csql_pq_ntuples(res)
        guard rows > 0 else { return nil }
        let columns = csql_pq_nfields(res)
        var result: [UInt8] = []
        var expansion = 0
        for row in 0..<rows {
            for column in 0..<columns {
                let value = cBytes(csql_pq_getvalue(res, row, column))
                if settings.templates.expand(settings.resultFormat, value: value, key: key, into: &result, quote: nil,
                                             diagnostics: diagnostics),
                   settings.expansionLimit > 0 {
                    expansion += 1
                    if expansion > settings.expansionLimit {
                        warn("dict_pgsql_lookup: \(name): Expansion limit exceeded for key: '\(ByteText.string(key))'")
                        throw .temporary("pgsql:\(name): expansion limit exceeded", errno: csql_errno())
                    }
                }
            }
        }
        return result.isEmpty ? nil : result
    }

    /// A warning that leaves errno alone, as Postfix's msg_warn does: the `%m` of the final error is
    /// what the client library left.
    private func warn(_ text: String) {
        let saved = csql_errno()
        diagnostics.warning(text)
        csql_set_errno(saved)
    }

    // MARK: Servers

    /// An open connection, connecting as Postfix does (at most 99 attempts).
    private func active() -> Int? {
        hosts.closeIdle()
        if let i = hosts.nextActive() { return i }
        var count = 100
        while true {
            count -= 1
            guard count > 0, let i = hosts.nextToTry() else { return nil }
            connect(i)
            if hosts.hosts[i].state == .active { return i }
        }
    }

    private func connect(_ i: Int) {
        let target = targets[i]
        let label = hosts.hosts[i].label
        let conn: UnsafeMutableRawPointer? = withOptionalCString(target.conninfo) { conninfo in
            withOptionalCString(target.port) { port in
                // No connect_timeout of ours: libpq's timed wait leaves a different errno (the `%m` of
                // the final error) than Postfix's untimed one. A connection URI or PGCONNECT_TIMEOUT sets one.
                csql_pq_connect(conninfo, target.host, port, settings.dbname, settings.user, settings.password, 0)
            }
        }
        guard let conn, csql_pq_connection_ok(conn) != 0 else {
            let text = conn.map { ByteText.string(cBytes(csql_pq_error_message($0))) } ?? ""
            warn("connect to pgsql server \(label): \(text)")
            if let conn { hosts.hosts[i].handle = OpaquePointer(conn) }
            hosts.down(i)
            return
        }
        hosts.hosts[i].handle = OpaquePointer(conn)
        // Postfix 3.7 (not a snapshot) declares that it sends no multi-byte characters.
        if csql_pq_set_client_encoding(conn, "LATIN1") != 0 {
            warn("dict_pgsql: cannot set the encoding to LATIN1, skipping \(label)")
            hosts.down(i)
            return
        }
        hosts.up(i, OpaquePointer(conn))
    }

    /// The timeout of waits on host `i`: its connect_timeout, or the default.
    private func timeout(_ conn: UnsafeMutableRawPointer) -> Int32 {
        let configured = csql_pq_connect_timeout(conn)
        return configured > 0 ? configured : Self.defaultTimeout
    }

    /// Run the key's query on the first server that answers; nil when none does.
    private func run(_ key: [UInt8]) -> UnsafeMutableRawPointer? {
        while let i = active() {
            let label = hosts.hosts[i].label
            guard let handle = hosts.hosts[i].handle else { hosts.down(i); continue }
            let conn = UnsafeMutableRawPointer(handle)
            var query: [UInt8] = []
            var escapeFailed = false
            _ = settings.templates.expand(settings.query, value: key, key: nil, into: &query, quote: { part, out in
                if escapeFailed { return }
                var buffer = [CChar](repeating: 0, count: 2 * part.count + 1)
                var error: Int32 = 1
                let source = part.map { CChar(bitPattern: $0) }
                let n = csql_pq_escape(conn, &buffer, source, source.count, &error)
                if error == 0 {
                    out.append(contentsOf: buffer[..<n].map { UInt8(bitPattern: $0) })
                } else {
                    self.warn("dict pgsql: (host \(label)) cannot escape input string: \(ByteText.string(cBytes(csql_pq_error_message(conn))))")
                    escapeFailed = true
                }
            }, diagnostics: diagnostics)
            if escapeFailed { hosts.down(i); continue }
            var timedOut: Int32 = 0
            let res = csql_pq_exec(conn, cString(query), timeout(conn), &timedOut)
            if let res {
                switch csql_pq_result_status(res) {
                case Int32(CSQL_PGRES_TUPLES_OK), Int32(CSQL_PGRES_COMMAND_OK):
                    hosts.used(i)
                    return res
                case Int32(CSQL_PGRES_FATAL_ERROR):
                    warn("pgsql query failed: fatal error from host \(label): \(ByteText.string(cBytes(csql_pq_result_error_message(res))))")
                case Int32(CSQL_PGRES_BAD_RESPONSE):
                    warn("pgsql query failed: protocol error, host \(label)")
                case let status:
                    warn("pgsql query failed: unknown code 0x\(String(status, radix: 16)) from host \(label)")
                }
                csql_pq_clear(res)
            } else if timedOut != 0 {
                warn("pgsql query failed: fatal error from host \(label): timeout: no answer in \(timeout(conn)) seconds")
                csql_set_errno(ETIMEDOUT)
            } else {
                warn("pgsql query failed: fatal error from host \(label): \(ByteText.string(cBytes(csql_pq_error_message(conn))))")
            }
            let saved = csql_errno()
            hosts.down(i)
            if timedOut != 0 { csql_set_errno(saved) }
        }
        return nil
    }
}

/// The bytes of a C string (none for NULL).
func cBytes(_ text: UnsafePointer<CChar>?) -> [UInt8] {
    guard let text else { return [] }
    return Array(UnsafeBufferPointer(start: UnsafeRawPointer(text).assumingMemoryBound(to: UInt8.self), count: strlen(text)))
}

/// `bytes` as a NUL-terminated C string (C sees it up to the first NUL).
func cString(_ bytes: [UInt8]) -> [CChar] {
    bytes.map { CChar(bitPattern: $0) } + [0]
}

func withOptionalCString<R>(_ text: String?, _ body: (UnsafePointer<CChar>?) -> R) -> R {
    guard let text else { return body(nil) }
    return text.withCString { body($0) }
}
