#if canImport(Glibc)
import Glibc
#endif
import PostfixText
import Synchronization

/// `tcp:host:port`: the simple request/reply protocol of Postfix's `tcp_table(5)` client
/// (`dict_tcp.c`). A lookup sends `get KEY` with the key `%XX`-quoted and reads one reply line of at
/// most 4096 bytes: `2xx VALUE` found, `5xx` not found, `4xx` a temporary error. The connection is
/// opened on the first lookup and kept; a broken or silent connection is retried 10 times, one second
/// apart, and then the lookup fails with a temporary error, never "not found". Every operation has
/// Postfix's 100-second time limit. Lookups of one table are serialized, so threads may share it.
public final class TCPTable: LookupTable {
    public let type = "tcp"
    public let name: String
    private let diagnostics: Diagnostics
    private let connection = Mutex<NetworkStream?>(nil)
    /// What Postfix's `%m` would show after the last operation (its errno is process-wide).
    private let lastErrno = Atomic<Int32>(0)

    static let maxTries = 10
    static let timeout: Int32 = 100
    static let maxReply = 4096

    public init(name: String, request: OpenRequest) throws(MapError) {
        guard request.mode == .readOnly else { throw .usage("tcp:\(name) map requires O_RDONLY access mode") }
        self.name = name
        self.diagnostics = request.diagnostics
    }

    /// The catalog's opener: keys are patterns to Postfix (no partial keys are sent to a tcp server).
    public static let mapType = MapType(name: "tcp", fixedKeys: false, open: { name, request throws(MapError) in
        try TCPTable(name: name, request: request)
    })

    /// Postfix's `printable(text, '_')`, cut to 100 bytes, for warnings.
    static func shown(_ line: [UInt8]) -> String {
        ByteText.string(line.prefix(100).map { $0 >= 0x20 && $0 < 0x7F ? $0 : 0x5F })
    }

    /// Lookups take turns on the connection (its mutex).
    public var concurrentLookups: Bool { true }

    public func lookup(_ key: [UInt8]) throws(MapError) -> [UInt8]? {
        let request = Array("get ".utf8) + TCPQuoting.quote(KeyCodec.cString(key)) + [0x0A]
        return try connection.withLock { (stream: inout NetworkStream?) throws(MapError) -> [UInt8]? in
            var tries = 0
            var line: [UInt8] = []
            exchange: while true {
                if stream == nil {
                    do throws(NetworkStream.ConnectFailure) {
                        let opened = try NetworkStream.connectInet(name, timeout: Self.timeout)
                        if opened.connectErrno != 0 { lastErrno.store(opened.connectErrno, ordering: .relaxed) }
                        stream = opened
                    } catch {
                        if error.fatal, let text = error.warning { throw MapError(.configuration, text, fatalInPostfix: true) }
                        if let text = error.warning { diagnostics.warning(text) }
                        lastErrno.store(error.errno, ordering: .relaxed)
                        diagnostics.warning("connect to TCP map \(name): \(systemErrorText(error.errno))")
                    }
                }
                if let open = stream {
                    line.removeAll(keepingCapacity: true)
                    if let e = open.write(request) {
                        lastErrno.store(e, ordering: .relaxed)
                        diagnostics.warning("read TCP map reply from \(name): unexpected EOF (\(systemErrorText(e)))")
                    } else {
                        var count = 0
                        var ended = false
                        while count < Self.maxReply {
                            let (byte, e) = open.readByte()
                            guard let byte else {
                                if e != 0 { lastErrno.store(e, ordering: .relaxed) }
                                break
                            }
                            count += 1
                            if byte == 0x0A { ended = true; break }
                            line.append(byte)
                        }
                        if ended { break exchange }
                        if count < Self.maxReply {
                            diagnostics.warning("read TCP map reply from \(name): unexpected EOF (\(systemErrorText(lastErrno.load(ordering: .relaxed))))")
                        } else {
                            diagnostics.warning("read TCP map reply from \(name): text longer than \(Self.maxReply)")
                        }
                    }
                    stream = nil
                }
                tries += 1
                if tries >= Self.maxTries {
                    throw MapError(.temporary, "table tcp:\(name): query error", errno: lastErrno.load(ordering: .relaxed))
                }
                sleep(1)
            }
            func isDigit(_ i: Int) -> Bool { i < line.count && line[i] >= 0x30 && line[i] <= 0x39 }
            let spaced = line.count > 3 && (line[3] == 0x20 || (line[3] >= 0x09 && line[3] <= 0x0D))
            guard isDigit(0), isDigit(1), isDigit(2), spaced, let value = TCPQuoting.unquote(KeyCodec.cString(Array(line[4...]))[...]) else {
                diagnostics.warning("read TCP map reply from \(name): malformed reply: \(Self.shown(line))")
                stream = nil
                throw MapError(.temporary, "table tcp:\(name): malformed reply", errno: lastErrno.load(ordering: .relaxed))
            }
            switch line[0] {
            case 0x32:
                return value
            case 0x35:
                return nil
            case 0x34:
                stream = nil
                throw MapError(.temporary, "table tcp:\(name): soft error", errno: lastErrno.load(ordering: .relaxed))
            default:
                diagnostics.warning("read TCP map reply from \(name): bad status code: \(Self.shown(line))")
                stream = nil
                throw MapError(.temporary, "table tcp:\(name): bad status code", errno: lastErrno.load(ordering: .relaxed))
            }
        }
    }

    public func close() {
        connection.withLock { $0 = nil }
    }
}
