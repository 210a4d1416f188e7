import Foundation
import Testing
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

/// A private instance of Debian's Postfix 3.7.11 as the oracle: its own config_directory,
/// queue_directory and data_directory in a temporary directory, smtpd on loopback ports (one master.cf
/// service per configuration under test, each with its own `-o` settings), XCLIENT allowed for
/// 127.0.0.1, every transport `discard`, logging to a file in the directory through postlogd. It is
/// started with `postfix -c DIR start` and stopped with `postfix -c DIR stop`; the system's Postfix and
/// /etc/postfix are never touched, and no mail leaves the machine.
final class PrivatePostfix {
    let dir: URL
    var path: String { dir.path }
    /// Each service's port, by the name the caller gave it.
    private(set) var ports: [String: Int] = [:]
    private var started = false

    /// Whether this machine can run one: Debian's postfix installed and the tests running as root
    /// (master(8) must start as root). Without, the oracle tests are skipped unless REQUIRE_ORACLE=1.
    static var available: Bool {
        FileManager.default.isExecutableFile(atPath: "/usr/sbin/postfix")
            && FileManager.default.isExecutableFile(atPath: "/usr/lib/postfix/sbin/smtpd") && geteuid() == 0
    }

    /// `mainCF` is appended to the instance's base settings (may use @DIR@); `services` are the smtpd
    /// services: a name and its `-o name=value` settings (values without blanks); `files` go into the
    /// directory (may use @DIR@).
    init(mainCF: String, services: [(name: String, options: [(String, String)])], files: [String: String] = [:],
         masterCF extra: String = "") throws {
        dir = URL(fileURLWithPath: "/tmp/pfx-\(UUID().uuidString.prefix(8))")
        let fm = FileManager.default
        try fm.createDirectory(at: dir.appendingPathComponent("queue"), withIntermediateDirectories: true)
        try fm.createDirectory(at: dir.appendingPathComponent("data"), withIntermediateDirectories: true)
        _ = try run("/bin/chown", ["postfix", dir.appendingPathComponent("data").path])
        for (name, text) in files {
            try text.replacingOccurrences(of: "@DIR@", with: path).write(to: dir.appendingPathComponent(name), atomically: true, encoding: .utf8)
        }
        let base = """
            compatibility_level = 3.6
            queue_directory = \(path)/queue
            data_directory = \(path)/data
            mail_owner = postfix
            setgid_group = postdrop
            inet_interfaces = 127.0.0.1
            inet_protocols = ipv4
            maillog_file = \(path)/maillog
            maillog_file_prefixes = \(path)
            default_transport = discard
            local_transport = discard
            relay_transport = discard
            virtual_transport = discard
            lmtp_transport = discard
            fallback_transport =
            relayhost =
            smtpd_authorized_xclient_hosts = 127.0.0.1
            smtpd_error_sleep_time = 0
            smtpd_soft_error_limit = 1000
            smtpd_hard_error_limit = 1000
            smtpd_peername_lookup = no
            alias_maps =
            alias_database =
            local_recipient_maps =
            myhostname = oracle.example.com
            mydomain = example.com
            myorigin = $mydomain

            """
        try (base + mainCF.replacingOccurrences(of: "@DIR@", with: path) + "\n")
            .write(to: dir.appendingPathComponent("main.cf"), atomically: true, encoding: .utf8)
        var master = """
            pickup    unix  n       -       n       60      1       pickup
            cleanup   unix  n       -       n       -       0       cleanup
            qmgr      unix  n       -       n       300     1       qmgr
            rewrite   unix  -       -       n       -       -       trivial-rewrite
            bounce    unix  -       -       n       -       0       bounce
            defer     unix  -       -       n       -       0       bounce
            trace     unix  -       -       n       -       0       bounce
            verify    unix  -       -       n       -       1       verify
            flush     unix  n       -       n       1000    0       flush
            proxymap  unix  -       -       n       -       -       proxymap
            showq     unix  n       -       n       -       -       showq
            error     unix  -       -       n       -       -       error
            retry     unix  -       -       n       -       -       error
            discard   unix  -       -       n       -       -       discard
            anvil     unix  -       -       n       -       1       anvil
            scache    unix  -       -       n       -       1       scache
            postlog   unix-dgram n  -       n       -       1       postlogd

            """
        master += extra.replacingOccurrences(of: "@DIR@", with: path)
        for (service, port) in zip(services, try Self.freePorts(services.count)) {
            ports[service.name] = port
            master += "127.0.0.1:\(port) inet n - n - - smtpd\n"
            for (name, value) in service.options { master += "  -o \(name)=\(value.replacingOccurrences(of: "@DIR@", with: path))\n" }
        }
        try master.write(to: dir.appendingPathComponent("master.cf"), atomically: true, encoding: .utf8)
        // Hour-old files: `postfix start` and each daemon would otherwise wait about 2 s for a main.cf
        // changed within the last second or two to settle.
        for name in ["main.cf", "master.cf"] {
            try? FileManager.default.setAttributes([.modificationDate: Date().addingTimeInterval(-3600)],
                                                   ofItemAtPath: dir.appendingPathComponent(name).path)
        }
    }

