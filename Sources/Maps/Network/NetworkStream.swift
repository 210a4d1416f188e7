#if canImport(Glibc)
import Glibc
#endif
import PostfixText

/// A blocking stream socket with a time limit on every operation, as Postfix's `timed_connect`,
/// `timed_read` and `timed_write` give its table clients (`tcp:`, `socketmap:`).
final class NetworkStream {
    let fd: Int32
    let timeout: Int32
    /// When the connection was made and last used, for idle and age limits.
    let opened: timespec
    var lastUsed: timespec
    /// The errno a successful connect left behind: `EINPROGRESS` when the connection completed after a
    /// wait, as Postfix's timed connect leaves it (its later `%m` texts show it), else 0.
    var connectErrno: Int32 = 0
    private var buffer: [UInt8] = []
    private var position = 0

    private init(fd: Int32, timeout: Int32) {
        self.fd = fd
        self.timeout = timeout
        opened = Self.now()
        lastUsed = opened
    }

    deinit { close(fd) }

    static func now() -> timespec {
        var t = timespec()
        clock_gettime(CLOCK_MONOTONIC, &t)
        return t
    }

    /// Seconds since `t`.
    static func seconds(since t: timespec) -> Int {
        Int(now().tv_sec - t.tv_sec)
    }

    /// Why a connection could not be made: a warning in Postfix's words, and the errno for `%m`.
    struct ConnectFailure: Error {
        var warning: String?
        var errno: Int32
        /// Postfix ends the program (`msg_fatal`) with `warning` as the text.
        var fatal = false
    }

