import PostfixText
import CSQLLoader
import Maps
import PostfixConfig
#if canImport(Glibc)
import Glibc
#endif

/// Postfix's `mysql` table (`mysql_table(5)`, Postfix 3.7.11 as Debian's postfix-mysql builds it, over
/// libmariadb): each lookup is one query, its key escaped with `mysql_real_escape_string` on the
/// connection that runs it; every column of every row is a result. A query may return several result
/// sets (a stored procedure): the first one that holds data is the answer, a second one is an error,
/// and with `require_result_set` (the default) a query without any is an error too.
///
/// A server that cannot be reached, refuses the login, or fails the query makes the lookup fail with a
/// temporary error after Postfix's warnings, never "not found". Unlike Postfix, a query waits for its
/// answer at most the connection's connect timeout (from `option_file`), 60 seconds without one.
final class MySQLTable: LookupTable {
    let type = "mysql"
    let name: String
    private var settings: SQLSettings
    private var hosts: SQLHosts<OpaquePointer>
    /// Where each host is: a TCP host name or a socket path (nil: the library's default socket), and port.
    private let targets: [(host: String?, socket: String?, port: UInt32)]
    private let optionFile: String?
    private let optionGroup: String?
    private let tlsKeyFile: String?
    private let tlsCertFile: String?
    private let tlsCAFile: String?
    private let tlsCAPath: String?
    private let tlsCiphers: String?
    private let tlsVerifyCert: Int32
    private let requireResultSet: Bool
    private let diagnostics: Diagnostics
    private let fold: Bool
    static let defaultTimeout: Int32 = 60
    /// Queries sent ahead (`prefetch`), oldest first, and the host they were sent to.
    private var pending: [[UInt8]] = []
    private var pipelineHost: Int?
    /// The wait bound of the current connection (looked up once per connection).
    private var wait: (db: UnsafeMutableRawPointer, seconds: Int32)?

    init(name: String, request: OpenRequest) throws(MapError) {
        if request.mode != .readOnly {
            throw .usage("mysql:\(name) map requires O_RDONLY access mode")
        }
        self.name = name
        diagnostics = request.diagnostics
        fold = request.flags.contains(.foldFixed)
        let warn = request.diagnostics.warning
        let p = try TableParameters(name: name, mainParameter: request.settings.mainParameter, warn: { warn($0) })
        settings = try SQLSettings(type: "mysql", p)
        optionFile = try p.optionalString("option_file")
        optionGroup = try p.string("option_group", default: "client")
        tlsKeyFile = try p.optionalString("tls_key_file")
        tlsCertFile = try p.optionalString("tls_cert_file")
        tlsCAFile = try p.optionalString("tls_CAfile")
        tlsCAPath = try p.optionalString("tls_CApath")
        tlsCiphers = try p.optionalString("tls_ciphers")
        tlsVerifyCert = p.isSet("tls_verify_cert") ? (try p.bool("tls_verify_cert", default: false) ? 1 : 0) : -1
        requireResultSet = try p.bool("require_result_set", default: true)
        try settings.readQuery(p, request: request, selectFunction: false)
        var targets: [(host: String?, socket: String?, port: UInt32)] = []
        var kinds: [(label: String, kind: SQLHosts<OpaquePointer>.Kind)] = []
        for label in settings.hosts {
            var rest = label
            var unix = false
            if rest.hasPrefix("unix:") {
                rest.removeFirst(5)
                unix = true
            } else if rest.hasPrefix("inet:") {
                rest.removeFirst(5)
            }
            var port: UInt32 = 0
            if let colon = rest.lastIndex(of: ":") {
                let service = String(rest[rest.index(after: colon)...])
                rest = String(rest[..<colon])
                port = try Self.port(service)
            }
            if rest.lowercased() == "localhost" {
                // The MySQL way: this connects over the default Unix-domain socket.
                targets.append((nil, nil, port))
                kinds.append((label, .unix))
            } else if unix {
                targets.append((nil, rest, port))
                kinds.append((label, .unix))
            } else {
                targets.append((rest, nil, port))
                kinds.append((label, .inet))
            }
        }
        self.targets = targets
        hosts = SQLHosts(kinds, release: { csql_my_close(UnsafeMutableRawPointer($0)) })
        if csql_my_load() != 0 {
            throw .configuration("mysql:\(name): cannot load the MariaDB client library: \(String(cString: csql_my_load_error()))")
        }
    }

