import Foundation
import Testing
import TestSupport

/// A loopback server for the tcp and socketmap client tests: it accepts connections on 127.0.0.1 (or a
/// UNIX socket), cuts each request out of the stream with `frame`, and answers with `answer`.
final class ScriptedServer: @unchecked Sendable {
    // Proof: `listener`, `port`, `path` are set in init and then only read; `stopped` and the connection
    // count sit behind `lock`.
    enum Action {
        case reply([UInt8])
        /// Close the connection without answering.
        case close
    }

    let port: UInt16
    let path: String?
    private let listener: Int32
    private let lock = NSLock()
    private var stopped = false
    private var accepted = 0
    private let frame: @Sendable (inout [UInt8]) -> [UInt8]?
    private let answer: @Sendable (_ request: [UInt8], _ connection: Int) -> Action

    /// Requests end with a newline (tcp_table).
    static let lines: @Sendable (inout [UInt8]) -> [UInt8]? = { buffer in
        guard let nl = buffer.firstIndex(of: 0x0A) else { return nil }
        let line = Array(buffer[..<nl])
        buffer.removeFirst(nl + 1)
        return line
    }

    /// Requests are netstrings (socketmap); the payload is returned.
    static let netstrings: @Sendable (inout [UInt8]) -> [UInt8]? = { buffer in
        guard let colon = buffer.firstIndex(of: 0x3A), let length = Int(String(decoding: buffer[..<colon], as: UTF8.self)),
              buffer.count >= colon + 1 + length + 1 else { return nil }
        let payload = Array(buffer[(colon + 1)..<(colon + 1 + length)])
        buffer.removeFirst(colon + 2 + length)
        return payload
    }

    static func netstring(_ text: String) -> [UInt8] {
        Array("\(text.utf8.count):\(text),".utf8)
    }

    init(unixPath: String? = nil, frame: @escaping @Sendable (inout [UInt8]) -> [UInt8]?,
         answer: @escaping @Sendable (_ request: [UInt8], _ connection: Int) -> Action) throws {
        self.frame = frame
        self.answer = answer
        self.path = unixPath
        let listener: Int32
        if let unixPath {
            unlink(unixPath)
            listener = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
            var address = sockaddr_un()
            address.sun_family = sa_family_t(AF_UNIX)
            withUnsafeMutableBytes(of: &address.sun_path) { raw in
                for (i, b) in unixPath.utf8.enumerated() { raw[i] = b }
            }
            let rc = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
            }
            guard rc == 0 else { throw POSIXError(.EADDRINUSE) }
            self.port = 0
        } else {
            listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var one: Int32 = 1
            setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            address.sin_port = 0
            let rc = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            guard rc == 0 else { throw POSIXError(.EADDRINUSE) }
            var bound = sockaddr_in()
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            _ = withUnsafeMutablePointer(to: &bound) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(listener, $0, &length) }
            }
            self.port = UInt16(bigEndian: bound.sin_port)
        }
        self.listener = listener
        listen(listener, 16)
        let thread = Thread { [self] in acceptLoop() }
        thread.start()
    }

    /// `host:port` of the listener.
    var address: String { "127.0.0.1:\(port)" }

    private var isStopped: Bool { lock.lock(); defer { lock.unlock() }; return stopped }

    private func acceptLoop() {
        while !isStopped {
            var p = pollfd(fd: listener, events: Int16(POLLIN), revents: 0)
            guard poll(&p, 1, 100) > 0 else { continue }
            let fd = accept(listener, nil, nil)
            guard fd >= 0 else { continue }
            lock.lock()
            accepted += 1
            let number = accepted
            lock.unlock()
            let thread = Thread { [self] in serve(fd, number) }
            thread.start()
        }
    }

    private func serve(_ fd: Int32, _ number: Int) {
        defer { close(fd) }
        var buffer: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        let deadline = Date().addingTimeInterval(60)
        while !isStopped, Date() < deadline {
            while let request = frame(&buffer) {
                switch answer(request, number) {
                case .close: return
                case .reply(let bytes):
                    _ = bytes.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                }
            }
            var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&p, 1, 100) > 0 else { continue }
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n <= 0 { return }
            buffer.append(contentsOf: chunk[0..<n])
        }
    }

    /// Stop accepting; idempotent (a second close could hit a descriptor reused by another server).
    func stop() {
        lock.lock()
        let first = !stopped
        stopped = true
        lock.unlock()
        guard first else { return }
        close(listener)
        if let path { unlink(path) }
    }

    deinit { stop() }
}

extension ScriptedServer {
    /// `socketmap` request text for a raw client.
    static func request(_ table: String, _ key: String) -> [UInt8] {
        netstring("\(table) \(key)")
    }
}
