import PostfixText
import CSQLLoader
import Maps
import PostfixConfig
#if canImport(Glibc)
import Glibc
#endif

/// libmariadb for the `mysql` table (`mysql_table(5)`, Postfix 3.7.11 as Debian's postfix-mysql builds
/// it): keys escaped with `mysql_real_escape_string`, queries sent ahead with `mysql_send_query` and
/// their answers read with `mysql_read_query_result`. A query may return several result sets (a stored
/// procedure): the first one that holds data is the answer, a second one is an error, and with
/// `require_result_set` (the default) a query without any is an error too. Unlike Postfix, a query
/// waits for its answer at most the connection's connect timeout (from `option_file`), 60 seconds
/// without one.
final class MySQLDriver: RemoteSQLDriver {
    /// The status of `mysql_query` or `mysql_read_query_result` (0: the answer is there to read).
    typealias Reply = Int32
    /// The first result set.
    typealias Answer = UnsafeMutableRawPointer

    static let traits = RemoteSQLTraits(type: "mysql", library: "MariaDB client library", selectFunction: false,
                                        warnsDomainFailure: true, load: { csql_my_load() == 0 ? nil : String(cString: csql_my_load_error()) })
    static let defaultTimeout: Int32 = 60

    private let name: String
    private let diagnostics: Diagnostics
    /// Where each host is: a TCP host name or a socket path (nil: the library's default socket), and port.
    private var targets: [(host: String?, socket: String?, port: UInt32)] = []
    private let optionFile: String?
    private let optionGroup: String?
    private let tlsKeyFile: String?
    private let tlsCertFile: String?
    private let tlsCAFile: String?
    private let tlsCAPath: String?
    private let tlsCiphers: String?
    private let tlsVerifyCert: Int32
    private let requireResultSet: Bool
    /// The wait bound of the current connection (looked up once per connection).
    private var wait: (db: UnsafeMutableRawPointer, seconds: Int32)?
    /// The watchdog slot of the query in progress.
    private var slot: Int32 = -1
    /// A first result set of a query that failed all the same, freed once the host is closed.
    private var discarded: UnsafeMutableRawPointer?

    init(name: String, parameters p: TableParameters, diagnostics: Diagnostics) throws(MapError) {
        self.name = name
        self.diagnostics = diagnostics
        optionFile = try p.optionalString("option_file")
        optionGroup = try p.string("option_group", default: "client")
        tlsKeyFile = try p.optionalString("tls_key_file")
        tlsCertFile = try p.optionalString("tls_cert_file")
        tlsCAFile = try p.optionalString("tls_CAfile")
        tlsCAPath = try p.optionalString("tls_CApath")
        tlsCiphers = try p.optionalString("tls_ciphers")
        tlsVerifyCert = p.isSet("tls_verify_cert") ? (try p.bool("tls_verify_cert", default: false) ? 1 : 0) : -1
        requireResultSet = try p.bool("require_result_set", default: true)
    }

    func addHost(_ label: String) throws(MapError) -> SQLHosts<OpaquePointer>.Kind {
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
            return .unix
        } else if unix {
            targets.append((nil, rest, port))
            return .unix
        }
        targets.append((rest, nil, port))
        return .inet
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

    /// mysql's dbname is never empty (checked when it is read).
    func nonURITarget() -> String? { nil }

    func connect(_ index: Int, label: String, settings: SQLSettings) -> RemoteSQLConnection {
        let target = targets[index]
        guard let db = csql_my_init(optionFile, optionGroup, tlsKeyFile, tlsCertFile, tlsCAFile, tlsCAPath, tlsCiphers,
                                    tlsVerifyCert, Self.defaultTimeout) else {
            return .failed(nil, warning: "dict_mysql: insufficient memory")
        }
        wait = nil
        if csql_my_connect(db, target.host, settings.user, settings.password, settings.dbname, target.port, target.socket) == 0 {
            // 3.10 sets the table's character set (utf8mb4 by default) on every new connection.
            if let charset = settings.characterSet, csql_my_set_character_set(db, charset) != 0 {
                return .failed(OpaquePointer(db),
                               warning: "dict_mysql: mysql_set_character_set '\(charset)' failed: \(errorText(OpaquePointer(db)))")
            }
            return .up(OpaquePointer(db))
        }
        return .failed(OpaquePointer(db), warning: "connect to mysql server \(label): \(errorText(OpaquePointer(db)))")
    }

    func close(_ conn: OpaquePointer) {
        wait = nil
        csql_my_close(UnsafeMutableRawPointer(conn))
    }

    /// `mysql_real_escape_string` does not fail.
    func escape(_ part: ArraySlice<UInt8>, on conn: OpaquePointer, into out: inout [UInt8]) -> Bool {
        var buffer = [CChar](repeating: 0, count: 2 * part.count + 1)
        let source = part.map { CChar(bitPattern: $0) }
        let n = csql_my_escape(UnsafeMutableRawPointer(conn), &buffer, source, UInt(source.count))
        out.append(contentsOf: buffer[..<Int(n)].map { UInt8(bitPattern: $0) })
        return true
    }

