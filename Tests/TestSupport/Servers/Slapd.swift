import Foundation
import Testing

/// A real OpenLDAP server for the ldap table tests: Debian's slapd, run in the foreground from a
/// temporary directory with the schema, configuration and directory in testdata/ldap, listening on
/// loopback only (ldap://, ldaps:// with a certificate made for the run, and ldapi://). It is never
/// a system service, and it is killed when the value is dropped.
public final class Slapd: ManagedServer {
    public static var available: Bool {
        Paths.executable("/usr/sbin/slapd") && Paths.executable("/usr/sbin/slapadd") && Paths.executable("/usr/bin/openssl")
            && Paths.exists("/usr/lib/postfix/postfix-ldap.so")
    }

    /// One server for every test that only reads the directory (testdata/ldap/directory.ldif), started on
    /// first use and stopped when the test process exits. A test that stops, freezes or restarts a
    /// server makes its own with `Slapd()`.
    public static let shared = Shared<Slapd>(stop: { $0.shutdown() }, make: { try Slapd(shared: true) })

    public let dir: TempDir
    public let port: Int
    public let tlsPort: Int
    public let daemon: Daemon
    public static let stopGrace: TimeInterval = 5
    /// The suite's shared instance: tests may not stop or freeze it.
    public let isShared: Bool

    /// `ldap://127.0.0.1:PORT`.
    public var url: String { "ldap://127.0.0.1:\(port)" }
    /// `ldaps://127.0.0.1:PORT`.
    public var tlsURL: String { "ldaps://127.0.0.1:\(tlsPort)" }
    /// The Unix-domain socket URL, `/` escaped as `%2F`.
    public var socketURL: String { "ldapi://" + dir.file("ldapi").replacingOccurrences(of: "/", with: "%2F") }
    /// The certificate authority that signed the server certificate.
    public var caFile: String { dir.file("ca.pem") }
    /// The DN slapd gives this process when it binds with SASL EXTERNAL over ldapi://.
    public static var peerDN: String { "gidNumber=\(getegid())+uidNumber=\(geteuid()),cn=peercred,cn=external,cn=auth" }

    public init(shared: Bool = false) throws {
        isShared = shared
        let dir = TempDir("slapd")
        self.dir = dir
        let port = try Port.free(), tlsPort = try Port.free()
        self.port = port
        self.tlsPort = tlsPort
        let testdata = Paths.inRoot("testdata/ldap")
        try Certificates.make(in: dir)
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
        guard load.status == 0 else { throw TestSupportError("slapadd failed: \(load.stderr)") }
        daemon = Daemon("slapd", command: ["/usr/sbin/slapd", "-f", dir.file("slapd.conf"), "-h",
                                           "ldap://127.0.0.1:\(port)/ ldaps://127.0.0.1:\(tlsPort)/ "
                                               + "ldapi://\(dir.file("ldapi").replacingOccurrences(of: "/", with: "%2F"))/",
                                           "-d", "0"], in: dir.url)
        try start()
    }

    deinit { shutdown() }

    /// Start slapd and wait until both TCP listeners accept connections.
    public func start() throws {
        try daemon.start(deadline: 10) { Port.accepts(port) && Port.accepts(tlsPort) }
    }

    /// Start the server unless it is running.
    public func start(ifStopped: Bool) throws {
        if !Port.accepts(port) { try start() }
    }

    /// A port on 127.0.0.1 that nothing listens on right now.
    public static func freePort() throws -> Int { try Port.free() }

    /// Whether something accepts TCP connections on 127.0.0.1:`port`.
    public static func accepts(_ port: Int) -> Bool { Port.accepts(port) }
}

/// A certificate authority and a server certificate for 127.0.0.1 and localhost, made for a run with
/// openssl: ca.pem, server.pem and server.key in the directory (and, with `otherAuthority`, other.pem:
/// an authority that signed nothing here).
public enum Certificates {
    public static func make(in dir: TempDir, otherAuthority: Bool = false) throws {
        let ssl = "/usr/bin/openssl"
        let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        dir.write("san.ext", "subjectAltName=IP:127.0.0.1,DNS:localhost\n")
        var steps: [[String]] = [
            ["req", "-x509"] + ec + ["-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=postfix-maps test CA"],
            ["req"] + ec + ["-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=localhost"],
            ["x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
             "-out", "server.pem", "-days", "2", "-extfile", "san.ext"],
        ]
        if otherAuthority {
            steps.append(["req", "-x509"] + ec + ["-keyout", "other.key", "-out", "other.pem", "-days", "2", "-subj", "/CN=another CA"])
        }
        for step in steps {
            let outcome = try run(ssl, step, in: dir.url, timeout: 60)
            guard outcome.status == 0 else { throw TestSupportError("openssl \(step[0]) failed: \(outcome.stderr)") }
        }
    }
}
