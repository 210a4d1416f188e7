import Foundation
import Testing

/// A real PostgreSQL server for the pgsql table tests: Debian's postgresql 15 (`initdb`, then `postgres`
/// in the foreground), in a temporary directory, listening on a loopback port and a Unix-domain socket in
/// that directory, with password (md5) authentication for the `postfix` user. PostgreSQL refuses to run
/// as root, so under root it runs as `nobody` (`setpriv`), its directories owned by nobody. It is never
/// a system service, and it is killed when the value is dropped.
public final class PgSQLServer: ManagedServer {
    public static let bin = "/usr/lib/postgresql/15/bin"
    public static let password = "postfix-secret"

    public static var available: Bool {
        Paths.executable("\(bin)/initdb") && Paths.executable("\(bin)/pg_isready") && Paths.executable("\(bin)/postgres")
            && Paths.executable("/usr/bin/psql") && Paths.exists("/usr/lib/postfix/postfix-pgsql.so")
    }

    /// One server loaded with testdata/sql/pgsql.sql for every test that only reads it, started on first
    /// use and stopped when the test process exits. A test that stops, freezes or restarts a server
    /// makes its own.
    public static let shared = Shared<PgSQLServer>(stop: { $0.shutdown() }, make: {
        try PgSQLServer(sql: String(contentsOfFile: Paths.inRoot("testdata/sql/pgsql.sql"), encoding: .utf8), shared: true)
    })

    public let dir: TempDir
    public let port: Int
    public let daemon: Daemon
    public static let stopSignal: Int32 = SIGINT
    public static let stopGrace: TimeInterval = 10
    public static let freezesTree = true
    /// The suite's shared instance: tests may not stop or freeze it.
    public let isShared: Bool

    /// The directory of the Unix-domain socket (`.s.PGSQL.PORT`).
    public var socketDir: String { dir.file("run") }
    /// `127.0.0.1:PORT`, as the `hosts` setting names it.
    public var hostPort: String { "127.0.0.1:\(port)" }

    /// The prefix that runs a server program as the server's user.
    private static var asServerUser: [String] {
        getuid() == 0 ? ["/usr/bin/setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", "--"] : []
    }

    public init(sql: String, shared: Bool = false) throws {
        isShared = shared
        let dir = TempDir("pgsql")
        self.dir = dir
        let port = try Port.free()
        self.port = port
        // The server's user must reach its directories: the temporary directory is made traversable.
        chmod(dir.path, 0o755)
        for sub in ["data", "run"] {
            try FileManager.default.createDirectory(atPath: dir.file(sub), withIntermediateDirectories: true)
            if getuid() == 0 { chown(dir.file(sub), 65534, 65534) }
        }
        dir.write("pwfile", PgSQLServer.password + "\n")
        chmod(dir.file("pwfile"), 0o644)
        let initdb = Self.asServerUser + ["\(Self.bin)/initdb", "-D", dir.file("data"), "-U", "postfix", "--auth=md5",
                                          "--pwfile=\(dir.file("pwfile"))", "-E", "UTF8", "--locale=C.UTF-8", "--no-sync"]
        let made = try run(initdb[0], Array(initdb.dropFirst()), in: dir.url, timeout: 120)
        guard made.status == 0 else { throw TestSupportError("initdb failed: \(made.stderr)") }
        daemon = Daemon("postgres", command: Self.asServerUser + [
            "\(Self.bin)/postgres", "-D", dir.file("data"), "-p", String(port), "-k", dir.file("run"),
            "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "logging_collector=off",
            "-c", "log_min_messages=fatal"], in: dir.url)
        try start()
        dir.write("load.sql", sql)
        let load = try run("/usr/bin/psql", ["-q", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p", String(port), "-U", "postfix",
                                             "-d", "postgres", "-f", dir.file("load.sql")],
                           in: dir.url, environment: ["PGPASSWORD": PgSQLServer.password], timeout: 120)
        guard load.status == 0 else { shutdown(); throw TestSupportError("psql failed: \(load.stderr)") }
    }

    deinit { shutdown() }

    /// Start the server and wait (bounded) until it accepts connections: the listeners exist, and the
    /// server accepts sessions (not "starting up").
    public func start() throws {
        let port = self.port, socketDir = self.socketDir, dir = self.dir
        try daemon.start(deadline: 30) {
            Port.accepts(port) && FileManager.default.fileExists(atPath: "\(socketDir)/.s.PGSQL.\(port)")
                && (try? run("\(Self.bin)/pg_isready", ["-q", "-h", "127.0.0.1", "-p", String(port), "-t", "5"],
                             in: dir.url, timeout: 30))?.status == 0
        }
    }

    /// Start the server again if a test stopped it.
    public func startIfStopped() throws {
        if !daemon.started { try start() }
    }
}
