#if canImport(Glibc)
import Glibc
#endif
import PostfixText
import Synchronization

/// `socketmap:inet:host:port:NAME` and `socketmap:unix:/path:NAME`: Sendmail's socketmap protocol as
/// Postfix's `socketmap_table(5)` client speaks it (`dict_sockmap.c`). A lookup sends the netstring
/// `NAME KEY` and reads a netstring reply of at most 100,000 bytes: `OK value` found, `NOTFOUND` not
/// found, `TEMP`, `TIMEOUT` and anything else a temporary error, `PERM` a configuration error. A
/// connection broken before the reply is retried once. Tables with the same server share one
/// connection, closed after 10 idle seconds or 100 seconds of age; each operation has Postfix's
/// 100-second limit. Lookups are serialized per connection, so threads may share the tables.
public final class SocketmapTable: LookupTable {
    public let type = "socketmap"
    public let name: String
    /// The socketmap name sent before each key.
    let mapName: String
    private let client: SocketmapClient
    private let diagnostics: Diagnostics

    static let timeout: Int32 = 100
    static let maxReply = 100_000
    static let maxIdle = 10
    static let maxAge = 100

    public init(name: String, request: OpenRequest) throws(MapError) {
        guard request.mode == .readOnly else { throw .usage("socketmap:\(name) map requires O_RDONLY access mode") }
        guard let colon = name.lastIndex(of: ":") else {
            throw .configuration("socketmap requires server:socketmap argument")
        }
        let service = String(name[..<colon])
        self.name = name
        self.mapName = String(name[name.index(after: colon)...])
        self.diagnostics = request.diagnostics
        self.client = try SocketmapClient.shared(service)
    }

    /// The catalog's opener; Postfix does not look up parent domains or network blocks in a socketmap.
    public static let mapType = MapType(name: "socketmap", fixedKeys: false, open: { name, request throws(MapError) in
        try SocketmapTable(name: name, request: request)
    })

    /// Lookups take turns on the shared connection (its mutex).
    public var concurrentLookups: Bool { true }

    public func lookup(_ key: [UInt8]) throws(MapError) -> [UInt8]? {
        var query = ByteText.bytes(of: mapName)
        query.append(0x20)
        query.append(contentsOf: KeyCodec.cString(key))
        let reply = try client.exchange(Self.netstring(query), table: name, diagnostics: diagnostics)
        // The reply is a C string to Postfix: "WORD[ payload]".
        let text = KeyCodec.cString(reply)
        let space = text.firstIndex(of: 0x20)
        let word = space.map { Array(text[..<$0]) } ?? text
        let payload = space.map { Array(text[($0 + 1)...]) }
        switch ByteText.string(word) {
        case "OK":
            // 3.7 returns Postfix's null payload of a bare "OK" as not found; 3.10 as an empty value.
            return payload ?? (PostfixRelease.current.clients.socketmapBareOKFound ? [] : nil)
        case "NOTFOUND": return nil
        default: break
        }
        let (errorClass, code): (String, MapError.Code) = switch ByteText.string(word) {
        case "TEMP": ("temporary", .temporary)
        case "TIMEOUT": ("timeout", .temporary)
        case "PERM": ("permanent", .configuration)
        default: ("unknown", .temporary)
        }
        var reason = payload?.drop { $0 == 0x20 || ($0 >= 0x09 && $0 <= 0x0D) } ?? []
        reason = reason.prefix(200)
        let shown = reason.isEmpty ? "" : ": " + ByteText.string(reason.map { $0 >= 0x20 && $0 < 0x7F ? $0 : 0x3F })
        let text2 = "socketmap:\(name) socketmap server \(errorClass) error\(shown)"
        diagnostics.warning(text2)
        throw MapError(code, text2, errno: client.lastErrno.load(ordering: .relaxed))
    }

    public func close() { client.release() }

    /// `LEN:DATA,`.
    static func netstring(_ data: [UInt8]) -> [UInt8] {
        var out = Array(String(data.count).utf8)
        out.append(0x3A)
        out.append(contentsOf: data)
        out.append(0x2C)
        return out
    }
}

/// One connection to a socketmap server, shared by the tables that name the same `transport:endpoint`
/// (Postfix's reference-counted `auto_clnt` handles).
final class SocketmapClient: Sendable {
    let service: String
    private let transport: String
    private let endpoint: String
    private let state = Mutex<NetworkStream?>(nil)
    /// What Postfix's `%m` would show after this client's last operation (its errno is process-wide).
    let lastErrno = Atomic<Int32>(0)
    private let users = Atomic<Int>(1)

    /// Shared clients by service, touched only under this mutex.
    private static let clients = Mutex<[String: SocketmapClient]>([:])

    private init(service: String, transport: String, endpoint: String) {
        self.service = service
        self.transport = transport
        self.endpoint = endpoint
    }

