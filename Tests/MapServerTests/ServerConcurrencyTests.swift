import Foundation
import Glibc
import Logging
import MapServer
import Maps
import MapBackends
import Testing
import TestSupport

/// The server in this process, under many concurrent clients, run by `make tsan-test` under Thread
/// Sanitizer (the event loops, the thread pool, shared tables and the reload swap), where
/// POSTMAPD_INPROCESS_TEST=1 enables it. In the main run it is off: the server's connection tasks need
/// the cooperative thread pool, which the other suites running in parallel hold with blocking waits for
/// minutes on 2 cores (the CLI tests run the real postmapd in its own process instead).
@Suite("server concurrency", .enabled(if: ProcessInfo.processInfo.environment["POSTMAPD_INPROCESS_TEST"] == "1"))
struct ServerConcurrencyTests {
    @Test("8 clients pipelining lookups while the configuration is reloaded; every answer right")
    func concurrentClients() async throws {
        let text = """
            table_one = inline:{a=1, b=2}
            table_two = inline:{a=x}, static:fallback
            socketmap_listen = 127.0.0.1:0
            tcp_table_listen = 127.0.0.1:0=one
            lookup_threads = 4

            """
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("postmapd-\(UUID().uuidString).cf").path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let config = try ServerConfiguration.load(path)
        let logger = Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }
        let server = MapServer(config: config, configPath: path, logger: logger)
        let task = Task { try await server.run() }
        for _ in 0..<400 where !server.isReady { try await Task.sleep(for: .milliseconds(10)) }
        #expect(server.isReady)
        let ports = server.addresses.compactMap { $0.split(separator: ":").last.flatMap { Int($0) } }
        #expect(ports.count == 2)

        // Clients on threads of their own: blocking sockets must not sit on the cooperative pool the
        // server's tasks run on.
        let tally = Tally()
        for client in 0..<8 {
            let port = client % 2 == 0 ? ports[0] : ports[1]
            Thread.detachNewThread {
                var good = 0
                if let socket = try? SocketClient(port: port, timeout: 10) {
                    for round in 0..<50 {
                        if client % 2 == 0 {
                            // Pipelined: three requests, then three replies in order.
                            socket.send("5:one a,5:two a,5:two z,")
                            let replies = [socket.netstring(), socket.netstring(), socket.netstring()]
                            if replies == ["OK 1", "OK x", "OK fallback"] { good += 1 }
                        } else {
                            socket.send("get a\nget b\nget \(round)\n")
                            let replies = [socket.line(), socket.line(), socket.line()]
                            if replies == ["200 1", "200 2", "500 not found"] { good += 1 }
                        }
                    }
                }
                tally.add(good)
            }
        }
        for _ in 0..<20 {
            #expect(await server.lookup("one", [0x61]) == .found([0x31]))
            #expect(await server.reload())
        }
        for _ in 0..<3000 where tally.finished < 8 { try await Task.sleep(for: .milliseconds(10)) }
        let results = tally.good
        #expect(results == 8 * 50)
        server.beginShutdown()
        _ = try? await task.value
    }
}

/// A blocking client socket for the in-process tests.
final class Tally: @unchecked Sendable {
    // `@unchecked Sendable`: both counters are read and written with `lock` held.
    private let lock = NSLock()
    private var sum = 0
    private var done = 0
    func add(_ n: Int) { lock.withLock { sum += n; done += 1 } }
    var good: Int { lock.withLock { sum } }
    var finished: Int { lock.withLock { done } }
}
