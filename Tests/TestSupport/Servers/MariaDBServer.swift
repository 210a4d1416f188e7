import Foundation
import Testing

/// A real MariaDB server for the mysql table tests: Debian's mariadbd, its data directory made by
/// `mariadb-install-db` in a temporary directory, listening on a loopback port and a Unix-domain socket
/// there, with TLS (a certificate made for the run). Grants are on: the `postfix` user has a password;
/// root (no password, over the socket) creates it and loads the test data. Under root the server runs
/// with `--user=root` (it refuses root otherwise). It is never a system service, and it is killed when
/// the value is dropped.
public final class MariaDBServer: ManagedServer {
    public static let password = "postfix-secret"

    public static var available: Bool {
        Paths.executable("/usr/sbin/mariadbd") && Paths.executable("/usr/bin/mariadb-install-db")
            && Paths.executable("/usr/bin/mariadb") && Paths.executable("/usr/bin/openssl")
            && Paths.exists("/usr/lib/postfix/postfix-mysql.so")
    }

    /// One server loaded with testdata/sql/mariadb.sql for every test that only reads it, started on first
    /// use and stopped when the test process exits. A test that stops, freezes or restarts a server
    /// makes its own.
    public static let shared = Shared<MariaDBServer>(stop: { $0.shutdown() }, make: {
        try MariaDBServer(sql: String(contentsOfFile: Paths.inRoot("testdata/sql/mariadb.sql"), encoding: .utf8), shared: true)
    })

    public let dir: TempDir
    public let port: Int
    public let daemon: Daemon
    public static let stopGrace: TimeInterval = 20
    /// The suite's shared instance: tests may not stop or freeze it.
    public let isShared: Bool

    /// The server's Unix-domain socket.
    public var socket: String { dir.file("mysqld.sock") }
    /// `127.0.0.1:PORT`.
    public var hostPort: String { "127.0.0.1:\(port)" }
    /// The certificate authority that signed the server's certificate (for 127.0.0.1 and localhost).
    public var caFile: String { dir.file("ca.pem") }

    public init(sql: String, shared: Bool = false) throws {
        isShared = shared
        let dir = TempDir("mariadb")
        self.dir = dir
        let port = try Port.free()
        self.port = port
        try Certificates.make(in: dir, otherAuthority: true)
        let user = getuid() == 0 ? ["--user=root"] : []
        let install = try run("/usr/bin/mariadb-install-db",
                              ["--no-defaults", "--datadir=\(dir.file("data"))", "--auth-root-authentication-method=normal",
                               "--skip-test-db"] + user, in: dir.url, timeout: 180)
        guard install.status == 0 else { throw TestSupportError("mariadb-install-db failed: \(install.stderr)") }
        daemon = Daemon("mariadbd", command: [
            "/usr/sbin/mariadbd", "--no-defaults", "--datadir=\(dir.file("data"))", "--port=\(port)", "--bind-address=127.0.0.1",
            "--socket=\(dir.file("mysqld.sock"))", "--pid-file=\(dir.file("mariadbd.pid"))", "--skip-log-bin",
            "--log-error=\(dir.file("error.log"))", "--innodb-buffer-pool-size=16M", "--skip-name-resolve",
            "--ssl-ca=\(dir.file("ca.pem"))", "--ssl-cert=\(dir.file("server.pem"))", "--ssl-key=\(dir.file("server.key"))",
        ] + user, in: dir.url)
        try start()
        dir.write("load.sql", sql)
        let load = try run("/usr/bin/mariadb", ["--no-defaults", "--socket=\(socket)", "-u", "root", "-e", "source \(dir.file("load.sql"))"],
                           in: dir.url, timeout: 120)
        guard load.status == 0 else { shutdown(); throw TestSupportError("mariadb failed: \(load.stderr)") }
    }

    deinit { shutdown() }

    /// Start the server and wait (bounded) until it accepts connections on its port and its socket.
    public func start() throws {
        let port = self.port, socket = self.socket
        try daemon.start(deadline: 60, extraLog: dir.file("error.log")) {
            Port.accepts(port) && FileManager.default.fileExists(atPath: socket)
        }
    }

    /// Start the server again if a test stopped it.
    public func startIfStopped() throws {
        if !daemon.started { try start() }
    }
}
