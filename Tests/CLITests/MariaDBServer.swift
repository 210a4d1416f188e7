import Foundation
import Testing

/// A real MariaDB server for the mysql table tests: Debian's mariadbd, its data directory made by
/// `mariadb-install-db` in a temporary directory, listening on a loopback port and a Unix-domain socket
/// there, with TLS (a certificate made for the run). Grants are on: the `postfix` user has a password; root (no password, over the socket) creates
/// it and loads the test data. Under root the server runs with `--user=root` (it refuses root
/// otherwise). It is never a system service, and it is killed when the value is dropped.
// @unchecked Sendable: the only mutable state, the server process, is read and written under `lock`;
// everything else is set in init and never changed.
final class MariaDBServer: @unchecked Sendable {
    static let password = "postfix-secret"

    static var available: Bool {
        FileManager.default.isExecutableFile(atPath: "/usr/sbin/mariadbd")
            && FileManager.default.isExecutableFile(atPath: "/usr/bin/mariadb-install-db")
            && FileManager.default.isExecutableFile(atPath: "/usr/bin/mariadb")
            && FileManager.default.isExecutableFile(atPath: "/usr/bin/openssl")
            && FileManager.default.fileExists(atPath: "/usr/lib/postfix/postfix-mysql.so")
    }

    let dir = TempDir("mariadb")
    let port: Int
    private var process: Process?
    private let lock = NSLock()

    /// The server's Unix-domain socket.
    var socket: String { dir.file("mysqld.sock") }
    /// `127.0.0.1:PORT`.
    var hostPort: String { "127.0.0.1:\(port)" }

    init(sql: String) throws {
        port = try Slapd.freePort()
        try makeCertificates()
        let user = getuid() == 0 ? ["--user=root"] : []
        let install = try run("/usr/bin/mariadb-install-db",
                              ["--no-defaults", "--datadir=\(dir.file("data"))", "--auth-root-authentication-method=normal",
                               "--skip-test-db"] + user, in: dir.url, timeout: 180)
        guard install.status == 0 else { throw SlapdError("mariadb-install-db failed: \(install.stderr)") }
        try start()
        dir.write("load.sql", sql)
        let load = try run("/usr/bin/mariadb", ["--no-defaults", "--socket=\(socket)", "-u", "root", "-e", "source \(dir.file("load.sql"))"],
                           in: dir.url, timeout: 120)
        guard load.status == 0 else { stop(); throw SlapdError("mariadb failed: \(load.stderr)") }
    }

    deinit { stop() }

    /// Start the server and wait (bounded) until it accepts connections.
    func start() throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/sbin/mariadbd")
        p.arguments = ["--no-defaults", "--datadir=\(dir.file("data"))", "--port=\(port)", "--bind-address=127.0.0.1",
                       "--socket=\(socket)", "--pid-file=\(dir.file("mariadbd.pid"))", "--skip-log-bin",
                       "--log-error=\(dir.file("error.log"))",
                       "--innodb-buffer-pool-size=16M", "--skip-name-resolve", "--ssl-ca=\(caFile)",
                       "--ssl-cert=\(dir.file("server.pem"))", "--ssl-key=\(dir.file("server.key"))"] + (getuid() == 0 ? ["--user=root"] : [])
        p.currentDirectoryURL = dir.url
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        p.standardInput = FileHandle.nullDevice
        try p.run()
        lock.withLock { process = p }
        for _ in 0..<1200 {
            if Slapd.accepts(port) && FileManager.default.fileExists(atPath: socket) { return }
            if !p.isRunning { break }
            usleep(50_000)
        }
        stop()
        let log = (try? String(contentsOfFile: dir.file("error.log"), encoding: .utf8)) ?? ""
        throw SlapdError("mariadbd did not start on port \(port): \(log.suffix(2000))")
    }

    /// Start the server again if a test stopped it.
    func startIfStopped() throws {
        if lock.withLock({ process == nil }) { try start() }
    }

    /// Stop the server (TERM, then KILL after 20 s) and wait for it.
    func stop() {
        guard let p = lock.withLock({ () -> Process? in defer { process = nil }; return process }) else { return }
        guard p.isRunning else { return }
        kill(p.processIdentifier, SIGCONT)
        p.terminate()
        for _ in 0..<400 where p.isRunning { usleep(50_000) }
        if p.isRunning { kill(p.processIdentifier, SIGKILL) }
        p.waitUntilExit()
    }

    /// The certificate authority that signed the server's certificate (for 127.0.0.1 and localhost).
    var caFile: String { dir.file("ca.pem") }

    /// A certificate authority and a server certificate, made for this run.
    private func makeCertificates() throws {
        let ssl = "/usr/bin/openssl"
        let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        dir.write("san.ext", "subjectAltName=IP:127.0.0.1,DNS:localhost\n")
        let steps: [[String]] = [
            ["req", "-x509"] + ec + ["-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=postfix-maps test CA"],
            ["req"] + ec + ["-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=localhost"],
            ["x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
             "-out", "server.pem", "-days", "2", "-extfile", "san.ext"],
            // A second authority that signed nothing here: verification against it must fail.
            ["req", "-x509"] + ec + ["-keyout", "other.key", "-out", "other.pem", "-days", "2", "-subj", "/CN=another CA"],
        ]
        for step in steps {
            let outcome = try run(ssl, step, in: dir.url, timeout: 60)
            guard outcome.status == 0 else { throw SlapdError("openssl \(step[0]) failed: \(outcome.stderr)") }
        }
    }

    /// Freeze the server (SIGSTOP; one process, its connections are threads).
    func pause() {
        if let p = lock.withLock({ process }) { kill(p.processIdentifier, SIGSTOP) }
    }

    /// Let a paused server run again.
    func resume() {
        if let p = lock.withLock({ process }) { kill(p.processIdentifier, SIGCONT) }
    }
}
