import Foundation

/// A blocking client socket with a receive timeout, for protocol and fault tests: TCP on 127.0.0.1 or
/// a Unix-domain socket. It reads what the test asks for (a netstring, a line, bytes until a condition)
/// and keeps what came after it for the next read.
public final class SocketClient: @unchecked Sendable {
    // @unchecked Sendable: one task uses a client at a time (the tests hand it over, never share it);
    // `fd` is set in init.
    public let fd: Int32
    /// Bytes received beyond the last reply taken.
    private var pending: [UInt8] = []

    /// Connect to 127.0.0.1:`port`; a receive waits at most `timeout` seconds.
    public init(port: Int, timeout: Int = 5) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw TestSupportError("socket: \(errno)") }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = UInt16(port).bigEndian
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard rc == 0 else { throw TestSupportError("connect 127.0.0.1:\(port): \(errno)") }
        setTimeout(timeout)
    }

    /// Connect to the Unix-domain socket at `unixPath`.
    public init(unixPath: String, timeout: Int = 5) throws {
        fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw TestSupportError("socket: \(errno)") }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let capacity = MemoryLayout.size(ofValue: address.sun_path) - 1
        guard unixPath.utf8.count <= capacity else { throw TestSupportError("socket path too long: \(unixPath)") }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (i, b) in unixPath.utf8.enumerated() { raw[i] = b }
        }
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard rc == 0 else { throw TestSupportError("connect \(unixPath): \(errno)") }
        setTimeout(timeout)
    }

    // The only place the descriptor is closed. Once `fd` is set every stored property has its value, so
    // an init that throws after that runs deinit: closing it on the error path as well closed it twice,
    // and the second close could take a descriptor another thread of the test process had just opened
    // (seen as "open database ...: Bad file descriptor" in a concurrent lmdb test).
    deinit { if fd >= 0 { close(fd) } }

    private func setTimeout(_ seconds: Int) {
        var tv = timeval(tv_sec: seconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    }

    public func send(_ bytes: [UInt8]) {
        _ = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    }

    public func send(_ text: String) { send(Array(text.utf8)) }

    /// Read until `done` says the bytes are complete, the peer closes, or the timeout passes.
    /// A reset by the server (it closed with our bytes unread) counts as closed; a timeout does not.
    public func receive(until done: ([UInt8]) -> Bool) -> (bytes: [UInt8], closed: Bool) {
        var out = pending
        pending = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while !done(out) {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n == 0 { return (out, true) }
            if n < 0 {
                if errno == EINTR { continue }
                return (out, errno != EAGAIN && errno != EWOULDBLOCK)
            }
            out += buffer[0..<n]
        }
        return (out, false)
    }

    /// Read until the received bytes end with `terminator`; nil if the connection closed or timed out first.
    public func receive(endingWith terminator: [UInt8]) -> [UInt8]? {
        let (bytes, _) = receive { $0.count >= terminator.count && Array($0.suffix(terminator.count)) == terminator }
        guard bytes.count >= terminator.count, Array(bytes.suffix(terminator.count)) == terminator else { return nil }
        return bytes
    }

    /// One netstring reply's payload (nil if the connection closed or timed out first).
    public func netstring() -> String? {
        let (bytes, _) = receive { b in
            guard let colon = b.firstIndex(of: 0x3A), let n = Int(String(decoding: b[..<colon], as: UTF8.self)) else { return false }
            return b.count >= colon + n + 2
        }
        guard let colon = bytes.firstIndex(of: 0x3A), let n = Int(String(decoding: bytes[..<colon], as: UTF8.self)),
              bytes.count >= colon + n + 2 else { return nil }
        pending = Array(bytes[(colon + n + 2)...])
        return String(decoding: bytes[(colon + 1)..<(colon + 1 + n)], as: UTF8.self)
    }

    /// One reply line, without its newline (nil if the connection closed or timed out first).
    public func line() -> String? {
        let (bytes, _) = receive { $0.contains(0x0A) }
        guard let nl = bytes.firstIndex(of: 0x0A) else { return nil }
        pending = Array(bytes[(nl + 1)...])
        return String(decoding: bytes[..<nl], as: UTF8.self)
    }

    /// Whether the server closes the connection within the timeout (reading and dropping what comes).
    public func closedByPeer() -> Bool {
        receive { _ in false }.closed
    }

    /// Close with a reset (SO_LINGER 0), as a killed client's kernel would after unread data.
    public func reset() {
        var l = linger(l_onoff: 1, l_linger: 0)
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, socklen_t(MemoryLayout<linger>.size))
        shutdown(fd, Int32(SHUT_RDWR))
    }
}

/// `N:text,`, a netstring.
public func netstring(_ text: String) -> [UInt8] { Array("\(text.utf8.count):\(text),".utf8) }

/// Loopback ports.
public enum Port {
    /// A port on 127.0.0.1 that nothing listens on right now.
    public static func free() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw TestSupportError("socket: \(errno)") }
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = 0
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { p -> Bool in
                bind(fd, p, len) == 0 && getsockname(fd, p, &len) == 0
            }
        }
        guard bound else { throw TestSupportError("bind: \(errno)") }
        return Int(UInt16(bigEndian: addr.sin_port))
    }

    /// Whether something accepts TCP connections on 127.0.0.1:`port`.
    public static func accepts(_ port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = UInt16(port).bigEndian
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        return withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
    }
}
