import Foundation

/// A real memcached for the memcache table tests: Debian's memcached, run in the foreground on a loopback
/// port (or a UNIX socket in a temporary directory), never the system service; killed when the value
/// is dropped. `send` talks to it directly, to set up and inspect the cache. It starts in milliseconds
/// and the tests empty it (`reset`), so each test has its own.
public final class Memcached: Sendable {
    public static let path = "/usr/bin/memcached"
    public static var available: Bool { Paths.executable(path) }

    public let dir: TempDir
    public let port: Int
    /// The UNIX socket, when the server listens on one instead of a port.
    public let socket: String?
    private let daemon: Daemon

    /// `inet:127.0.0.1:PORT` or `unix:PATH`, for a table's `memcache` setting.
    public var service: String { socket.map { "unix:\($0)" } ?? "inet:127.0.0.1:\(port)" }

    public init(unixSocket: Bool = false) throws {
        let dir = TempDir("memcached")
        self.dir = dir
        let port = unixSocket ? 0 : try Port.free()
        self.port = port
        let socket = unixSocket ? dir.file("memcached.sock") : nil
        self.socket = socket
        var args = [Self.path, "-U", "0", "-t", "1", "-m", "16", "-c", "64"]
        if let socket { args += ["-s", socket, "-a", "0700"] } else { args += ["-l", "127.0.0.1", "-p", String(port)] }
        // memcached refuses to run as root without naming the user to run as.
        if geteuid() == 0 { args += ["-u", "root"] }
        daemon = Daemon("memcached", command: args, in: dir.url)
        try start()
    }

    deinit { stop() }

    /// Start memcached and wait (bounded) until it answers.
    public func start() throws {
        try daemon.start(deadline: 5) { (try? send("version\r\n", until: "\r\n")) != nil }
    }

    /// Stop memcached (TERM, then KILL) and wait for it.
    public func stop() { daemon.stop(grace: 5) }

    /// Freeze the server (SIGSTOP): the kernel still accepts connections, nothing answers.
    public func pause() { daemon.pause() }

    /// Let a paused server run again.
    public func resume() { daemon.resume() }

    /// Send `request` on a new connection and read until the reply ends with `terminator` (at most 5 s).
    @discardableResult
    public func send(_ request: [UInt8], until terminator: String) throws -> [UInt8] {
        let client = try socket.map { try SocketClient(unixPath: $0) } ?? SocketClient(port: port)
        client.send(request)
        guard let reply = client.receive(endingWith: Array(terminator.utf8)) else {
            throw TestSupportError("memcached: no complete reply to \(String(decoding: request.prefix(60), as: UTF8.self))")
        }
        return reply
    }

    public func send(_ request: String, until terminator: String) throws {
        try send(Array(request.utf8), until: terminator)
    }

    /// Empty the cache and store `records` (key, value, flags).
    public func reset(_ records: [(key: [UInt8], value: [UInt8], flags: Int)] = []) throws {
        try send("flush_all\r\n", until: "OK\r\n")
        for r in records {
            let request = Array("set ".utf8) + r.key + Array(" \(r.flags) 0 \(r.value.count)\r\n".utf8) + r.value + [0x0D, 0x0A]
            let reply = try send(request, until: "\r\n")
            guard reply == Array("STORED\r\n".utf8) else {
                throw TestSupportError("memcached refused \(String(decoding: r.key, as: UTF8.self)): \(String(decoding: reply, as: UTF8.self))")
            }
        }
    }

    /// What the cache holds for `keys`: memcached's `VALUE key flags length` lines and data, in order.
    public func dump(_ keys: [[UInt8]]) throws -> String {
        var out = ""
        for key in keys where !key.isEmpty {
            let reply = try send(Array("get ".utf8) + key + [0x0D, 0x0A], until: "END\r\n")
            out += String(decoding: reply, as: UTF8.self)
        }
        return out
    }
}
