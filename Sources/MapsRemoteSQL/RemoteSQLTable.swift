import PostfixText
import CSQLLoader
import Maps
import PostfixConfig
#if canImport(Glibc)
import Glibc
#endif

/// What a remote SQL table needs of its client library (libpq for `pgsql`, libmariadb for `mysql`):
/// connect to a host, escape a string on a connection, run a query or send queries ahead (pipelining)
/// and take their answers in order, read an answer's rows, close; and the library's error texts.
/// `RemoteSQLTable` holds the flow Postfix's `dict_pgsql.c` and `dict_mysql.c` share: the settings, the
/// servers and the order they are tried in, the query and its `%` templates, the result format and the
/// expansion limit, and which queries were sent ahead.
///
/// A driver is a class: it keeps per-connection state (wait bounds, the last failure) between calls.
protocol RemoteSQLDriver: AnyObject {
    /// What the library answered for a query, before it is judged (a result handle, a status code).
    associatedtype Reply
    /// A query's rows, once the reply was judged a success.
    associatedtype Answer

    /// The type, its library, and how its settings differ.
    static var traits: RemoteSQLTraits { get }

    /// The driver's own settings, read between the common head and the query (Postfix's order).
    init(name: String, parameters: TableParameters, diagnostics: Diagnostics) throws(MapError)
    /// Where host `label` (as written in `hosts`) is; called once per host, in order.
    func addHost(_ label: String) throws(MapError) -> SQLHosts<OpaquePointer>.Kind
    /// The name of the last host that is not a connection URI (pgsql's `non_uri_target`), nil if none.
    func nonURITarget() -> String?
    /// Connect to host `index`: the open connection, or a handle to release (if any) and the warning.
    func connect(_ index: Int, label: String, settings: SQLSettings) -> RemoteSQLConnection
    /// Close a connection.
    func close(_ conn: OpaquePointer)

    /// Append `part` escaped for a quoted SQL string on `conn`; false when the library refuses it.
    func escape(_ part: ArraySlice<UInt8>, on conn: OpaquePointer, into out: inout [UInt8]) -> Bool
    /// The connection's last error text.
    func errorText(_ conn: OpaquePointer) -> String

    /// Before a query is sent or its answer taken (mysql arms its wait bound here), and after the
    /// reply was judged.
    func beginQuery(on conn: OpaquePointer)
    func endQuery()
    /// Send `query` and wait for the reply.
    func run(_ query: [UInt8], on conn: OpaquePointer) -> Reply
    /// Whether a reply taken from the queries sent ahead must be asked again the ordinary way (the
    /// reply is released then): pgsql asks an error again, so that the messages are PQexec's.
    func mustAskAgain(_ reply: Reply) -> Bool
    /// Whether the connection was lost while taking a reply sent ahead.
    func isLost(_ reply: Reply) -> Bool
    /// Judge a reply: its rows, or `.failed` after the library's warnings about host `label`.
    func answer(_ reply: Reply, on conn: OpaquePointer, label: String) -> RemoteSQLResult<Answer>
    /// Set errno after host failed and was closed; `saved` is errno from before the close.
    func settleErrno(saved: Int32)

    /// Enter the mode in which queries can be sent ahead (pipeline mode); false when the connection refuses.
    func startAhead(on conn: OpaquePointer) -> Bool
    /// Send `query` ahead; false when it could not be sent.
    func sendAhead(_ query: [UInt8], on conn: OpaquePointer) -> Bool
    /// The reply to the oldest query sent ahead.
    func takeAhead(on conn: OpaquePointer) -> Reply
    /// Read and discard the replies to the `count` queries still ahead, and leave the mode.
    func discardAhead(_ count: Int, on conn: OpaquePointer)
    /// Leave the mode with nothing ahead.
    func stopAhead(on conn: OpaquePointer)

    /// Every column of every row in order (nil for SQL NULL, where the library tells it), until `body`
    /// says stop.
    func forEachValue(in answer: Answer, _ body: ([UInt8]?) -> Bool)
    func free(_ answer: Answer)
}

/// What the table needs to know of a driver before it connects.
struct RemoteSQLTraits: Sendable {
    /// The type name (`pgsql`, `mysql`).
    let type: String
    /// The library in the message of a failed load (`PostgreSQL client library`).
    let library: String
    /// Whether `select_function` builds the query (pgsql).
    let selectFunction: Bool
    /// Whether a failed `domain` check is warned about before the lookup fails (mysql).
    let warnsDomainFailure: Bool
    /// Load the library: nil, or why it failed.
    let load: @Sendable () -> String?
}

/// What a query came to.
enum RemoteSQLResult<Answer> {
    case rows(Answer)
    /// The query succeeded without a result set (mysql without `require_result_set`).
    case noResultSet
    /// The host failed; the warnings are out.
    case failed
}

/// How a connection attempt ended.
enum RemoteSQLConnection {
    case up(OpaquePointer)
    /// After `warning`; the handle, if any, is released with the host.
    case failed(OpaquePointer?, warning: String)
}

