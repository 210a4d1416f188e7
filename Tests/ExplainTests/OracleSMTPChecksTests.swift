import Foundation
import Testing
import TestSupport
@testable import Explain
#if canImport(Glibc)
import Glibc
#endif

/// The smtp client's header and body checks (`postexplain headers --stage smtp`) against a private,
/// running Postfix 3.7.11: each message goes through smtpd and cleanup to an smtp transport of its own
/// (master.cf `-o smtp_header_checks=...`, chosen by transport_maps), which delivers it to an SMTP sink
/// this test runs on a loopback port. What smtp logs (warning, info, replace, prepend, strip) and what
/// reaches the sink (lines replaced, prepended, ignored or left as they were) must be what postexplain
/// reports, read through the same master.cf service with `--service`.
struct OracleSMTPChecksTests {
    static let files = [
        "smtp_header": """
            /^Subject:.*secret/ REPLACE Subject: [redacted]
            /^X-Internal:/ IGNORE
            /^X-Strip:/ STRIP stripped it
            /^X-Flag:/ WARN flagged
            /^X-Info:/ INFO informed
            /^X-Pre:/ PREPEND X-Added: before pre
            /^X-Bad:/ REJECT no can do
            /^X-BadReplace:/ REPLACE not a header
            /^Content-Type:/ WARN content type in smtp_header_checks

            """,
        "smtp_mime": "/^Content-Type:.*name=/ WARN attachment\n/^Content-Type:/ INFO mime type\n",
        "smtp_body": "/^secret body/ REPLACE public body\n/^drop me/ IGNORE\n/^warnme/ WARN body warning\n/^addbefore/ PREPEND inserted line\n/^X-Flag:/ WARN header text in the body\n",
    ]

    /// Each configuration is one smtp transport with its own -o settings.
    static let transports: [(name: String, options: [(String, String)])] = [
        ("all", [("smtp_header_checks", "regexp:@DIR@/smtp_header"), ("smtp_mime_header_checks", "regexp:@DIR@/smtp_mime"),
                 ("smtp_body_checks", "regexp:@DIR@/smtp_body")]),
        ("headeronly", [("smtp_header_checks", "regexp:@DIR@/smtp_header")]),
        ("bodyonly", [("smtp_body_checks", "regexp:@DIR@/smtp_body")]),
        ("nested", [("smtp_header_checks", "regexp:@DIR@/smtp_body"), ("smtp_nested_header_checks", "regexp:@DIR@/smtp_header")]),
    ]

    static let fixed = "Date: Mon, 7 Dec 2026 10:00:00 +0000\nMessage-Id: <m@client.example>\n"

    static func messages(_ to: String) -> [String] {
        let head = "From: sender@client.example\nTo: \(to)\n" + fixed
        return [
            head + "Subject: top secret plan\nX-Flag: 1\nX-Info: yes\n\nwarnme first\nsecret body text\nplain\nX-Flag: in body\n",
            head + "Subject: hello\nX-Internal: drop\nX-Strip: please\nX-Pre: 1\n\ndrop me now\naddbefore this\nwarnme\n",
            head + "Subject: mime\nX-Bad: 1\nX-BadReplace: 1\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=BB\n\n"
                + "--BB\nContent-Type: application/octet-stream; name=a.bin\n\nwarnme inside\n--BB\nContent-Type: text/plain\n\nsecret body inside\n--BB--\n",
            head + "Subject: nested\nMIME-Version: 1.0\nContent-Type: message/rfc822\n\nSubject: inner secret\nX-Flag: inner\nX-Internal: inner\n\nwarnme inner body\n",
        ]
    }

