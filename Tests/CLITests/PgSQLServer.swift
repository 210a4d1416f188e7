import Foundation
import Testing

/// A real PostgreSQL server for the pgsql table tests: Debian's postgresql 15 (`initdb`, then `postgres`
/// in the foreground), in a temporary directory, listening on a loopback port and a Unix-domain socket in
/// that directory, with password (md5) authentication for the `postfix` user. PostgreSQL refuses to run
/// as root, so under root it runs as `nobody` (`setpriv`), its directories owned by nobody. It is never
/// a system service, and it is killed when the value is dropped.
// @unchecked Sendable: the only mutable state, the server process, is read and written under `lock`;
// everything else is set in init and never changed.
final class PgSQLServer: @unchecked Sendable {
    static let bin = "/usr/lib/postgresql/15/bin"
    static let password = "postfix-secret"

    static var available: Bool {
        FileManager.default.isExecutableFile(atPath: "\(bin)/initdb")
            && FileManager.default.isExecutableFile(atPath: "\(bin)/pg_isready")
            && FileManager.default.isExecutableFile(atPath: "\(bin)/postgres")
            && FileManager.default.isExecutableFile(atPath: "/usr/bin/psql")
            && FileManager.default.fileExists(atPath: "/usr/lib/postfix/postfix-pgsql.so")
    }

    let dir = TempDir("pgsql")
    let port: Int
    private var process: Process?
    private let lock = NSLock()

    /// The directory of the Unix-domain socket (`.s.PGSQL.PORT`).
    var socketDir: String { dir.file("run") }
    /// `127.0.0.1:PORT`, as the `hosts` setting names it.
    var hostPort: String { "127.0.0.1:\(port)" }

    /// The prefix that runs a server program as the server's user.
    private static var asServerUser: [String] {
        getuid() == 0 ? ["/usr/bin/setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", "--"] : []
    }

    init(sql: String) throws {
        port = try Slapd.freePort()
        // The server's user must reach its directories: the temporary directory is made traversable.
        chmod(dir.path, 0o755)
        for sub in ["data", "run"] {
            try FileManager.default.createDirectory(atPath: dir.file(sub), withIntermediateDirectories: true)
            if getuid() == 0 { chown(dir.file(sub), 65534, 65534) }
        }
        dir.write("pwfile", PgSQLServer.password + "\n")
        chmod(dir.file("pwfile"), 0o644)
        let initdb = try Self.exec(Self.asServerUser + ["\(Self.bin)/initdb", "-D", dir.file("data"), "-U", "postfix",
                                                        "--auth=md5", "--pwfile=\(dir.file("pwfile"))", "-E", "UTF8",
                                                        "--locale=C.UTF-8", "--no-sync"], in: dir.url, timeout: 120)
        guard initdb.status == 0 else { throw SlapdError("initdb failed: \(initdb.stderr)") }
        try start()
        dir.write("load.sql", sql)
        let load = try run("/usr/bin/psql", ["-q", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p", String(port), "-U", "postfix",
                                             "-d", "postgres", "-f", dir.file("load.sql")],
                           in: dir.url, environment: ["PGPASSWORD": PgSQLServer.password], timeout: 120)
        guard load.status == 0 else { stop(); throw SlapdError("psql failed: \(load.stderr)") }
    }

    deinit { stop() }

    private static func exec(_ command: [String], in dir: URL, timeout: TimeInterval) throws -> Outcome {
        try run(command[0], Array(command.dropFirst()), in: dir, timeout: timeout)
    }

    /// Start the server and wait (bounded) until it accepts connections.
    func start() throws {
        let p = Process()
        let command = Self.asServerUser + ["\(Self.bin)/postgres", "-D", dir.file("data"), "-p", String(port),
                                           "-k", socketDir, "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off",
                                           "-c", "logging_collector=off", "-c", "log_min_messages=fatal"]
        p.executableURL = URL(fileURLWithPath: command[0])
        p.arguments = Array(command.dropFirst())
        p.currentDirectoryURL = dir.url
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        p.standardInput = FileHandle.nullDevice
        try p.run()
        lock.withLock { process = p }
        // Bounded wait: the listeners exist, and the server accepts sessions (not "starting up").
        for _ in 0..<600 {
            if Slapd.accepts(port) && FileManager.default.fileExists(atPath: "\(socketDir)/.s.PGSQL.\(port)"),
               let ready = try? run("\(Self.bin)/pg_isready", ["-q", "-h", "127.0.0.1", "-p", String(port), "-t", "5"],
                                    in: dir.url, timeout: 30),
               ready.status == 0 {
                return
            }
            if !p.isRunning { break }
            usleep(50_000)
        }
        stop()
        throw SlapdError("postgres did not start on port \(port)")
    }

    /// Start the server again if a test stopped it.
    func startIfStopped() throws {
        if lock.withLock({ process == nil }) { try start() }
    }

    /// The server and its backends (the children of the postmaster).
    private func processIDs() -> [pid_t] {
        guard let p = lock.withLock({ process }), p.isRunning else { return [] }
        var ids = [p.processIdentifier]
        if let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") {
            for entry in entries {
                guard let pid = Int32(entry), let stat = try? String(contentsOfFile: "/proc/\(entry)/stat", encoding: .utf8),
                      let close = stat.lastIndex(of: ")") else { continue }
                let fields = stat[stat.index(after: close)...].split(separator: " ")
                if fields.count > 2, Int32(fields[1]) == p.processIdentifier { ids.append(pid) }
            }
        }
        return ids
    }

    /// Stop the server (fast shutdown, then KILL after 10 s) and wait for it.
    func stop() {
        let children = processIDs()
        guard let p = lock.withLock({ () -> Process? in defer { process = nil }; return process }) else { return }
        guard p.isRunning else { return }
        for id in children { kill(id, SIGCONT) }
        kill(p.processIdentifier, SIGINT)
        for _ in 0..<200 where p.isRunning { usleep(50_000) }
        if p.isRunning { for id in children { kill(id, SIGKILL) } }
        p.waitUntilExit()
    }

    /// Freeze the server and its backends (SIGSTOP): the kernel still accepts connections, nothing answers.
    func pause() { for id in processIDs() { kill(id, SIGSTOP) } }

    /// Let a paused server run again.
    func resume() { for id in processIDs() { kill(id, SIGCONT) } }
}