    /// Start the instance and wait until every smtpd port answers (at most 30 s).
    func start() throws {
        let r = try run("/usr/sbin/postfix", ["-c", path, "start"])
        started = true
        let deadline = Date().addingTimeInterval(30)
        for port in ports.values {
            while (try? SMTPSession(port: port)) == nil {
                if Date() > deadline { throw OracleError("smtpd on port \(port) did not answer: \(r.stderr) \(log())") }
                usleep(100_000)
            }
        }
    }

    /// Stop the instance (`postfix -c DIR stop`) and remove the directory.
    func stop() {
        guard started else { return }
        _ = try? run("/usr/sbin/postfix", ["-c", path, "stop"])
        started = false
        // Wait until no smtpd port answers any more, at most 10 s, before removing the directory.
        for _ in 0..<100 where ports.values.contains(where: { (try? SMTPSession(port: $0, probe: true)) != nil }) { usleep(100_000) }
        try? FileManager.default.removeItem(at: dir)
    }

    deinit { stop() }

    func log() -> String { (try? String(contentsOf: dir.appendingPathComponent("maillog"), encoding: .utf8)) ?? "" }

    /// What smtpd answers for an envelope: the reply to MAIL FROM when that is refused, else the reply
    /// to RCPT TO. The client address and name are set with XCLIENT (`unknown` for no name), the HELO
    /// name with EHLO after it.
    func reply(service: String, client: String, name: String = "unknown", helo: String?, sender: String, recipient: String) throws -> String {
        guard let port = ports[service] else { throw OracleError("no service \(service)") }
        let smtp = try SMTPSession(port: port)
        defer { smtp.close() }
        _ = try smtp.command("EHLO oracle-test")
        let xname = name == "unknown" ? "[UNAVAILABLE]" : name
        let x = try smtp.command("XCLIENT NAME=\(xname) ADDR=\(client)")
        guard x.hasPrefix("220") else { throw OracleError("XCLIENT: \(x)") }
        if let helo { _ = try smtp.command("EHLO \(helo)") }
        let mail = try smtp.command("MAIL FROM:<\(sender)>")
        guard mail.hasPrefix("250") else { return mail }
        let rcpt = try smtp.command("RCPT TO:<\(recipient)>")
        _ = try? smtp.command("QUIT")
        return rcpt
    }