    /// Postfix's `host_port` for `host:port`, `[host]:port` and `port`; the error is Postfix's text.
    static func hostPort(_ text: String) -> Result<(host: String, port: String), Fatal> {
        var host = "localhost"
        var port: String?
        if text.hasPrefix("[") {
            let inner = text.dropFirst()
            guard let close = inner.firstIndex(of: "]") else { return .failure(Fatal("\(text): missing \"]\"")) }
            host = String(inner[..<close])
            let after = inner[inner.index(after: close)...]
            if !after.isEmpty {
                guard after.first == ":" else { return .failure(Fatal("\(text): garbage after \"]\"")) }
                port = String(after.dropFirst())
            }
        } else if let colon = text.lastIndex(of: ":") {
            let h = String(text[..<colon])
            if !h.isEmpty { host = h }
            port = String(text[text.index(after: colon)...])
        } else if !text.isEmpty {
            port = text
        }
        guard !host.isEmpty else { return .failure(Fatal("\(text): missing host information")) }
        guard let port, !port.isEmpty else { return .failure(Fatal("\(text): missing service information")) }
        if let first = port.utf8.first, first >= 0x30, first <= 0x39, !port.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) {
            return .failure(Fatal("\(text): garbage after numerical service"))
        }
        return .success((host, port))
    }

    /// Connect to `host:port` over TCP (Postfix's `inet_connect`): every address in turn, each within
    /// `timeout` seconds.
    static func connectInet(_ address: String, timeout: Int32) throws(ConnectFailure) -> NetworkStream {
        let parsed: (host: String, port: String)
        switch hostPort(address) {
        case .failure(let fatal): throw ConnectFailure(warning: fatal.message, errno: EINVAL, fatal: true)
        case .success(let p): parsed = p
        }
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_family = AF_UNSPEC
        var list: UnsafeMutablePointer<addrinfo>?
        let rc = getaddrinfo(parsed.host, parsed.port, &hints, &list)
        guard rc == 0, let first = list else {
            let text = String(cString: gai_strerror(rc))
            throw ConnectFailure(warning: "host or service \(address) not found: \(text)", errno: EADDRNOTAVAIL)
        }
        defer { freeaddrinfo(list) }
        var lastErrno: Int32 = ECONNREFUSED
        var node: UnsafeMutablePointer<addrinfo>? = first
        while let info = node {
            node = info.pointee.ai_next
            let fd = socket(info.pointee.ai_family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
            guard fd >= 0 else { lastErrno = errno; continue }
            var waited = false
            if let e = timedConnect(fd, info.pointee.ai_addr, info.pointee.ai_addrlen, timeout: timeout, waited: &waited) {
                lastErrno = e
                close(fd)
                continue
            }
            let stream = NetworkStream(fd: fd, timeout: timeout)
            stream.connectErrno = waited ? EINPROGRESS : 0
            return stream
        }
        throw ConnectFailure(warning: nil, errno: lastErrno)
    }

    /// Connect to a UNIX-domain socket (Postfix's `unix_connect`).
    static func connectUnix(_ path: String, timeout: Int32) throws(ConnectFailure) -> NetworkStream {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else {
            throw ConnectFailure(warning: nil, errno: ENAMETOOLONG)
        }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (i, b) in bytes.enumerated() { raw[i] = b }
        }
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw ConnectFailure(warning: nil, errno: errno) }
        var waited = false
        let e = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                timedConnect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size), timeout: timeout, waited: &waited)
            }
        }
        if let e {
            close(fd)
            throw ConnectFailure(warning: nil, errno: e)
        }
        let stream = NetworkStream(fd: fd, timeout: timeout)
        stream.connectErrno = waited ? EINPROGRESS : 0
        return stream
    }

    /// A non-blocking connect that waits at most `timeout` seconds; the errno on failure.
    private static func timedConnect(_ fd: Int32, _ address: UnsafePointer<sockaddr>?, _ length: socklen_t,
                                     timeout: Int32, waited: inout Bool) -> Int32? {
        let flags = fcntl(fd, F_GETFL)
        _ = fcntl(fd, F_SETFL, flags | O_NONBLOCK)
        defer { _ = fcntl(fd, F_SETFL, flags) }
        if connect(fd, address, length) == 0 { return nil }
        guard errno == EINPROGRESS else { return errno }
        waited = true
        var p = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
        let ready = poll(&p, 1, timeout * 1000)
        if ready == 0 { return ETIMEDOUT }
        if ready < 0 { return errno }
        var error: Int32 = 0
        var size = socklen_t(MemoryLayout<Int32>.size)
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &size)
        return error == 0 ? nil : error
    }

    /// Wait until the socket is ready; `ETIMEDOUT` after the time limit.
    private func wait(_ events: Int32) -> Int32? {
        var p = pollfd(fd: fd, events: Int16(events), revents: 0)
        while true {
            let ready = poll(&p, 1, timeout * 1000)
            if ready > 0 { return nil }
            if ready == 0 { return ETIMEDOUT }
            if errno != EINTR { return errno }
        }
    }

    /// Write everything; the errno on failure.
    func write(_ bytes: [UInt8]) -> Int32? {
        lastUsed = Self.now()
        var offset = 0
        while offset < bytes.count {
            if let e = wait(POLLOUT) { return e }
            let n = bytes.withUnsafeBytes { raw in
                send(fd, raw.baseAddress.map { $0 + offset }, bytes.count - offset, Int32(MSG_NOSIGNAL))
            }
            if n > 0 { offset += n; continue }
            if n < 0, errno == EINTR || errno == EAGAIN { continue }
            return n == 0 ? EPIPE : errno
        }
        return nil
    }

    /// One byte; `nil` at the end of the stream, with `errno` describing why (0 for a clean close).
    func readByte() -> (byte: UInt8?, errno: Int32) {
        if position < buffer.count {
            position += 1
            return (buffer[position - 1], 0)
        }
        if let e = wait(POLLIN) { return (nil, e) }
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n > 0 {
                buffer = Array(chunk[0..<n])
                position = 1
                lastUsed = Self.now()
                return (buffer[0], 0)
            }
            if n < 0, errno == EINTR { continue }
            return (nil, n == 0 ? 0 : errno)
        }
    }
}