    func errorText(_ conn: OpaquePointer) -> String {
        ByteText.string(cBytes(csql_my_error(UnsafeMutableRawPointer(conn))))
    }

    /// The wait bound for queries on a connection: its connect timeout (from the option file), or the
    /// default.
    private func waitSeconds(_ db: UnsafeMutableRawPointer) -> Int32 {
        if let wait, wait.db == db { return wait.seconds }
        let seconds = csql_my_timeout(db, Self.defaultTimeout)
        wait = (db, seconds)
        return seconds
    }

    // MARK: Queries

    /// errno is the query's own (ENOTSUP when a failure leaves none); the watchdog bounds everything
    /// until the reply was read, result sets included.
    func beginQuery(on conn: OpaquePointer) {
        let db = UnsafeMutableRawPointer(conn)
        csql_set_errno(0)
        slot = csql_watch_arm(csql_my_socket(db), waitSeconds(db))
    }

    func endQuery() {
        _ = csql_watch_disarm(slot)
        slot = -1
    }

    func run(_ query: [UInt8], on conn: OpaquePointer) -> Reply {
        csql_my_query(UnsafeMutableRawPointer(conn), cString(query))
    }

    /// The answer the server gives is the one `mysql_query` would have read: nothing to ask again.
    func mustAskAgain(_ reply: Reply) -> Bool { false }
    func isLost(_ reply: Reply) -> Bool { false }

    func answer(_ reply: Reply, on conn: OpaquePointer, label: String) -> RemoteSQLResult<Answer> {
        let db = UnsafeMutableRawPointer(conn)
        var failed = false
        var first: UnsafeMutableRawPointer?
        // Each warning at most once per query.
        func fail(_ text: String) {
            if !failed {
                failed = true
                warn(text)
            }
        }
        if reply != 0 {
            fail("mysql:\(name): query failed: \(errorText(conn))")
        } else {
            // Collect every result set, so the connection stays in step.
            var next: Int32 = 0
            repeat {
                if let result = csql_my_store_result(db) {
                    if first == nil {
                        first = result
                    } else {
                        fail("mysql:\(name): query failed: multiple result sets returning data are not supported")
                        csql_my_free_result(result)
                    }
                } else if csql_my_field_count(db) != 0 {
                    fail("mysql:\(name): query failed (mysql_store_result): \(errorText(conn))")
                }
                next = csql_my_next_result(db)
                if next > 0 {
                    fail("mysql:\(name): query failed (mysql_next_result): \(errorText(conn))")
                }
            } while next == 0
            if first == nil && requireResultSet {
                fail("mysql:\(name): query failed: query returned no result set(require_result_set = yes)")
            }
        }
        if failed {
            discarded = first
            return .failed
        }
        guard let first else { return .noResultSet }
        return .rows(first)
    }

    func settleErrno(saved: Int32) {
        if csql_errno() == 0 { csql_set_errno(ENOTSUP) }
        if let discarded { csql_my_free_result(discarded) }
        discarded = nil
    }

    private func warn(_ text: String) {
        RemoteSQLWarning.warn(diagnostics, text)
    }

    // MARK: Sending ahead

    /// The protocol needs no mode: queries are sent, and their answers read in order.
    func startAhead(on conn: OpaquePointer) -> Bool { true }

    func sendAhead(_ query: [UInt8], on conn: OpaquePointer) -> Bool {
        let db = UnsafeMutableRawPointer(conn)
        let slot = csql_watch_arm(csql_my_socket(db), waitSeconds(db))
        let rc = csql_my_send(db, cString(query))
        _ = csql_watch_disarm(slot)
        return rc == 0
    }

    func takeAhead(on conn: OpaquePointer) -> Reply {
        csql_my_read(UnsafeMutableRawPointer(conn))
    }

    /// Read and discard the answers to queries sent ahead (errno stays the query's).
    func discardAhead(_ count: Int, on conn: OpaquePointer) {
        let db = UnsafeMutableRawPointer(conn)
        let saved = csql_errno()
        for _ in 0..<count {
            guard csql_my_read(db) == 0 else { break }
            repeat { csql_my_free_result(csql_my_store_result(db)) } while csql_my_next_result(db) == 0
        }
        csql_set_errno(saved)
    }

    func stopAhead(on conn: OpaquePointer) {}

    // MARK: Rows

    /// Every column of every row; a NULL column is nil.
    func forEachValue(in answer: Answer, _ body: ([UInt8]?) -> Bool) {
        let rows = csql_my_num_rows(answer)
        let columns = Int(csql_my_num_fields(answer))
        var seen: UInt64 = 0
        guard rows > 0 else { return }
        var row = csql_my_fetch_row(answer)
        while seen < rows, let values = row {
            seen += 1
            for column in 0..<columns where !body(values[column].map { cBytes($0) }) {
                return
            }
            row = csql_my_fetch_row(answer)
        }
    }

    func free(_ answer: Answer) {
        csql_my_free_result(answer)
    }
}
