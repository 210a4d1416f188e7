import Foundation
import Testing

/// Our map server, started from .build for one test: its configuration in a temporary directory, its
/// log (stderr) in a file there, listeners on loopback ports chosen for the run. It is stopped (TERM,
/// then KILL) when the test is done.
final class Postmapd: @unchecked Sendable {
    // `@unchecked Sendable`: `process` is set in init; the rest is immutable or read from files.
    let dir: TempDir
    let process: Process
    var logPath: String { dir.file("postmapd.log") }

    /// Start `postmapd --config DIR/postmapd.cf` with `config` as that file, and wait until it says it
    /// is serving (bounded).
    init(_ config: String, in dir: TempDir, arguments: [String] = []) throws {
        self.dir = dir
        dir.write("postmapd.cf", config)
        let executable = Paths.ours("postmapd")
        guard FileManager.default.isExecutableFile(atPath: executable) else { throw MissingProgram(path: executable) }
        _ = FileManager.default.createFile(atPath: dir.file("postmapd.log"), contents: nil)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: executable)
        p.arguments = ["--config", dir.file("postmapd.cf")] + arguments
        p.currentDirectoryURL = dir.url
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle(forWritingAtPath: dir.file("postmapd.log"))
        p.standardInput = FileHandle.nullDevice
        try p.run()
        process = p
        for _ in 0..<400 {
            if log.contains("daemon started") { return }
            if !p.isRunning { break }
            usleep(25_000)
        }
        stop()
        throw ServerTestError("postmapd did not start:\n\(log)")
    }

    deinit { stop() }

    /// What the server logged so far.
    var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    /// SIGHUP: re-read the configuration. Waits (bounded) until the server logs the outcome.
    func hangup() {
        let before = log.components(separatedBy: "reload of").count
        kill(process.processIdentifier, SIGHUP)
        for _ in 0..<400 where log.components(separatedBy: "reload of").count == before { usleep(25_000) }
    }

    /// SIGTERM, then SIGKILL after 10 s; returns the exit status.
    @discardableResult
    func stop() -> Int32 {
        guard process.isRunning else { return process.terminationStatus }
        process.terminate()
        for _ in 0..<200 where process.isRunning { usleep(50_000) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
        return process.terminationStatus
    }
}

struct ServerTestError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// A raw client socket with a receive timeout, for protocol and fault tests.
final class RawClient {
    let fd: Int32
    /// Bytes received beyond the last reply taken.
    private var pending: [UInt8] = []

    init(port: Int, timeout: Int = 5) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw ServerTestError("socket: \(errno)") }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = UInt16(port).bigEndian
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard rc == 0 else { close(fd); throw ServerTestError("connect 127.0.0.1:\(port): \(errno)") }
        setTimeout(timeout)
    }

    init(unixPath: String, timeout: Int = 5) throws {
        fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (i, b) in unixPath.utf8.enumerated() { raw[i] = b }
        }
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard rc == 0 else { close(fd); throw ServerTestError("connect \(unixPath): \(errno)") }
        setTimeout(timeout)
    }

    deinit { close(fd) }

    private func setTimeout(_ seconds: Int) {
        var tv = timeval(tv_sec: seconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    }

    func send(_ bytes: [UInt8]) {
        _ = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    }

    func send(_ text: String) { send(Array(text.utf8)) }

    /// Read until `done` says the bytes are complete, the peer closes, or the timeout passes.
    /// A reset by the server (it closed with our bytes unread) counts as closed; a timeout does not.
    func receive(until done: ([UInt8]) -> Bool) -> (bytes: [UInt8], closed: Bool) {
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

    /// One netstring reply's payload (nil if the connection closed or timed out first).
    func netstring() -> String? {
        let (bytes, _) = receive { b in
            guard let colon = b.firstIndex(of: 0x3A), let n = Int(String(decoding: b[..<colon], as: UTF8.self)) else { return false }
            return b.count >= colon + n + 2
        }
        guard let colon = bytes.firstIndex(of: 0x3A), let n = Int(String(decoding: bytes[..<colon], as: UTF8.self)),
              bytes.count >= colon + n + 2 else { return nil }
        pending = Array(bytes[(colon + n + 2)...])
        return String(decoding: bytes[(colon + 1)..<(colon + 1 + n)], as: UTF8.self)
    }

    /// One reply line (nil if the connection closed or timed out first).
    func line() -> String? {
        let (bytes, _) = receive { $0.contains(0x0A) }
        guard let nl = bytes.firstIndex(of: 0x0A) else { return nil }
        pending = Array(bytes[(nl + 1)...])
        return String(decoding: bytes[..<nl], as: UTF8.self)
    }

    /// Whether the server closes the connection within the timeout (reading and dropping what comes).
    func closedByPeer() -> Bool {
        receive { _ in false }.closed
    }

    /// Close with a reset (SO_LINGER 0), as a killed client's kernel would after unread data.
    func reset() {
        var l = linger(l_onoff: 1, l_linger: 0)
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, socklen_t(MemoryLayout<linger>.size))
        shutdown(fd, Int32(SHUT_RDWR))
    }
}

extension ScriptedServer {
    /// `socketmap` request text for a raw client.
    static func request(_ table: String, _ key: String) -> [UInt8] {
        netstring("\(table) \(key)")
    }
}
