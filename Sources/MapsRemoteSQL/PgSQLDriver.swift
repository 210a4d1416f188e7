import PostfixText
import CSQLLoader
import Maps
import PostfixConfig
#if canImport(Glibc)
import Glibc
#endif

/// libpq for the `pgsql` table (`pgsql_table(5)`, Postfix 3.7.11 as Debian's postfix-pgsql builds it):
/// keys escaped with `PQescapeStringConn`, the connection in LATIN1 as Postfix 3.7 declares it, queries
/// sent ahead in pipeline mode. Unlike Postfix, a query waits for its answer at most the connection's
/// `connect_timeout`, 60 seconds without one (the watchdog in CSQLLoader).
final class PgSQLDriver: RemoteSQLDriver {
    /// A result handle, and whether the watchdog cut the connection while it was awaited.
    typealias Reply = (result: UnsafeMutableRawPointer?, timedOut: Bool)
    typealias Answer = UnsafeMutableRawPointer

    static let traits = RemoteSQLTraits(type: "pgsql", library: "PostgreSQL client library", selectFunction: true,
                                        warnsDomainFailure: false, load: { csql_pq_load() == 0 ? nil : String(cString: csql_pq_load_error()) })
    /// Seconds to wait for a query's answer when the connection sets no `connect_timeout` (Postfix waits forever).
    static let defaultTimeout: Int32 = 60

    private let diagnostics: Diagnostics
    /// How each host connects: a connection URI, or host and port for `PQsetdbLogin`.
    private var targets: [(conninfo: String?, host: String, port: String?)] = []
    /// The wait bound of a connection, looked up once per connection (libpq builds the whole option
    /// list to answer).
    private var waits: [UnsafeMutableRawPointer: Int32] = [:]
    /// Whether the last failed query timed out (errno is then ETIMEDOUT, whatever closing left).
    private var timedOut = false

    init(name: String, parameters: TableParameters, diagnostics: Diagnostics) {
        self.diagnostics = diagnostics
    }

    func addHost(_ label: String) -> SQLHosts<OpaquePointer>.Kind {
        if label.hasPrefix("postgresql:") {
            targets.append((label, "", nil))
            return .uri
        }
        // The historical forms: unix:/path, inet:host:port, or either without its prefix.
        var rest = label
        if rest.hasPrefix("unix:") || rest.hasPrefix("inet:") { rest.removeFirst(5) }
        guard let first = rest.first, first != "/" else {
            targets.append((nil, rest, nil))
            return .unix
        }
        if let colon = rest.lastIndex(of: ":") {
            targets.append((nil, String(rest[..<colon]), String(rest[rest.index(after: colon)...])))
        } else {
            targets.append((nil, rest, nil))
        }
        return .inet
    }

    func nonURITarget() -> String? {
        targets.last(where: { $0.conninfo == nil })?.host
    }

    func connect(_ index: Int, label: String, settings: SQLSettings) -> RemoteSQLConnection {
        waits.removeAll()
        let target = targets[index]
        let conn: UnsafeMutableRawPointer? = withOptionalCString(target.conninfo) { conninfo in
            withOptionalCString(target.port) { port in
                // No connect_timeout of ours: libpq's timed wait leaves a different errno (the `%m` of
                // the final error) than Postfix's untimed one. A connection URI or PGCONNECT_TIMEOUT sets one.
                csql_pq_connect(conninfo, target.host, port, settings.dbname, settings.user, settings.password, 0)
            }
        }
        guard let conn, csql_pq_connection_ok(conn) != 0 else {
            let text = conn.map { ByteText.string(cBytes(csql_pq_error_message($0))) } ?? ""
            return .failed(conn.map { OpaquePointer($0) }, warning: "connect to pgsql server \(label): \(text)")
        }
        // Postfix 3.7 (not a snapshot) declares LATIN1: it sends no multi-byte characters; 3.10 sets the
        // table's `encoding` (UTF8 by default).
        let encoding = settings.characterSet ?? "LATIN1"
        if csql_pq_set_client_encoding(conn, encoding) != 0 {
            return .failed(OpaquePointer(conn), warning: "dict_pgsql: cannot set the encoding to \(encoding), skipping \(label)")
        }
        return .up(OpaquePointer(conn))
    }

    func close(_ conn: OpaquePointer) {
        csql_pq_finish(UnsafeMutableRawPointer(conn))
    }

    func escape(_ part: ArraySlice<UInt8>, on conn: OpaquePointer, into out: inout [UInt8]) -> Bool {
        var buffer = [CChar](repeating: 0, count: 2 * part.count + 1)
        var error: Int32 = 1
        let source = part.map { CChar(bitPattern: $0) }
        let n = csql_pq_escape(UnsafeMutableRawPointer(conn), &buffer, source, source.count, &error)
        guard error == 0 else { return false }
        out.append(contentsOf: buffer[..<n].map { UInt8(bitPattern: $0) })
        return true
    }

