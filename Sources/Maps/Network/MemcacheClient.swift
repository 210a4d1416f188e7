#if canImport(Glibc)
import Glibc
#endif
import PostfixText

/// A client of one memcached server, as Postfix's `auto_clnt` and `memcache_proto` give the `memcache:`
/// table: the connection is made when first needed and kept; a failed exchange closes it (the next
/// request reconnects); commands end with CRLF, replies are lines of at most a given length (CRLF or LF)
/// and data blocks of a stated length followed by CRLF. Requests are buffered and sent when the reply is
/// read, as Postfix's buffered stream does, so a write error shows up as a failed read.
///
/// Postfix's messages end with `%m`, its process-wide errno: `lastErrno` follows what Postfix's errno
/// would be after each step (the `EINPROGRESS` of a connect that waited, a read that timed out, a
/// connection reset), and an orderly end of stream leaves it alone.
public final class MemcacheClient {
    /// How the server is reached.
    public enum Transport: Sendable, Equatable {
        case inet
        case unix
    }

    public let transport: Transport
    /// The service without its transport (`localhost:11211`, `/path/to/socket`): the name in
    /// `connect to ENDPOINT: ...`.
    public let endpoint: String
    private let timeout: Int32
    private let diagnostics: Diagnostics
    private var stream: NetworkStream?
    private var pending: [UInt8] = []
    /// What Postfix's errno would be now (see the type's comment).
    public var lastErrno: Int32 = 0

    /// A client of `service` (`inet:host:port`, `unix:/path` or `local:/path`). A malformed service is
    /// fatal in Postfix (`auto_clnt_create`), with these texts.
    public init(service: String, timeout: Int, diagnostics: Diagnostics) throws(MapError) {
        guard let colon = service.firstIndex(of: ":") else {
            throw MapError(.configuration, "need service transport:endpoint instead of \"\(service)\"", fatalInPostfix: true)
        }
        let name = String(service[..<colon])
        let rest = String(service[service.index(after: colon)...])
        guard !name.isEmpty, !rest.isEmpty else {
            throw MapError(.configuration, "need service transport:endpoint instead of \"\(service)\"", fatalInPostfix: true)
        }
        switch name {
        case "inet": transport = .inet
        case "unix", "local": transport = .unix
        default:
            throw MapError(.configuration, "invalid transport name: \(name) in service: \(service)", fatalInPostfix: true)
        }
        endpoint = rest
        // Postfix's time limit of 0 (or less) means no limit; poll(2) waits forever on a negative one.
        self.timeout = timeout > 0 ? Int32(clamping: timeout) : -1
        self.diagnostics = diagnostics
    }

    /// What Postfix would refuse about the endpoint when it first connects (a malformed `host:port`:
    /// `127.0.0.1: garbage after numerical service`), or nil. For `postconf --check`.
    public var endpointProblem: String? {
        guard transport == .inet else { return nil }
        if case .failure(let fatal) = NetworkStream.hostPort(endpoint) { return fatal.message }
        return nil
    }

    /// Whether a connection is open (`auto_clnt_access`): connect when there is none. A failed connect
    /// warns `connect to ENDPOINT: ...` and answers false; a malformed `host:port` is fatal.
    public func access() throws(MapError) -> Bool {
        if stream != nil { return true }
        do throws(NetworkStream.ConnectFailure) {
            let opened = transport == .inet
                ? try NetworkStream.connectInet(endpoint, timeout: timeout)
                : try NetworkStream.connectUnix(endpoint, timeout: timeout)
            // Without a time limit Postfix connects in blocking mode, which leaves errno alone.
            if opened.connectErrno != 0, timeout > 0 { lastErrno = opened.connectErrno }
            stream = opened
            pending.removeAll(keepingCapacity: true)
            return true
        } catch {
            if error.fatal, let text = error.warning { throw MapError(.configuration, text, fatalInPostfix: true) }
            if let text = error.warning { diagnostics.warning(text) }
            lastErrno = error.errno
            diagnostics.warning("connect to \(endpoint): \(systemErrorText(error.errno))")
            return false
        }
    }

    /// Close the connection after a failed exchange (`auto_clnt_recover`); the next access reconnects.
    public func recover() {
        if stream != nil { generation += 1 }
        stream = nil
        pending.removeAll(keepingCapacity: true)
    }

    /// Counts closed connections: replies awaited on a connection of an older generation are gone.
    public private(set) var generation = 0

    /// Whether a connection is open now (nothing is attempted).
    public var isConnected: Bool { stream != nil }

    /// Send the queued commands now, for replies to be read later (requests sent ahead). Postfix's errno
    /// is left as it was; on failure the connection is closed, and the next request reconnects.
    public func push() -> Bool {
        guard let open = stream else { return false }
        let saved = lastErrno
        defer { lastErrno = saved }
        if flush(open) { return true }
        recover()
        return false
    }

    /// Queue one command line (`memcache_printf`): the text and CRLF.
    public func sendLine(_ bytes: [UInt8]) {
        pending.append(contentsOf: bytes)
        pending.append(contentsOf: [0x0D, 0x0A])
    }

    /// Queue one data block (`memcache_fwrite`): the bytes and CRLF.
    public func sendBlock(_ bytes: [UInt8]) {
        sendLine(bytes)
    }

    /// Send what is queued; false (errno noted) when the connection failed.
    private func flush(_ open: NetworkStream) -> Bool {
        guard !pending.isEmpty else { return true }
        defer { pending.removeAll(keepingCapacity: true) }
        if let e = open.write(pending) {
            lastErrno = e
            return false
        }
        return true
    }

    /// One byte of the reply, or nil at the end of the stream or on an error (errno noted).
    private func byte(_ open: NetworkStream) -> UInt8? {
        let (b, e) = open.readByte()
        if b == nil, e != 0 { lastErrno = e }
        return b
    }

    /// One reply line (`memcache_get`) of at most `bound` bytes with its LF (0: no bound), without
    /// CRLF or LF; nil at the end of the stream, on an error, or when the line is too long. A line
    /// whose CR is the last byte the bound allows may still end with its LF.
    public func readLine(bound: Int) -> [UInt8]? {
        guard let open = stream, flush(open) else { return nil }
        var line: [UInt8] = []
        var left = bound > 0 ? bound : Int.max
        var last: UInt8?
        while left > 0, let c = byte(open) {
            line.append(c)
            last = c
            left -= 1
            if c == 0x0A { break }
        }
        if last == 0x0D {
            guard let next = byte(open) else { return nil }
            // Postfix pushes a byte other than LF back, but every caller then closes the connection.
            guard next == 0x0A else { return nil }
            line.append(next)
            last = next
        }
        guard last == 0x0A else { return nil }
        line.removeLast()
        if line.last == 0x0D { line.removeLast() }
        return line
    }

    /// One data block of exactly `count` bytes followed by CRLF (`memcache_fread`); nil otherwise.
    public func readBlock(count: Int) -> [UInt8]? {
        guard let open = stream, flush(open) else { return nil }
        var data: [UInt8] = []
        data.reserveCapacity(count)
        while data.count < count {
            guard let c = byte(open) else { return nil }
            data.append(c)
        }
        guard byte(open) == 0x0D, byte(open) == 0x0A else { return nil }
        return data
    }

    /// Close the connection.
    public func close() {
        recover()
    }
}

/// One connection, used by one thread at a time (its table's).
@available(*, unavailable)
extension MemcacheClient: Sendable {}
