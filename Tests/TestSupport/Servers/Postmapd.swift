import Foundation

/// Our map server, started from .build for one test: its configuration in a temporary directory, its
/// log (stderr) in a file there, listeners on loopback ports chosen for the run. It is stopped (TERM,
/// then KILL) when the test is done.
public final class Postmapd: Sendable {
    public let dir: TempDir
    private let daemon: Daemon
    public var logPath: String { daemon.logPath }
    /// The server's process id while it runs.
    public var pid: pid_t? { daemon.pid }

    /// Start `postmapd --config DIR/postmapd.cf` with `config` as that file, and wait until it says it
    /// is serving (bounded).
    public init(_ config: String, in dir: TempDir, arguments: [String] = []) throws {
        self.dir = dir
        dir.write("postmapd.cf", config)
        daemon = Daemon("postmapd", command: [Paths.ours("postmapd"), "--config", dir.file("postmapd.cf")] + arguments,
                        in: dir.url, log: dir.file("postmapd.log"))
        try daemon.start(deadline: 10) { daemon.log.contains("daemon started") }
    }

    deinit { stop() }

    /// What the server logged so far.
    public var log: String { daemon.log }

    /// SIGHUP: re-read the configuration. Waits (bounded) until the server logs the outcome.
    public func hangup() {
        let before = log.components(separatedBy: "reload of").count
        daemon.signal(SIGHUP)
        waitUntil(deadline: 10) { log.components(separatedBy: "reload of").count != before }
    }

    /// Send `signal` to the server.
    public func signal(_ signal: Int32) { daemon.signal(signal) }

    /// SIGTERM, then SIGKILL after 10 s; returns the exit status.
    @discardableResult
    public func stop() -> Int32 { daemon.stop(grace: 10) ?? 0 }
}