    /// What postexplain says smtp logs for a message, as smtp logs it ("warning: header X-Flag: 1: flagged").
    func predictedLog(_ e: Explanation) -> [String] {
        var out: [String] = []
        for node in e.nodes where node.kind == .line {
            guard let key = node.children.first(where: { $0.kind == .key }), let line = key.key,
                  let decision = node.children.first(where: { $0.kind == .decision }),
                  let value = key.children.last(where: { $0.outcome == "found" })?.value else { continue }
            let text = String(decoding: value, as: UTF8.self)
            let word = String(text.prefix(while: { $0 != " " })).uppercased()
            let args = String(text.dropFirst(word.count).drop(while: { $0 == " " }))
            guard let action = ["WARN": "warning", "INFO": "info", "REPLACE": "replace", "PREPEND": "prepend", "STRIP": "strip"][word],
                  !decision.text.contains("logs \"warning: bad"), !decision.text.contains("without text") else { continue }
            let where_ = key.text.hasPrefix("smtp_body_checks") ? "body" : "header"
            let content = String(String(decoding: line, as: UTF8.self).prefix(60))
            out.append("\(action): \(where_) \(content)" + (args.isEmpty ? "" : ": \(args)"))
        }
        return out
    }

    /// The message postexplain says the sink receives: each line as its decision leaves it.
    func predictedMessage(_ message: String, _ e: Explanation) -> [String] {
        var decisions: [String: String] = [:]
        for node in e.nodes where node.kind == .line {
            guard let key = node.children.first(where: { $0.kind == .key }), let line = key.key,
                  let decision = node.children.first(where: { $0.kind == .decision }) else { continue }
            decisions[String(decoding: line, as: UTF8.self)] = decision.text
        }
        var out: [String] = []
        for line in message.split(separator: "\n", omittingEmptySubsequences: false).dropLast().map(String.init) {
            guard let d = decisions[line] else { out.append(line); continue }
            if d.hasPrefix("IGNORE:") || d.hasPrefix("STRIP:") { continue }
            if d.hasPrefix("REPLACE: the line is sent as \""), let text = d.split(separator: "\"", omittingEmptySubsequences: false).dropFirst().first {
                out.append(String(text)); continue
            }
            if d.hasPrefix("PREPEND: \""), let text = d.split(separator: "\"", omittingEmptySubsequences: false).dropFirst().first {
                out.append(String(text))
            }
            out.append(line)
        }
        return out
    }

    /// `headers --help` names the option and the smtp client's parameters; a message runs through them
    /// from the command line, with smtp's own actions (no REJECT).
    @Test func stageOptionOnTheCommandLine() throws {
        let help = try run(Paths.postexplain, ["headers", "--help"])
        #expect(help.stdout.contains("--stage") && help.stdout.contains("smtp_header_checks") && help.stdout.contains("smtp_body_checks"), "\(help.stdout)")
        let config = try TempConfig(mainCF: "", files: ["h": "/^Subject:/ REJECT no\n/^X-Drop:/ IGNORE\n"])
        // main.cf names the table by its path, known once the directory exists.
        try "smtp_header_checks = regexp:\(config.path)/h\nheader_checks = regexp:\(config.path)/h\n".write(to: config.dir.appendingPathComponent("main.cf"), atomically: true, encoding: .utf8)
        config.settle()
        let smtp = try run(Paths.postexplain, ["headers", "-c", config.path, "--stage", "smtp", "--header", "Subject: x", "--header", "X-Drop: 1"])
        #expect(smtp.status == 0)
        #expect(smtp.stdout.contains("unsupported action REJECT in smtp_header_checks") && smtp.stdout.contains("IGNORE: the line is not sent"), "\(smtp.stdout)")
        let cleanup = try run(Paths.postexplain, ["headers", "-c", config.path, "--header", "Subject: x"])
        #expect(cleanup.stdout.contains("REJECT: the message is rejected"), "\(cleanup.stdout)")
        // lmtp has its own parameters (lmtp_header_checks is empty here).
        let lmtp = try run(Paths.postexplain, ["headers", "-c", config.path, "--stage", "lmtp", "--header", "Subject: x"])
        #expect(lmtp.status == 1 && lmtp.stdout.contains("lmtp_header_checks is empty"), "\(lmtp.stdout)")
        let bad = try run(Paths.postexplain, ["headers", "-c", config.path, "--stage", "smpt", "--header", "Subject: x"])
        #expect(bad.status == 64, "\(bad.stderr)")
    }

