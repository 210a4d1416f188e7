import Foundation
import Testing

/// A real OpenLDAP server for the ldap table tests: Debian's slapd, run in the foreground from a
/// temporary directory with the schema, configuration and directory in testdata/ldap, listening on
/// loopback only (ldap://, ldaps:// with a certificate made for the run, and ldapi://). It is never
/// a system service, and it is killed when the value is dropped.
final class Slapd: @unchecked Sendable {
    static var available: Bool {
        FileManager.default.isExecutableFile(atPath: "/usr/sbin/slapd")
            && FileManager.default.isExecutableFile(atPath: "/usr/sbin/slapadd")
            && FileManager.default.isExecutableFile(atPath: "/usr/bin/openssl")
            && FileManager.default.fileExists(atPath: "/usr/lib/postfix/postfix-ldap.so")
    }

    let dir = TempDir("slapd")
    let port: Int
    let tlsPort: Int
    private var process: Process?
    private let lock = NSLock()

    /// `ldap://127.0.0.1:PORT`.
    var url: String { "ldap://127.0.0.1:\(port)" }
    /// `ldaps://127.0.0.1:PORT`.
    var tlsURL: String { "ldaps://127.0.0.1:\(tlsPort)" }
    /// The Unix-domain socket URL, `/` escaped as `%2F`.
    var socketURL: String { "ldapi://" + dir.file("ldapi").replacingOccurrences(of: "/", with: "%2F") }
    /// The certificate authority that signed the server certificate.
    var caFile: String { dir.file("ca.pem") }
    /// The DN slapd gives this process when it binds with SASL EXTERNAL over ldapi://.
    static var peerDN: String { "gidNumber=\(getegid())+uidNumber=\(geteuid()),cn=peercred,cn=external,cn=auth" }

    init() throws {
        port = try Slapd.freePort()
        tlsPort = try Slapd.freePort()
        let testdata = Paths.root.appendingPathComponent("testdata/ldap").path
        try makeCertificates()
        let tls = """
            TLSCACertificateFile \(dir.file("ca.pem"))
            TLSCertificateFile \(dir.file("server.pem"))
            TLSCertificateKeyFile \(dir.file("server.key"))
            """
        let template = try String(contentsOfFile: "\(testdata)/slapd.conf.in", encoding: .utf8)
        let conf = template.replacingOccurrences(of: "@DIR@", with: dir.path)
            .replacingOccurrences(of: "@SCHEMA@", with: testdata)
            .replacingOccurrences(of: "@TLS@", with: tls)
            .replacingOccurrences(of: "@PEERDN@", with: Slapd.peerDN)
        dir.write("slapd.conf", conf)
        try FileManager.default.createDirectory(atPath: dir.file("db"), withIntermediateDirectories: true)
        let load = try run("/usr/sbin/slapadd", ["-f", dir.file("slapd.conf"), "-l", "\(testdata)/directory.ldif"],
                           in: dir.url, timeout: 60)
        guard load.status == 0 else { throw SlapdError("slapadd failed: \(load.stderr)") }
        try start()
    }

    deinit { stop() }

    /// Start slapd and wait until it accepts connections.
    func start() throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/sbin/slapd")
        p.arguments = ["-f", dir.file("slapd.conf"), "-h", "\(url)/ \(tlsURL)/ \(socketURL)/", "-d", "0"]
        p.currentDirectoryURL = dir.url
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle(forWritingAtPath: "/dev/null")
        p.standardInput = FileHandle.nullDevice
        try p.run()
        lock.withLock { process = p }
        // Bounded wait: both TCP listeners must answer.
        for _ in 0..<200 {
            if Slapd.accepts(port) && Slapd.accepts(tlsPort) { return }
            if !p.isRunning { break }
            usleep(50_000)
        }
        stop()
        throw SlapdError("slapd did not start on port \(port)")
    }

    /// Stop slapd (TERM, then KILL after 5 s) and wait for it.
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

    /// A port on 127.0.0.1 that nothing listens on right now.
    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw SlapdError("socket: \(errno)") }
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = 0
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { p -> Bool in
                bind(fd, p, len) == 0 && getsockname(fd, p, &len) == 0
            }
        }
        guard bound else { throw SlapdError("bind: \(errno)") }
        return Int(UInt16(bigEndian: addr.sin_port))
    }

    /// Whether something accepts TCP connections on 127.0.0.1:`port`.
    static func accepts(_ port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = UInt16(port).bigEndian
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        return withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
    }

    /// A certificate authority and a server certificate for 127.0.0.1 and localhost, made for this run.
    private func makeCertificates() throws {
        let ssl = "/usr/bin/openssl"
        let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        dir.write("san.ext", "subjectAltName=IP:127.0.0.1,DNS:localhost\n")
        let steps: [[String]] = [
            ["req", "-x509"] + ec + ["-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=postfix-maps test CA"],
            ["req"] + ec + ["-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=localhost"],
            ["x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
             "-out", "server.pem", "-days", "2", "-extfile", "san.ext"],
        ]
        for step in steps {
            let outcome = try run(ssl, step, in: dir.url, timeout: 60)
            guard outcome.status == 0 else { throw SlapdError("openssl \(step[0]) failed: \(outcome.stderr)") }
        }
    }
}

struct SlapdError: Error, CustomStringConvertible {
    let description: String
    init(_ text: String) { description = text }
}