    /// The client for `service`, created on first use; Postfix's fatal texts for a malformed service.
    static func shared(_ service: String) throws(MapError) -> SocketmapClient {
        guard let colon = service.firstIndex(of: ":"), colon != service.startIndex,
              service.index(after: colon) != service.endIndex else {
            throw MapError(.configuration, "need service transport:endpoint instead of \"\(service)\"", fatalInPostfix: true)
        }
        let transport = String(service[..<colon])
        let endpoint = String(service[service.index(after: colon)...])
        guard ["inet", "unix", "local"].contains(transport) else {
            throw MapError(.configuration, "invalid transport name: \(transport) in service: \(service)", fatalInPostfix: true)
        }
        return clients.withLock { table in
            if let existing = table[service] {
                existing.users.add(1, ordering: .relaxed)
                return existing
            }
            let client = SocketmapClient(service: service, transport: transport, endpoint: endpoint)
            table[service] = client
            return client
        }
    }

    /// A table is done with the client; the last one closes the connection.
    func release() {
        Self.clients.withLock { table in
            if users.subtract(1, ordering: .relaxed).newValue == 0 {
                table[service] = nil
                state.withLock { $0 = nil }
            }
        }
    }

    private enum NetstringError: Error {
        case eof(Int32), time, format, size
        var text: String {
            switch self {
            case .eof: return "unexpected disconnect"
            case .time: return "time limit exceeded"
            case .format: return "input format error"
            case .size: return "input exceeds size limit"
            }
        }
        /// The errno that 3.10's netstring_strerror() sets with the text (nil: it leaves errno alone).
        var errnoSet: Int32? {
            switch self {
            case .eof: return nil
            case .time: return ETIMEDOUT
            case .format: return 0
            case .size: return EMSGSIZE
            }
        }
    }

    /// Send one query and read one reply, retrying a broken connection once.
    func exchange(_ request: [UInt8], table: String, diagnostics: Diagnostics) throws(MapError) -> [UInt8] {
        try state.withLock { (stream: inout NetworkStream?) throws(MapError) -> [UInt8] in
            var attempt = 0
            while true {
                if let open = stream, NetworkStream.seconds(since: open.lastUsed) >= SocketmapTable.maxIdle
                    || NetworkStream.seconds(since: open.opened) >= SocketmapTable.maxAge {
                    stream = nil
                }
                if stream == nil {
                    do throws(NetworkStream.ConnectFailure) {
                        let opened = transport == "inet"
                            ? try NetworkStream.connectInet(endpoint, timeout: SocketmapTable.timeout)
                            : try NetworkStream.connectUnix(endpoint, timeout: SocketmapTable.timeout)
                        if opened.connectErrno != 0 { lastErrno.store(opened.connectErrno, ordering: .relaxed) }
                        stream = opened
                    } catch {
                        lastErrno.store(error.errno, ordering: .relaxed)
                        if error.fatal, let text = error.warning { throw MapError(.configuration, text, fatalInPostfix: true) }
                        if let text = error.warning { diagnostics.warning(text) }
                        diagnostics.warning("connect to \(endpoint): \(systemErrorText(error.errno))")
                        diagnostics.warning("table socketmap:\(table) lookup error: \(systemErrorText(error.errno))")
                        throw MapError(.temporary, "table socketmap:\(table): lookup error", errno: error.errno)
                    }
                }
                guard let open = stream else { continue }
                do throws(NetstringError) {
                    if let e = open.write(request) { throw e == ETIMEDOUT ? .time : .eof(e) }
                    return try Self.readNetstring(open)
                } catch {
                    stream = nil
                    if attempt == 0, case .eof = error {
                        attempt += 1
                        continue
                    }
                    if PostfixRelease.current.clients.netstringErrorsSetErrno, let code = error.errnoSet {
                        lastErrno.store(code, ordering: .relaxed)
                    }
                    diagnostics.warning("table socketmap:\(table) lookup error: \(error.text)")
                    throw MapError(.temporary, "table socketmap:\(table): lookup error: \(error.text)",
                                   errno: lastErrno.load(ordering: .relaxed))
                }
            }
        }
    }

    private static func readNetstring(_ stream: NetworkStream) throws(NetstringError) -> [UInt8] {
        func next() throws(NetstringError) -> UInt8 {
            let (byte, e) = stream.readByte()
            guard let byte else { throw e == ETIMEDOUT ? .time : .eof(e) }
            return byte
        }
        var length = 0
        while true {
            let c = try next()
            if c == 0x3A { break }
            guard c >= 0x30, c <= 0x39 else { throw .format }
            let (m, o1) = length.multipliedReportingOverflow(by: 10)
            let (a, o2) = m.addingReportingOverflow(Int(c - 0x30))
            if o1 || o2 { throw .size }
            length = a
        }
        if length > SocketmapTable.maxReply { throw .size }
        var data: [UInt8] = []
        data.reserveCapacity(length)
        for _ in 0..<length { data.append(try next()) }
        guard try next() == 0x2C else { throw .format }
        return data
    }
}