    @Test func smtpClientChecksAgreeWithSMTP() throws {
        guard Oracle.check(PrivatePostfix.available, "a private Postfix (/usr/sbin/postfix, run as root)") else { return }
        let sink = try SMTPSink()
        defer { sink.stop() }
        var master = ""
        var routes = ""
        for t in Self.transports {
            master += "smtp-\(t.name) unix - - n - - smtp\n"
            for (name, value) in t.options { master += "  -o \(name)=\(value)\n" }
            routes += "\(t.name).example smtp-\(t.name):[127.0.0.1]:\(sink.port)\n"
        }
        var files = Self.files
        files["transport"] = routes
        let pf = try PrivatePostfix(mainCF: """
            mydestination =
            mynetworks = 127.0.0.0/8
            transport_maps = texthash:@DIR@/transport
            smtp_tls_security_level =
            """, services: [(name: "in", options: [])], files: files, masterCF: master)
        defer { pf.stop() }
        try pf.start()
        var sent = 0
        for t in Self.transports {
            for (i, message) in Self.messages("rcpt@\(t.name).example").enumerated() {
                let reply = try pf.send(service: "in", sender: "\(t.name)-\(i)@client.example", recipient: "rcpt@\(t.name).example", message: message)
                #expect(reply.hasPrefix("250"), "\(t.name) \(i): \(reply)")
                sent += 1
            }
        }
        let deadline = Date().addingTimeInterval(60)
        while sink.messages().count < sent, Date() < deadline { usleep(200_000) }
        usleep(1_000_000)
        let received = sink.messages()
        #expect(received.count == sent, "\(pf.log())")
        let log = pf.log()
        // qmgr's from= lines give each message's queue id.
        var queueIDs: [String: String] = [:]
        for line in log.split(separator: "\n") {
            guard let r = line.range(of: #"[0-9A-F]+: from=<[^>]*>"#, options: .regularExpression) else { continue }
            let parts = line[r].split(separator: ":", maxSplits: 1)
            let sender = parts[1].dropFirst(" from=<".count).dropLast()
            queueIDs[String(sender)] = String(parts[0])
        }
        var cases = 0, loggedActions = 0, changedMessages = 0, unsupported = 0
        for t in Self.transports {
            for (i, message) in Self.messages("rcpt@\(t.name).example").enumerated() {
                let sender = "\(t.name)-\(i)@client.example"
                let e = try Explainer(context: try ExplainContext.load(directory: pf.path, service: "smtp-\(t.name)/unix", overrides: []))
                    .headerChecks(Array(message.utf8), headersOnly: false, stage: .smtp)
                let id = queueIDs[sender] ?? "?"
                let logged = log.split(separator: "\n").filter { $0.contains("/smtp[") && $0.contains(" \(id): ") }.compactMap { line -> String? in
                    guard let r = line.range(of: " \(id): ") else { return nil }
                    let rest = String(line[r.upperBound...])
                    return ["warning: ", "info: ", "replace: ", "prepend: ", "strip: "].contains(where: rest.hasPrefix) ? rest : nil
                }
                #expect(predictedLog(e) == logged, "\(t.name) message \(i)")
                loggedActions += logged.count
                // The message at the sink, without the Received: header smtpd added on top.
                guard let got = received.first(where: { $0.sender == sender }) else { Issue.record("\(sender) not received"); continue }
                var lines = got.lines
                if lines.first?.hasPrefix("Received:") == true {
                    lines.removeFirst()
                    while let l = lines.first, l.hasPrefix(" ") || l.hasPrefix("\t") { lines.removeFirst() }
                }
                #expect(predictedMessage(message, e) == lines, "\(t.name) message \(i)")
                if lines != message.split(separator: "\n", omittingEmptySubsequences: false).dropLast().map(String.init) { changedMessages += 1 }
                // An unsupported action is logged (without a queue id) and the line is sent as it was.
                for node in e.nodes where node.children.contains(where: { $0.kind == .decision && $0.text.hasPrefix("unsupported action") }) {
                    #expect(log.contains("warning: unsupported command in smtp_header_checks map: REJECT no can do"))
                    unsupported += 1
                    #expect(node.children.contains { $0.text.contains("unsupported command in smtp_header_checks map: REJECT no can do") })
                }
                cases += 1
            }
        }
        #expect(cases == 16)
        // The cases exercise what they claim: actions logged, messages changed on the way, REJECT unsupported.
        #expect(loggedActions >= 20 && changedMessages >= 8 && unsupported >= 1, "\(loggedActions) \(changedMessages) \(unsupported)")
        print("smtp checks: \(cases) messages, \(loggedActions) logged actions, \(changedMessages) changed on the way out")
        // The text names what smtp does not check: nested headers without smtp_nested_header_checks.
        let nested = try Explainer(context: try ExplainContext.load(directory: pf.path, service: "smtp-all/unix", overrides: []))
            .headerChecks(Array(Self.messages("rcpt@all.example")[3].utf8), headersOnly: false, stage: .smtp)
        #expect(ExplainRenderer.text(nested, colour: false).contains("smtp_nested_header_checks is empty: smtp does not check this header"))
    }
}

/// A tiny SMTP server on a loopback port that accepts every message and keeps it (sender and lines,
/// dot-unstuffed), each connection on a thread of its own. Nothing is relayed anywhere.
final class SMTPSink: @unchecked Sendable {
    // @unchecked Sendable: `received` is read and written only under `lock`; `listener` and `port`
    // are set in init and never change; each connection's descriptor belongs to its one thread; the
    // accept thread ends when stop() closes the listener.
    struct Message: Sendable { var sender: String; var lines: [String] }
    let port: Int
    private let listener: Int32
    private let lock = NSLock()
    private var received: [Message] = []