    /// Postfix's `find_inet_port`: a number, or a service name known for TCP.
    private static func port(_ service: String) throws(MapError) -> UInt32 {
        if !service.isEmpty, service.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) {
            guard let number = Int(service), number <= 65535 else {
                throw .configuration("bad port number: \(service)")
            }
            return UInt32(number)
        }
        guard let entry = getservbyname(service, "tcp") else {
            throw .configuration("unknown service: \(service)/tcp")
        }
        return UInt32(UInt16(bigEndian: UInt16(truncatingIfNeeded: entry.pointee.s_port)))
    }

    func close() {
        settings.domains?.close()
        hosts.closeAll()
    }

    var sourceFiles: [String] { TableParameters.isFileName(name) ? [name] : [] }

    /// A warning that leaves errno alone, as Postfix's msg_warn does.
    private func warn(_ text: String) {
        let saved = csql_errno()
        diagnostics.warning(text)
        csql_set_errno(saved)
    }

    // MARK: Lookup

    func lookup(_ key: [UInt8]) throws(MapError) -> [UInt8]? {
        let key = fold ? CaseFolding.asciiLowercased(key) : key
        if let domains = settings.domains {
            guard let at = key.lastIndex(of: 0x40), at > 0 else { return nil }
            let inList: Bool
            do { inList = try domains.contains(Array(key[(at + 1)...])) } catch {
                warn("\(type):\(name) 'domain' pattern match failed for '\(ByteText.string(key))'")
                throw .temporary("mysql:\(name): domain check failed", errno: csql_errno())
            }
            if !inList { return nil }
        }
        var query: [UInt8] = []
        guard settings.templates.expand(settings.query, value: key, key: nil, into: &query, quote: nil,
                                        diagnostics: diagnostics) else { return nil }
        let (ok, res) = run(key)
        guard ok else { throw .temporary("mysql:\(name): lookup failed", errno: csql_errno()) }
        guard let res else { return nil }
        defer { csql_my_free_result(res) }
        let rows = csql_my_num_rows(res)
        guard rows > 0 else { return nil }
        let columns = Int(csql_my_num_fields(res))
        var result: [UInt8] = []
        var expansion = 0
        var row = csql_my_fetch_row(res)
        var seen: UInt64 = 0
        while seen < rows, let values = row {
            seen += 1
            for column in 0..<columns {
                // A NULL column is no result at all.
                guard let text = values[column] else { continue }
                if settings.templates.expand(settings.resultFormat, value: cBytes(text), key: key, into: &result, quote: nil,
                                             diagnostics: diagnostics),
                   settings.expansionLimit > 0 {
                    expansion += 1
                    if expansion > settings.expansionLimit {
                        warn("dict_mysql_lookup: \(name): Expansion limit exceeded for key: '\(ByteText.string(key))'")
                        throw .temporary("mysql:\(name): expansion limit exceeded", errno: csql_errno())
                    }
                }
            }
            row = csql_my_fetch_row(res)
        }
        return result.isEmpty ? nil : result
    }

    // MARK: Servers

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
        let target = targets[i]
        let label = hosts.hosts[i].label
        guard let db = csql_my_init(optionFile, optionGroup, tlsKeyFile, tlsCertFile, tlsCAFile, tlsCAPath, tlsCiphers,
                                    tlsVerifyCert, Self.defaultTimeout) else {
            warn("dict_mysql: insufficient memory")
            down(i)
            return
        }
        hosts.hosts[i].handle = OpaquePointer(db)
        wait = nil
        if csql_my_connect(db, target.host, settings.user, settings.password, settings.dbname, target.port, target.socket) == 0 {
            hosts.up(i, OpaquePointer(db))
        } else {
            warn("connect to mysql server \(label): \(ByteText.string(cBytes(csql_my_error(db))))")
            down(i)
        }
    }

    /// The key's query, each inserted part escaped on the connection (`mysql_real_escape_string`).
    private func escapedQuery(_ key: [UInt8], db: UnsafeMutableRawPointer) -> [UInt8] {
        var query: [UInt8] = []
        _ = settings.templates.expand(settings.query, value: key, key: nil, into: &query, quote: { part, out in
            var buffer = [CChar](repeating: 0, count: 2 * part.count + 1)
            let source = part.map { CChar(bitPattern: $0) }
            let n = csql_my_escape(db, &buffer, source, UInt(source.count))
            out.append(contentsOf: buffer[..<Int(n)].map { UInt8(bitPattern: $0) })
        }, diagnostics: .silent)
        return query
    }

    /// The wait bound for queries on a connection: its connect timeout (from the option file), or the
    /// default.
    private func waitSeconds(_ db: UnsafeMutableRawPointer) -> Int32 {
        if let wait, wait.db == db { return wait.seconds }
        let seconds = csql_my_timeout(db, Self.defaultTimeout)
        wait = (db, seconds)
        return seconds
    }

    /// Read and discard the answers to queries sent ahead.
    private func drain(_ db: UnsafeMutableRawPointer) {
        let saved = csql_errno()
        for _ in pending {
            guard csql_my_read(db) == 0 else { break }
            repeat { csql_my_free_result(csql_my_store_result(db)) } while csql_my_next_result(db) == 0
        }
        dropPipeline()
        csql_set_errno(saved)
    }

    private func dropPipeline() {
        pending.removeAll()
        pipelineHost = nil
    }

    /// Host `i` failed: close it (with what was sent ahead) and stay away for the retry interval.
    private func down(_ i: Int) {
        if pipelineHost == i { dropPipeline() }
        wait = nil
        hosts.down(i)
    }

    // MARK: Pipelining

    /// Send the queries of keys about to be looked up on the open connection, so their round trips
    /// overlap: the server answers them in order, and `lookup` reads each answer where it would have
    /// sent the query. Each key gets exactly the query `lookup` would send; nothing is printed here.
    func prefetch(_ keys: [[UInt8]]) {
        guard keys.count > 1, pending.isEmpty, let i = hosts.nextActive(), let handle = hosts.hosts[i].handle else { return }
        if let domains = settings.domains, !domains.isLiteral { return }
        let db = UnsafeMutableRawPointer(handle)
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
                                            diagnostics: .silent) else { continue }
            let query = escapedQuery(key, db: db)
            let slot = csql_watch_arm(csql_my_socket(db), waitSeconds(db))
            let rc = csql_my_send(db, cString(query))
            _ = csql_watch_disarm(slot)
            guard rc == 0 else { break }
            pipelineHost = i
            pending.append(query)
        }
    }

    /// Run the key's query on the first server that answers: whether one did, and its first result set.
    private func run(_ key: [UInt8]) -> (Bool, UnsafeMutableRawPointer?) {
        var queryError = true
        var first: UnsafeMutableRawPointer?
        while let i = active() {
            let label = hosts.hosts[i].label
            guard let handle = hosts.hosts[i].handle else { down(i); continue }
            let db = UnsafeMutableRawPointer(handle)
            _ = label
            let query = escapedQuery(key, db: db)
            queryError = false
            csql_set_errno(0)
            // Each warning at most once per query.
            func fail(_ text: String) {
                if !queryError {
                    queryError = true
                    warn(text)
                }
            }
            let slot = csql_watch_arm(csql_my_socket(db), waitSeconds(db))
            let sent: Bool
            if pipelineHost == i, pending.first == query {
                // Sent ahead: only the answer is read now.
                pending.removeFirst()
                sent = true
            } else {
                if pipelineHost == i { drain(db) }
                sent = false
            }
            if (sent ? csql_my_read(db) : csql_my_query(db, cString(query))) != 0 {
                queryError = true
                warn("\(type):\(name): query failed: \(ByteText.string(cBytes(csql_my_error(db))))")
            } else {
                // Collect every result set, so the connection stays in step.
                var next: Int32 = 0
                repeat {
                    if let result = csql_my_store_result(db) {
                        if first == nil {
                            first = result
                        } else {
                            fail("\(type):\(name): query failed: multiple result sets returning data are not supported")
                            csql_my_free_result(result)
                        }
                    } else if csql_my_field_count(db) != 0 {
                        fail("\(type):\(name): query failed (mysql_store_result): \(ByteText.string(cBytes(csql_my_error(db))))")
                    }
                    next = csql_my_next_result(db)
                    if next > 0 {
                        fail("\(type):\(name): query failed (mysql_next_result): \(ByteText.string(cBytes(csql_my_error(db))))")
                    }
                } while next == 0
                if first == nil && requireResultSet {
                    fail("\(type):\(name): query failed: query returned no result set(require_result_set = yes)")
                }
            }
            _ = csql_watch_disarm(slot)
            if queryError {
                down(i)
                if csql_errno() == 0 { csql_set_errno(ENOTSUP) }
                if let result = first {
                    csql_my_free_result(result)
                    first = nil
                }
            } else {
                hosts.used(i)
                break
            }
        }
        return (!queryError, first)
    }
}
