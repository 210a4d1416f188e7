import Foundation
import Testing
import TestSupport
@testable import Explain

/// postexplain's header and body checks against a private, running Postfix 3.7.11: each message goes
/// through smtpd into a cleanup service with its own header_checks, mime_header_checks and body_checks
/// (master.cf -o), and the actions cleanup logs (warning, reject, discard: header or body, with the
/// line) and smtpd's reply at the end of DATA must be the ones postexplain reports.
struct OracleHeaderTests {
    static let files = [
        "header_checks": "/^Subject:.*viagra/ REJECT no pills\n/^X-Mailer: BulkMail/ DISCARD\n/^Subject:/ WARN subject seen\n/^X-Flag:/ WARN flagged\n",
        "mime_checks": "/^Content-Type:.*name=.*\\.exe/ REJECT exe attachment\n/^Content-Type:/ WARN content type\n",
        "body_checks": "/click here now/ REJECT body spam\n/^warnme/ WARN body warning\n",
    ]

    /// Each configuration is one cleanup service, reached through one smtpd service.
    static let configurations: [(name: String, options: [(String, String)])] = [
        ("all", [("header_checks", "regexp:@DIR@/header_checks"), ("mime_header_checks", "regexp:@DIR@/mime_checks"), ("body_checks", "regexp:@DIR@/body_checks")]),
        ("headersonly", [("header_checks", "regexp:@DIR@/header_checks"), ("body_checks", "")]),
        ("mimedefault", [("header_checks", "regexp:@DIR@/mime_checks"), ("body_checks", "regexp:@DIR@/body_checks")]),
    ]

    static let messages = [
        "Subject: hello\nX-Flag: 1\n\nwarnme please\nbody\n",
        "Subject: cheap viagra\nX-Flag: 1\n\nwarnme please\n",
        "X-Flag: 1\nX-Mailer: BulkMail 2\n\nwarnme\nclick here now\n",
        "Subject: hi\n\nclick here now\nwarnme after the reject\n",
        "Subject: mime\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=BB\n\n--BB\nContent-Type: application/octet-stream; name=run.exe\n\nAAAA\n--BB\nContent-Type: text/plain\n\nwarnme inside\n--BB--\n",
        "From: a@example.com\n\nplain body\nwarnme\n",
        // body_checks_size_limit (51200): cleanup checks a body line only when it starts below it,
        // counting from the empty line after the headers; the limit falls between lines 511 and 512.
        "Subject: long\n\n" + (0..<520).map { i in
            let head = "warnme \(i) "
            return head + String(repeating: "x", count: (i == 0 ? 98 : 99) - head.count) + "\n"
        }.joined(),
    ]

    /// The actions postexplain reports, as cleanup logs them: "warning header Subject: hello".
    func predicted(_ e: Explanation) -> [String] {
        var out: [String] = []
        for node in e.nodes where node.kind == .line {
            guard let key = node.children.first(where: { $0.kind == .key }), let line = key.key,
                  let decision = node.children.first(where: { $0.kind == .decision }) else { continue }
            let word = decision.text.prefix(while: { $0 != ":" })
            let action = ["WARN": "warning", "REJECT": "reject", "DISCARD": "discard"][String(word)]
            guard let action else { continue }
            out.append("\(action) \(key.text.hasPrefix("body_checks") ? "body" : "header") \(String(decoding: line, as: UTF8.self))")
        }
        return out
    }

    /// What cleanup logged for one sender, in order.
    func logged(_ log: String, sender: String) -> [String] {
        var out: [String] = []
        for line in log.split(separator: "\n") where line.contains("from=<\(sender)>") {
            guard let range = line.range(of: #": (warning|reject|discard): (header|body) "#, options: .regularExpression) else { continue }
            let rest = line[range.upperBound...]
            guard let from = rest.range(of: #" from [^ ]*\[127\.0\.0\.1\];"#, options: .regularExpression) else { continue }
            let what = line[range].dropFirst(2).dropLast().replacingOccurrences(of: ": ", with: " ")
            out.append("\(what) \(rest[..<from.lowerBound])")
        }
        return out
    }

    @Test func headerAndBodyChecksAgreeWithCleanup() throws {
        guard Oracle.check(PrivatePostfix.available, "a private Postfix (/usr/sbin/postfix, run as root)") else { return }
        let services = Self.configurations.map { c in (name: c.name, options: [("cleanup_service_name", "cleanup-\(c.name)")]) }
        var cleanups = ""
        for c in Self.configurations {
            cleanups += "cleanup-\(c.name) unix n - n - 0 cleanup\n"
            for (name, value) in c.options { cleanups += "  -o \(name)=\(value)\n" }
        }
        let pf = try PrivatePostfix(mainCF: "mydestination = example.com\n", services: services, files: Self.files, masterCF: cleanups)
        defer { pf.stop() }
        try pf.start()
        var replies: [String: String] = [:]
        for c in Self.configurations {
            for (i, message) in Self.messages.enumerated() {
                let sender = "\(c.name)-\(i)@client.example"
                replies[sender] = try pf.send(service: c.name, sender: sender, recipient: "alice@example.com", message: message)
            }
        }
        usleep(2_000_000)
        let log = pf.log()
        for c in Self.configurations {
            let overrides = c.options.map { ($0.0, $0.1.replacingOccurrences(of: "@DIR@", with: pf.path)) }
            for (i, message) in Self.messages.enumerated() {
                let sender = "\(c.name)-\(i)@client.example"
                let e = try Explainer(context: try ExplainContext.load(directory: pf.path, service: nil, overrides: overrides))
                    .headerChecks(Array(message.utf8), headersOnly: false)
                let ours = predicted(e)
                #expect(ours == logged(log, sender: sender), "\(c.name) message \(i)")
                let reply = replies[sender] ?? ""
                if let reject = ours.first(where: { $0.hasPrefix("reject") }) {
                    let text = ExplainRenderer.text(e, colour: false)
                    #expect(reply.hasPrefix("550 5.7.1 "), "\(c.name) message \(i): \(reply)")
                    #expect(text.contains("rejected with \"\(reply)\""), "\(c.name) message \(i): \(reject): \(reply)")
                } else {
                    #expect(reply.hasPrefix("250 2.0.0 Ok: queued"), "\(c.name) message \(i): \(reply)")
                }
            }
        }
    }
}
