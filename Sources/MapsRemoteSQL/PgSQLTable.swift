import PostfixText
import CSQLLoader
import Maps
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
    /// Queries sent ahead in pipeline mode (`prefetch`), oldest first, and the host they were sent to.
    private var pending: [[UInt8]] = []
    private var pipelineHost: Int?
    /// Set when a query sent ahead failed: this table then sends every query as Postfix does.
    private var prefetchOff = false
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
        if let host = pipelineHost, hosts.hosts[host].state != .active { dropPipeline() }
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
        waits.removeAll()
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
            down(i)
            return
        }
        hosts.hosts[i].handle = OpaquePointer(conn)
        // Postfix 3.7 (not a snapshot) declares that it sends no multi-byte characters.
        if csql_pq_set_client_encoding(conn, "LATIN1") != 0 {
            warn("dict_pgsql: cannot set the encoding to LATIN1, skipping \(label)")
            down(i)
            return
        }
        hosts.up(i, OpaquePointer(conn))
    }

    /// The timeout of waits on a connection: its connect_timeout, or the default (looked up once per
    /// connection: libpq builds the whole option list to answer).
    private var waits: [UnsafeMutableRawPointer: Int32] = [:]
    private func timeout(_ conn: UnsafeMutableRawPointer) -> Int32 {
        if let known = waits[conn] { return known }
        let configured = csql_pq_connect_timeout(conn)
        let seconds = configured > 0 ? configured : Self.defaultTimeout
        waits = [conn: seconds]
        return seconds
    }

    /// The key's query with each inserted part escaped on host `i`'s connection; nil (the host marked
    /// failed) when escaping fails, after Postfix's warning unless `quiet`.
    private func escapedQuery(_ key: [UInt8], host i: Int, conn: UnsafeMutableRawPointer, quiet: Bool = false) -> [UInt8]? {
        let label = hosts.hosts[i].label
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
                if !quiet {
                    self.warn("dict pgsql: (host \(label)) cannot escape input string: \(ByteText.string(cBytes(csql_pq_error_message(conn))))")
                }
                escapeFailed = true
            }
        }, diagnostics: .silent)
        return escapeFailed ? nil : query
    }

    /// Leave pipeline mode on host `i`, discarding what was sent ahead.
    private func endPipeline(_ conn: UnsafeMutableRawPointer) {
        var timedOut: Int32 = 0
        for _ in pending { csql_pq_clear(csql_pq_pipeline_next(conn, timeout(conn), &timedOut)) }
        pending.removeAll()
        pipelineHost = nil
        _ = csql_pq_pipeline_exit(conn)
    }

    /// Forget a pipeline whose host is no longer connected.
    private func dropPipeline() {
        pending.removeAll()
        pipelineHost = nil
    }

    /// Host `i` failed: close it (and its pipeline) and stay away for the retry interval.
    private func down(_ i: Int) {
        if pipelineHost == i { dropPipeline() }
        hosts.down(i)
    }

    /// Run the key's query on the first server that answers; nil when none does.
    private func run(_ key: [UInt8]) -> UnsafeMutableRawPointer? {
        while let i = active() {
            let label = hosts.hosts[i].label
            guard let handle = hosts.hosts[i].handle else { down(i); continue }
            let conn = UnsafeMutableRawPointer(handle)
            guard let query = escapedQuery(key, host: i, conn: conn) else { down(i); continue }
            var timedOut: Int32 = 0
            var res: UnsafeMutableRawPointer?
            if pipelineHost == i, pending.first == query {
                // Sent ahead: take its answer. An answer that is an error is asked again the ordinary
                // way, so that the messages are PQexec's; the table stops sending ahead.
                pending.removeFirst()
                res = csql_pq_pipeline_next(conn, timeout(conn), &timedOut)
                if let answer = res, ![Int32(CSQL_PGRES_TUPLES_OK), Int32(CSQL_PGRES_COMMAND_OK)].contains(csql_pq_result_status(answer)) {
                    csql_pq_clear(answer)
                    res = nil
                    prefetchOff = true
                    endPipeline(conn)
                    res = csql_pq_exec(conn, cString(query), timeout(conn), &timedOut)
                } else if res == nil {
                    dropPipeline()
                } else if pending.isEmpty {
                    endPipeline(conn)
                }
            } else {
                if pipelineHost == i { endPipeline(conn) }
                res = csql_pq_exec(conn, cString(query), timeout(conn), &timedOut)
            }
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
            down(i)
            if timedOut != 0 { csql_set_errno(saved) }
        }
        return nil
    }

    // MARK: Pipelining

    /// Send the queries of keys about to be looked up, in pipeline mode on the open connection, so their
    /// round trips overlap. Each key gets exactly the query `lookup` would send; a key that `lookup`
    /// would skip is left alone, and nothing is printed here. `lookup` takes the answers in order.
    func prefetch(_ keys: [[UInt8]]) {
        guard !prefetchOff, keys.count > 1, pending.isEmpty, let i = hosts.nextActive(),
              let handle = hosts.hosts[i].handle else { return }
        if let domains = settings.domains, !domains.isLiteral { return }
        let conn = UnsafeMutableRawPointer(handle)
        let saved = csql_errno()
        defer { csql_set_errno(saved) }
        for key in keys {
            let key = fold ? CaseFolding.asciiLowercased(key) : key
            if let domains = settings.domains {
                guard let at = key.lastIndex(of: 0x40), at > 0,
                      (try? domains.contains(Array(key[(at + 1)...]))) == true else { continue }
            }
            var plain: [UInt8] = []
            guard settings.templates.expand(settings.query, value: key, key: nil, into: &plain, quote: nil,
                                            diagnostics: .silent),
                  let query = escapedQuery(key, host: i, conn: conn, quiet: true) else { continue }
            if pipelineHost == nil {
                guard csql_pq_pipeline_enter(conn) != 0 else { return }
                pipelineHost = i
            }
            guard csql_pq_pipeline_send(conn, cString(query)) != 0 else { break }
            pending.append(query)
        }
        if pipelineHost != nil && pending.isEmpty {
            _ = csql_pq_pipeline_exit(conn)
            pipelineHost = nil
        }
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