    func errorText(_ conn: OpaquePointer) -> String {
        ByteText.string(cBytes(csql_pq_error_message(UnsafeMutableRawPointer(conn))))
    }

    /// The timeout of waits on a connection: its connect_timeout, or the default.
    private func timeout(_ conn: UnsafeMutableRawPointer) -> Int32 {
        if let known = waits[conn] { return known }
        let configured = csql_pq_connect_timeout(conn)
        let seconds = configured > 0 ? configured : Self.defaultTimeout
        waits = [conn: seconds]
        return seconds
    }

    // MARK: Queries

    /// PQexec bounds its own wait (CSQLLoader).
    func beginQuery(on conn: OpaquePointer) {}
    func endQuery() {}

    func run(_ query: [UInt8], on conn: OpaquePointer) -> Reply {
        let conn = UnsafeMutableRawPointer(conn)
        var timedOut: Int32 = 0
        let result = csql_pq_exec(conn, cString(query), timeout(conn), &timedOut)
        return (result, timedOut != 0)
    }

    private static func succeeded(_ result: UnsafeMutableRawPointer) -> Bool {
        [Int32(CSQL_PGRES_TUPLES_OK), Int32(CSQL_PGRES_COMMAND_OK)].contains(csql_pq_result_status(result))
    }

    /// An answer sent ahead that is an error is asked again the ordinary way, so that the messages are
    /// PQexec's; the table then stops sending ahead.
    func mustAskAgain(_ reply: Reply) -> Bool {
        guard let result = reply.result, !Self.succeeded(result) else { return false }
        csql_pq_clear(result)
        return true
    }

    func isLost(_ reply: Reply) -> Bool { reply.result == nil }

    func answer(_ reply: Reply, on conn: OpaquePointer, label: String) -> RemoteSQLResult<Answer> {
        timedOut = reply.timedOut
        if let result = reply.result {
            switch csql_pq_result_status(result) {
            case Int32(CSQL_PGRES_TUPLES_OK), Int32(CSQL_PGRES_COMMAND_OK):
                return .rows(result)
            case Int32(CSQL_PGRES_FATAL_ERROR):
                warn("pgsql query failed: fatal error from host \(label): \(ByteText.string(cBytes(csql_pq_result_error_message(result))))")
            case Int32(CSQL_PGRES_BAD_RESPONSE):
                warn("pgsql query failed: protocol error, host \(label)")
            case let status:
                warn("pgsql query failed: unknown code 0x\(String(status, radix: 16)) from host \(label)")
            }
            csql_pq_clear(result)
        } else if reply.timedOut {
            warn("pgsql query failed: fatal error from host \(label): timeout: no answer in \(timeout(UnsafeMutableRawPointer(conn))) seconds")
            csql_set_errno(ETIMEDOUT)
        } else {
            warn("pgsql query failed: fatal error from host \(label): \(errorText(conn))")
        }
        return .failed
    }

    func settleErrno(saved: Int32) {
        if timedOut { csql_set_errno(saved) }
    }

    private func warn(_ text: String) {
        RemoteSQLWarning.warn(diagnostics, text)
    }

    // MARK: Pipeline mode

    func startAhead(on conn: OpaquePointer) -> Bool {
        csql_pq_pipeline_enter(UnsafeMutableRawPointer(conn)) != 0
    }

    func sendAhead(_ query: [UInt8], on conn: OpaquePointer) -> Bool {
        csql_pq_pipeline_send(UnsafeMutableRawPointer(conn), cString(query)) != 0
    }

    func takeAhead(on conn: OpaquePointer) -> Reply {
        let conn = UnsafeMutableRawPointer(conn)
        var timedOut: Int32 = 0
        let result = csql_pq_pipeline_next(conn, timeout(conn), &timedOut)
        return (result, timedOut != 0)
    }

    func discardAhead(_ count: Int, on conn: OpaquePointer) {
        let conn = UnsafeMutableRawPointer(conn)
        var timedOut: Int32 = 0
        for _ in 0..<count { csql_pq_clear(csql_pq_pipeline_next(conn, timeout(conn), &timedOut)) }
        _ = csql_pq_pipeline_exit(conn)
    }

    func stopAhead(on conn: OpaquePointer) {
        _ = csql_pq_pipeline_exit(UnsafeMutableRawPointer(conn))
    }

    // MARK: Rows

    /// Every value of every row; PQgetvalue gives NULL as an empty string, as Postfix reads it.
    func forEachValue(in answer: Answer, _ body: ([UInt8]?) -> Bool) {
        let rows = csql_pq_ntuples(answer)
        let columns = csql_pq_nfields(answer)
        for row in 0..<max(rows, 0) {
            for column in 0..<max(columns, 0) where !body(cBytes(csql_pq_getvalue(answer, row, column))) {
                return
            }
        }
    }

    func free(_ answer: Answer) {
        csql_pq_clear(answer)
    }
}