    init() throws {
        listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard listener >= 0 else { throw OracleError("socket") }
        var one: Int32 = 1
        setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = 0
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let fd = listener
        let ok = withUnsafeMutablePointer(to: &addr) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) == 0 && getsockname(fd, $0, &len) == 0 }
        }
        guard ok, listen(fd, 16) == 0 else { _ = Glibc.close(fd); throw OracleError("bind/listen: \(errno)") }
        port = Int(UInt16(bigEndian: addr.sin_port))
        Thread.detachNewThread { [self] in acceptLoop() }
    }

    func messages() -> [Message] { lock.withLock { received } }

    func stop() { shutdown(listener, Int32(SHUT_RDWR)); _ = Glibc.close(listener) }

    private func acceptLoop() {
        while true {
            let conn = accept(listener, nil, nil)
            if conn < 0 { if errno == EINTR { continue }; return }
            // Each connection on its own thread: a connection smtp keeps in its cache does not hold up
            // the next one.
            Thread.detachNewThread { [self] in
                serve(conn)
                _ = Glibc.close(conn)
            }
        }
    }

    private func serve(_ fd: Int32) {
        var timeout = timeval(tv_sec: 30, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var reader = SMTPLineReader(fd: fd)
        func say(_ text: String) {
            let bytes = Array((text + "\r\n").utf8)
            _ = bytes.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        }
        func line() -> String? { reader.next() }
        say("220 sink.test ESMTP")
        var sender = ""
        while let command = line() {
            let upper = command.uppercased()
            if upper.hasPrefix("EHLO") || upper.hasPrefix("HELO") {
                say("250 sink.test")
            } else if upper.hasPrefix("MAIL FROM:") {
                sender = String(command.dropFirst("MAIL FROM:".count).drop(while: { $0 == "<" }).prefix(while: { $0 != ">" }))
                say("250 2.1.0 Ok")
            } else if upper.hasPrefix("RCPT TO:") {
                say("250 2.1.5 Ok")
            } else if upper == "DATA" {
                say("354 go ahead")
                var lines: [String] = []
                while let l = line(), l != "." { lines.append(l.hasPrefix(".") ? String(l.dropFirst()) : l) }
                lock.withLock { received.append(Message(sender: sender, lines: lines)) }
                say("250 2.0.0 Ok: kept")
            } else if upper == "QUIT" {
                say("221 2.0.0 Bye")
                return
            } else {
                say("250 2.0.0 Ok")
            }
        }
    }
}
