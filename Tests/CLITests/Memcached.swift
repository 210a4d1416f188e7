import Foundation
import Testing

/// A real memcached for the memcache table tests: Debian's memcached, run in the foreground on a loopback
/// port (or a UNIX socket in a temporary directory), never the system service; killed when the value
/// is dropped. `send` talks to it directly, to set up and inspect the cache.
final class Memcached: @unchecked Sendable {
    // Proof: `port`, `socket` and `dir` are set in init and then only read; `process` sits behind `lock`.
    static let path = "/usr/bin/memcached"
    static var available: Bool { FileManager.default.isExecutableFile(atPath: path) }

    let dir = TempDir("memcached")
    let port: Int
    /// The UNIX socket, when the server listens on one instead of a port.
    let socket: String?
    private var process: Process?
    private let lock = NSLock()

    /// `inet:127.0.0.1:PORT` or `unix:PATH`, for a table's `memcache` setting.
    var service: String { socket.map { "unix:\($0)" } ?? "inet:127.0.0.1:\(port)" }

    init(unixSocket: Bool = false) throws {
        port = unixSocket ? 0 : try Slapd.freePort()
        socket = unixSocket ? dir.file("memcached.sock") : nil
        try start()
    }

    deinit { stop() }

    /// Start memcached and wait (bounded) until it answers.
    func start() throws {
        guard Self.available else { throw MissingProgram(path: Self.path) }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: Self.path)
        var args = ["-U", "0", "-t", "1", "-m", "16", "-c", "64"]
        if let socket { args += ["-s", socket, "-a", "0700"] } else { args += ["-l", "127.0.0.1", "-p", String(port)] }
        // memcached refuses to run as root without naming the user to run as.
        if geteuid() == 0 { args += ["-u", "root"] }
        p.arguments = args
        p.currentDirectoryURL = dir.url
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        p.standardInput = FileHandle.nullDevice
        try p.run()
        lock.withLock { process = p }
        for _ in 0..<200 {
            if (try? send("version\r\n", until: "\r\n")) != nil { return }
            if !p.isRunning { break }
            usleep(25_000)
        }
        stop()
        throw SlapdError("memcached did not start (\(service))")
    }

    /// Stop memcached (TERM, then KILL) and wait for it.
    func stop() {
        guard let p = lock.withLock({ () -> Process? in defer { process = nil }; return process }) else { return }
        guard p.isRunning else { return }
        kill(p.processIdentifier, SIGCONT)
        p.terminate()
        for _ in 0..<100 where p.isRunning { usleep(50_000) }
        if p.isRunning { kill(p.processIdentifier, SIGKILL) }
        p.waitUntilExit()
    }

    /// Freeze the server (SIGSTOP): the kernel still accepts connections, nothing answers.
    func pause() {
        if let p = lock.withLock({ process }) { kill(p.processIdentifier, SIGSTOP) }
    }

    /// Let a paused server run again.
    func resume() {
        if let p = lock.withLock({ process }) { kill(p.processIdentifier, SIGCONT) }
    }

    /// Send `request` on a new connection and read until the reply ends with `terminator` (at most 5 s).
    @discardableResult
    func send(_ request: [UInt8], until terminator: String) throws -> [UInt8] {
        let fd: Int32
        if let socket {
            fd = Glibc.socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
            var address = sockaddr_un()
            address.sun_family = sa_family_t(AF_UNIX)
            withUnsafeMutableBytes(of: &address.sun_path) { raw in
                for (i, b) in socket.utf8.enumerated() { raw[i] = b }
            }
            let rc = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
            }
            guard rc == 0 else { close(fd); throw SlapdError("connect \(socket): \(errno)") }
        } else {
            fd = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = UInt16(port).bigEndian
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            let rc = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            guard rc == 0 else { close(fd); throw SlapdError("connect 127.0.0.1:\(port): \(errno)") }
        }
        defer { close(fd) }
        _ = request.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        var reply: [UInt8] = []
        let end = Array(terminator.utf8)
        var chunk = [UInt8](repeating: 0, count: 65536)
        let deadline = Date().addingTimeInterval(5)
        while !(reply.count >= end.count && Array(reply.suffix(end.count)) == end), Date() < deadline {
            var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&p, 1, 100) > 0 else { continue }
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n <= 0 { break }
            reply.append(contentsOf: chunk[0..<n])
        }
        guard reply.count >= end.count, Array(reply.suffix(end.count)) == end else {
            throw SlapdError("memcached: no complete reply to \(String(decoding: request.prefix(60), as: UTF8.self))")
        }
        return reply
    }

    func send(_ request: String, until terminator: String) throws {
        try send(Array(request.utf8), until: terminator)
    }

    /// Empty the cache and store `records` (key, value, flags).
    func reset(_ records: [(key: [UInt8], value: [UInt8], flags: Int)] = []) throws {
        try send("flush_all\r\n", until: "OK\r\n")
        for r in records {
            let request = Array("set ".utf8) + r.key + Array(" \(r.flags) 0 \(r.value.count)\r\n".utf8) + r.value + [0x0D, 0x0A]
            let reply = try send(request, until: "\r\n")
            guard reply == Array("STORED\r\n".utf8) else {
                throw SlapdError("memcached refused \(String(decoding: r.key, as: UTF8.self)): \(String(decoding: reply, as: UTF8.self))")
            }
        }
    }

    /// What the cache holds for `keys`: memcached's `VALUE key flags length` lines and data, in order.
    func dump(_ keys: [[UInt8]]) throws -> String {
        var out = ""
        for key in keys where !key.isEmpty {
            let reply = try send(Array("get ".utf8) + key + [0x0D, 0x0A], until: "END\r\n")
            out += String(decoding: reply, as: UTF8.self)
        }
        return out
    }
}