    /// Send `message` through a smtpd service (MAIL, RCPT, DATA): the reply to the end of DATA, or the
    /// refusal before it.
    func send(service: String, sender: String, recipient: String, message: String) throws -> String {
        guard let port = ports[service] else { throw OracleError("no service \(service)") }
        let smtp = try SMTPSession(port: port)
        defer { smtp.close() }
        _ = try smtp.command("EHLO mail.client.example")
        for (command, want) in [("MAIL FROM:<\(sender)>", "250"), ("RCPT TO:<\(recipient)>", "250"), ("DATA", "354")] {
            let r = try smtp.command(command)
            guard r.hasPrefix(want) else { return r }
        }
        var text = ""
        for line in message.split(separator: "\n", omittingEmptySubsequences: false).dropLast() {
            text += (line.hasPrefix(".") ? "." : "") + line + "\r\n"
        }
        let reply = try smtp.command(text + ".")
        _ = try? smtp.command("QUIT")
        return reply
    }

    /// Ports free on the loopback interface now (bound to port 0 and released).
    static func freePorts(_ count: Int) throws -> [Int] {
        var fds: [Int32] = []
        defer { fds.forEach { _ = Glibc.close($0) } }
        var out: [Int] = []
        for _ in 0..<count {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            guard fd >= 0 else { throw OracleError("socket: \(errno)") }
            fds.append(fd)
            var addr = sockaddr_in()
            addr.sin_family = sa_family_t(AF_INET)
            addr.sin_addr.s_addr = inet_addr("127.0.0.1")
            addr.sin_port = 0
            var len = socklen_t(MemoryLayout<sockaddr_in>.size)
            let ok = withUnsafeMutablePointer(to: &addr) { p in
                p.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) == 0 && getsockname(fd, $0, &len) == 0 }
            }
            guard ok else { throw OracleError("bind: \(errno)") }
            out.append(Int(UInt16(bigEndian: addr.sin_port)))
        }
        return out
    }
}

struct OracleError: Error, CustomStringConvertible {
    var description: String
    init(_ text: String) { description = text }
}

/// SMTP's lines from a socket: each without its CRLF (or bare LF); nil at end of input, an error or a
/// read timeout. Used by the client (`SMTPSession`) and the sink (`SMTPSink`).
struct SMTPLineReader {
    let fd: Int32
    private var pending: [UInt8] = []
    init(fd: Int32) { self.fd = fd }

    mutating func next() -> String? {
        while true {
            if let nl = pending.firstIndex(of: 0x0A) {
                var line = Array(pending[..<nl])
                pending.removeSubrange(...nl)
                if line.last == 0x0D { line.removeLast() }
                return String(decoding: line, as: UTF8.self)
            }
            var buffer = [UInt8](repeating: 0, count: 4096)
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            guard n > 0 else { return nil }
            pending += buffer[..<n]
        }
    }
}

/// One SMTP connection to 127.0.0.1 with a 20 s timeout on every read.
final class SMTPSession {
    private let fd: Int32
    private var lines: SMTPLineReader

    init(port: Int, probe: Bool = false) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        lines = SMTPLineReader(fd: fd)
        guard fd >= 0 else { throw OracleError("socket") }
        var timeout = timeval(tv_sec: 20, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = UInt16(port).bigEndian
        let ok = withUnsafePointer(to: &addr) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
        guard ok else { _ = Glibc.close(fd); throw OracleError("connect \(port): \(errno)") }
        if probe { return }
        let greeting = try readReply()
        guard greeting.hasPrefix("220") else { _ = Glibc.close(fd); throw OracleError("greeting: \(greeting)") }
    }

    func close() { _ = Glibc.close(fd) }

    /// Send a command; the last line of the reply.
    func command(_ line: String) throws -> String {
        let bytes = Array((line + "\r\n").utf8)
        guard bytes.withUnsafeBytes({ send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }) == bytes.count else { throw OracleError("send") }
        return try readReply()
    }

    private func readLine() throws -> String {
        guard let line = lines.next() else { throw OracleError("connection closed or timed out") }
        return line
    }

    private func readReply() throws -> String {
        while true {
            let line = try readLine()
            let chars = Array(line)
            if chars.count < 4 || chars[3] != "-" { return line }
        }
    }
}