/// Postfix's `pgsql` and `mysql` tables (`pgsql_table(5)`, `mysql_table(5)`, Postfix 3.7.11 as Debian
/// builds them): each lookup is one query, built from the key with `%` templates and escaped on the
/// connection that runs it; every column of every row is a result, formatted with `result_format` and
/// joined with commas, up to `expansion_limit`.
///
/// A server that cannot be reached, refuses the login, or answers with an error makes the lookup fail
/// with a temporary error after Postfix's warnings, never "not found"; `hosts` may list several servers,
/// tried as Postfix tries them (`SQLHosts`). Unlike Postfix, every wait for a server is bounded (see the
/// drivers). `prefetch` sends the queries of keys about to be looked up ahead, so their round trips
/// overlap; `lookup` still prints every message as without it.
final class RemoteSQLTable<Driver: RemoteSQLDriver>: LookupTable {
    var type: String { Driver.traits.type }
    let name: String
    private var settings: SQLSettings
    private var hosts: SQLHosts<OpaquePointer>
    private let driver: Driver
    private let diagnostics: Diagnostics
    private let fold: Bool
    /// Queries sent ahead (`prefetch`), oldest first, and the host they were sent to.
    private var pending: [[UInt8]] = []
    private var pipelineHost: Int?
    /// Set when a reply to a query sent ahead had to be asked again: this table then sends every query
    /// as Postfix does.
    private var prefetchOff = false

    init(name: String, request: OpenRequest) throws(MapError) {
        if request.mode != .readOnly {
            throw .usage("\(Driver.traits.type):\(name) map requires O_RDONLY access mode")
        }
        self.name = name
        diagnostics = request.diagnostics
        fold = request.flags.contains(.foldFixed)
        let warn = request.diagnostics.warning
        let p = try TableParameters(name: name, mainParameter: request.settings.mainParameter, warn: { warn($0) })
        settings = try SQLSettings(type: Driver.traits.type, p)
        let driver = try Driver(name: name, parameters: p, diagnostics: request.diagnostics)
        try settings.readQuery(p, request: request, selectFunction: Driver.traits.selectFunction)
        var kinds: [(label: String, kind: SQLHosts<OpaquePointer>.Kind)] = []
        var labels = settings.hosts
        // 3.10 lists a lone server twice, so that one failure does not leave the table without it.
        if labels.count == 1 && PostfixRelease.current.clients.sqlDuplicateLoneHost { labels.append(labels[0]) }
        for label in labels { kinds.append((label, try driver.addHost(label))) }
        self.driver = driver
        hosts = SQLHosts(kinds, retryInterval: settings.retryInterval, idleInterval: settings.idleInterval,
                         release: { driver.close($0) })
        if settings.dbname.isEmpty, let target = driver.nonURITarget() {
            // 3.10's pgsql: dbname may be left out only when every host is a connection URI.
            throw MapError(.configuration, "\(Driver.traits.type):\(name) host target '\(target)' requires dbname setting",
                           fatalInPostfix: true)
        }
        // The load leaves errno alone: the `%m` of a later message is what the lookup left.
        let saved = csql_errno()
        let problem = Driver.traits.load()
        csql_set_errno(saved)
        if let problem {
            throw .configuration("\(Driver.traits.type):\(name): cannot load the \(Driver.traits.library): \(problem)")
        }
    }

    func close() {
        settings.domains?.close()
        hosts.closeAll()
    }

    var sourceFiles: [String] { TableParameters.isFileName(name) ? [name] : [] }

    /// A warning that leaves errno alone, as Postfix's msg_warn does: the `%m` of the final error is
    /// what the client library left.
    private func warn(_ text: String) {
        RemoteSQLWarning.warn(diagnostics, text)
    }

    // MARK: Lookup

    func lookup(_ key: [UInt8]) throws(MapError) -> [UInt8]? {
        let key = fold ? CaseFolding.asciiLowercased(key) : key
        if let domains = settings.domains {
            let inList: Bool
            do { inList = try domains.admits(key) } catch {
                if Driver.traits.warnsDomainFailure {
                    warn("\(type):\(name) 'domain' pattern match failed for '\(ByteText.string(key))'")
                }
                throw .temporary("\(type):\(name): domain check failed", errno: csql_errno())
            }
            if !inList { return nil }
        }
        var query: [UInt8] = []
        guard settings.templates.expand(settings.query, value: key, key: nil, into: &query, quote: nil,
                                        diagnostics: diagnostics) else { return nil }
        let answer: Driver.Answer
        switch run(key) {
        case .rows(let rows): answer = rows
        case .noResultSet: return nil
        case .failed: throw .temporary("\(type):\(name): lookup failed", errno: csql_errno())
        }
        defer { driver.free(answer) }
        var results = SQLQuery.Results(templates: settings.templates, format: settings.resultFormat,
                                       limit: settings.expansionLimit, key: key, diagnostics: diagnostics)
        var exceeded = false
        driver.forEachValue(in: answer) { value in
            guard let value else { return true }  // A NULL column is no result at all.
            exceeded = !results.add(value)
            return !exceeded
        }
        if exceeded {
            warn("dict_\(type)_lookup: \(name): Expansion limit exceeded for key: '\(ByteText.string(key))'")
            throw .temporary("\(type):\(name): expansion limit exceeded", errno: csql_errno())
        }
        return results.value
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
        switch driver.connect(i, label: hosts.hosts[i].label, settings: settings) {
        case .up(let conn):
            hosts.up(i, conn)
        case .failed(let handle, let warning):
            warn(warning)
            if let handle { hosts.hosts[i].handle = handle }
            down(i)
        }
    }

    /// The key's query with each inserted part escaped on host `i`'s connection; nil (the host to be
    /// marked failed) when escaping fails, after Postfix's warning unless `quiet`.
    private func escapedQuery(_ key: [UInt8], host i: Int, conn: OpaquePointer, quiet: Bool = false) -> [UInt8]? {
        let label = hosts.hosts[i].label
        var query: [UInt8] = []
        var escapeFailed = false
        _ = settings.templates.expand(settings.query, value: key, key: nil, into: &query, quote: { part, out in
            if escapeFailed { return }
            if !self.driver.escape(part, on: conn, into: &out) {
                if !quiet {
                    self.warn("dict \(Driver.traits.type): (host \(label)) cannot escape input string: \(self.driver.errorText(conn))")
                }
                escapeFailed = true
            }
        }, diagnostics: .silent)
        return escapeFailed ? nil : query
    }

    /// Leave pipeline mode on host `i`, discarding what was sent ahead.
    private func endPipeline(_ conn: OpaquePointer) {
        driver.discardAhead(pending.count, on: conn)
        pending.removeAll()
        pipelineHost = nil
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

    /// Run the key's query on the first server that answers (`.failed`: none did).
    private func run(_ key: [UInt8]) -> RemoteSQLResult<Driver.Answer> {
        while let i = active() {
            guard let conn = hosts.hosts[i].handle else { down(i); continue }
            guard let query = escapedQuery(key, host: i, conn: conn) else { down(i); continue }
            driver.beginQuery(on: conn)
            var reply: Driver.Reply
            if pipelineHost == i, pending.first == query {
                // Sent ahead: take its reply.
                pending.removeFirst()
                reply = driver.takeAhead(on: conn)
                if driver.mustAskAgain(reply) {
                    prefetchOff = true
                    endPipeline(conn)
                    reply = driver.run(query, on: conn)
                } else if driver.isLost(reply) {
                    dropPipeline()
                } else if pending.isEmpty {
                    endPipeline(conn)
                }
            } else {
                if pipelineHost == i { endPipeline(conn) }
                reply = driver.run(query, on: conn)
            }
            let result = driver.answer(reply, on: conn, label: hosts.hosts[i].label)
            driver.endQuery()
            if case .failed = result {
                let saved = csql_errno()
                down(i)
                driver.settleErrno(saved: saved)
                continue
            }
            hosts.used(i)
            return result
        }
        return .failed
    }

    // MARK: Pipelining

    /// Send the queries of keys about to be looked up ahead on the open connection, so their round
    /// trips overlap. Each key gets exactly the query `lookup` would send; a key that `lookup` would
    /// skip is left alone, and nothing is printed here. `lookup` takes the replies in order.
    func prefetch(_ keys: [[UInt8]]) {
        guard !prefetchOff, keys.count > 1, pending.isEmpty, let i = hosts.nextActive(),
              let conn = hosts.hosts[i].handle else { return }
        if let domains = settings.domains, !domains.isLiteral { return }
        let saved = csql_errno()
        defer { csql_set_errno(saved) }
        for key in keys {
            let key = fold ? CaseFolding.asciiLowercased(key) : key
            if let domains = settings.domains, (try? domains.admits(key)) != true { continue }
            var plain: [UInt8] = []
            guard settings.templates.expand(settings.query, value: key, key: nil, into: &plain, quote: nil,
                                            diagnostics: .silent),
                  let query = escapedQuery(key, host: i, conn: conn, quiet: true) else { continue }
            if pipelineHost == nil {
                guard driver.startAhead(on: conn) else { return }
                pipelineHost = i
            }
            guard driver.sendAhead(query, on: conn) else { break }
            pending.append(query)
        }
        if pipelineHost != nil && pending.isEmpty {
            driver.stopAhead(on: conn)
            pipelineHost = nil
        }
    }
}

/// Postfix's msg_warn for the drivers and the table: it leaves errno alone.
enum RemoteSQLWarning {
    static func warn(_ diagnostics: Diagnostics, _ text: String) {
        let saved = csql_errno()
        diagnostics.warning(text)
        csql_set_errno(saved)
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
