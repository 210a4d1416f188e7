import Foundation
import Testing
import TestSupport
@testable import Explain

/// Two things against a private, running Postfix 3.7.11 over SMTP (XCLIENT for the client):
/// - smtpd_delay_reject = no: what smtpd answers after an early reject (the reject instead of the
///   greeting and `503 5.7.0 Error: access denied for name[addr]` for every later command; after a
///   rejected MAIL FROM, `503 5.5.1 Error: need MAIL command`), as postexplain's trace says;
/// - virtual alias domains: an address of a virtual_alias_domains domain without a virtual_alias_maps
///   entry, a domain also in mydestination (trivial-rewrite's warning, mydestination wins), and a
///   virtual_alias_maps entry for a domain that is not a virtual alias domain.
struct OracleSessionTests {
    static let files = [
        "clients.cidr": "203.0.113.66 REJECT bad client\n203.0.113.77 421 go away\n203.0.113.88 450 try later\n",
        "senders": "spammer.example REJECT No spam\n",
        "helo": "bad.helo.example REJECT no thanks\n",
        "virtual": "known@virtual.example x@example.com\nbob@other.example bob@example.com\nknown@both.example x@example.com\n",
        "virtual-domains": "virtual.example anything\nknown@virtual.example x@example.com\nbob@other.example bob@example.com\n",
        "users": "alice x\n",
    ]

    // MARK: smtpd_delay_reject = no

    static let nodelay: [(String, String)] = [
        ("smtpd_delay_reject", "no"),
        ("smtpd_client_restrictions", "check_client_access,cidr:@DIR@/clients.cidr"),
        ("smtpd_helo_restrictions", "check_helo_access,texthash:@DIR@/helo"),
        ("smtpd_sender_restrictions", "check_sender_access,texthash:@DIR@/senders"),
    ]

    struct Session: CustomStringConvertible {
        var client: String, helo: String, sender: String
        var description: String { "[\(client)] helo=\(helo) <\(sender)>" }
    }

    static let sessions = [
        Session(client: "203.0.113.66", helo: "mail.client.example", sender: "a@client.example"),
        Session(client: "203.0.113.77", helo: "mail.client.example", sender: "a@client.example"),
        Session(client: "203.0.113.88", helo: "mail.client.example", sender: "a@client.example"),
        Session(client: "203.0.113.9", helo: "mail.client.example", sender: "x@spammer.example"),
        Session(client: "203.0.113.9", helo: "bad.helo.example", sender: "a@client.example"),
        Session(client: "203.0.113.9", helo: "mail.client.example", sender: "a@client.example"),
    ]

    /// The quoted texts of a node: `sends "A" ... with "B"` gives [A, B].
    func quoted(_ text: String) -> [String] {
        text.split(separator: "\"", omittingEmptySubsequences: false).enumerated().filter { $0.offset % 2 == 1 }.map { String($0.element) }
    }

    @Test func delayRejectNoAnswersLaterCommands() throws {
        guard Oracle.check(PrivatePostfix.available, "a private Postfix (/usr/sbin/postfix, run as root)") else { return }
        let pf = try PrivatePostfix(mainCF: "mydestination = example.com\n", services: [(name: "nodelay", options: Self.nodelay)], files: Self.files)
        defer { pf.stop() }
        try pf.start()
        guard let port = pf.ports["nodelay"] else { Issue.record("no port"); return }
        let overrides = Self.nodelay.map { ($0.0, $0.1.replacingOccurrences(of: "@DIR@", with: pf.path)) }
        var compared = 0
        for s in Self.sessions {
            // smtpd's replies: XCLIENT (the greeting again, or the connect-time reject), EHLO, MAIL, RCPT.
            let smtp = try SMTPSession(port: port)
            defer { smtp.close() }
            _ = try smtp.command("EHLO oracle-test")
            var replies: [String] = []
            for command in ["XCLIENT NAME=[UNAVAILABLE] ADDR=\(s.client)", "EHLO \(s.helo)", "MAIL FROM:<\(s.sender)>", "RCPT TO:<rcpt@example.com>"] {
                replies.append((try? smtp.command(command)) ?? "(disconnected)")
            }
            var envelope = Envelope()
            (envelope.clientName, envelope.clientAddress) = try Explainer.parseClient(Array("unknown[\(s.client)]".utf8))
            envelope.helo = Array(s.helo.utf8)
            envelope.sender = Array(s.sender.utf8)
            envelope.recipient = Array("rcpt@example.com".utf8)
            let e = try Explainer(context: try ExplainContext.load(directory: pf.path, service: nil, overrides: overrides)).restrictions(envelope)
            let reply = e.value.map { String(decoding: $0, as: UTF8.self) } ?? ""
            let after = e.nodes.first { $0.text.hasPrefix("smtpd_delay_reject = no:") }
            let text = ExplainRenderer.text(e, colour: false)
            switch s.client {
            case "203.0.113.66", "203.0.113.88":
                // The reject instead of the greeting, then 503 5.7.0 for EHLO, MAIL FROM and RCPT TO.
                #expect(replies[0] == reply, "\(s): \(replies)")
                let q = quoted(after?.text ?? "")
                #expect(q.count == 2 && q[0] == replies[0] && replies[1...].allSatisfy { $0 == q[1] }, "\(s): \(replies) \(after?.text ?? "no node")")
                #expect(replies[1].hasPrefix("503 5.7.0 Error: access denied for unknown[\(s.client)]"))
            case "203.0.113.77":
                #expect(replies[0] == reply && reply.hasPrefix("421"), "\(s): \(replies)")
                #expect(replies[1] == "(disconnected)" && after?.text.contains("disconnects") == true, "\(s): \(replies)")
            default:
                if s.sender.hasSuffix("spammer.example") {
                    #expect(replies[2] == reply, "\(s): \(replies)")
                    #expect(quoted(after?.text ?? "") == [replies[2], replies[3]], "\(s): \(replies) \(after?.text ?? "no node")")
                    #expect(replies[3] == "503 5.5.1 Error: need MAIL command")
                } else if s.helo == "bad.helo.example" {
                    #expect(replies[1] == reply && replies[2].hasPrefix("250"), "\(s): \(replies)")
                    #expect(quoted(after?.text ?? "").first == replies[1], "\(s): \(text)")
                } else {
                    #expect(after == nil && replies[3] == reply, "\(s): \(replies) \(text)")
                }
            }
            compared += 1
        }
        #expect(compared == Self.sessions.count)
    }

    // MARK: virtual alias domains

    static let virtualMain = """
        mydestination = $myhostname, example.com, both.example
        mynetworks = 127.0.0.0/8 192.0.2.0/24
        virtual_alias_domains = virtual.example, both.example
        virtual_alias_maps = texthash:@DIR@/virtual
        """

    static let virtualServices: [(name: String, options: [(String, String)])] = [
        ("plain", []),
        ("localusers", [("local_recipient_maps", "texthash:@DIR@/users")]),
        ("code", [("unknown_virtual_alias_reject_code", "450")]),
        ("showno", [("show_user_unknown_table_name", "no")]),
        // virtual_alias_domains left to its default, $virtual_alias_maps: a domain is a virtual alias
        // domain only when the table has the domain itself as a key.
        ("bytable", [("virtual_alias_domains", "$virtual_alias_maps"), ("virtual_alias_maps", "texthash:@DIR@/virtual-domains")]),
        ("bytablenodomain", [("virtual_alias_domains", "$virtual_alias_maps")]),
        // An address-class parameter set with -o on the smtpd service: trivial-rewrite decides the
        // class with main.cf's value, so other.example does not become a relay domain.
        ("relayo", [("relay_domains", "other.example")]),
    ]

    static let virtualCases: [(client: String, recipient: String)] = [
        ("203.0.113.9", "unknown@virtual.example"),
        ("203.0.113.9", "known@virtual.example"),
        ("203.0.113.9", "anyone@both.example"),
        ("203.0.113.9", "alice@both.example"),
        ("203.0.113.9", "known@both.example"),
        ("203.0.113.9", "bob@other.example"),
        ("192.0.2.5", "bob@other.example"),
        ("192.0.2.5", "unknown@virtual.example"),
    ]

    @Test func virtualAliasDomainsAgreeWithSmtpd() throws {
        guard Oracle.check(PrivatePostfix.available, "a private Postfix (/usr/sbin/postfix, run as root)") else { return }
        let pf = try PrivatePostfix(mainCF: Self.virtualMain, services: Self.virtualServices, files: Self.files)
        defer { pf.stop() }
        try pf.start()
        var compared = 0
        for service in Self.virtualServices {
            // The settings reach ours as they reach smtpd: through the master.cf service (--service).
            let smtpd = "127.0.0.1:\(pf.ports[service.name] ?? 0)/inet"
            for c in Self.virtualCases {
                let theirs = try pf.reply(service: service.name, client: c.client, helo: "mail.client.example", sender: "a@client.example", recipient: c.recipient)
                var envelope = Envelope()
                (envelope.clientName, envelope.clientAddress) = try Explainer.parseClient(Array("unknown[\(c.client)]".utf8))
                envelope.helo = Array("mail.client.example".utf8)
                envelope.sender = Array("a@client.example".utf8)
                envelope.recipient = Array(c.recipient.utf8)
                let e = try Explainer(context: try ExplainContext.load(directory: pf.path, service: smtpd, overrides: [])).restrictions(envelope)
                let ours = e.value.map { String(decoding: $0, as: UTF8.self) } ?? "(\(e.verdict.rawValue): \(e.summary))"
                let text = ExplainRenderer.text(e, colour: false)
                #expect(ours == theirs, "service \(service.name): [\(c.client)] -> <\(c.recipient)>: \(text)")
                if service.name == "relayo" || service.name.hasPrefix("bytable"), c.client == "203.0.113.9", c.recipient == "bob@other.example" {
                    let parameter = service.name == "relayo" ? "relay_domains" : "virtual_alias_domains"
                    #expect(text.contains("\(parameter) (set by -o \(parameter)=... in master.cf service \(smtpd)) does not decide the address class"), "\(text)")
                }
                // The deciding setting is named.
                if c.recipient.hasSuffix("@both.example") {
                    // trivial-rewrite's warning, from main.cf's lists (a service's -o does not reach it).
                    #expect(text.contains("do not list domain both.example in BOTH mydestination and virtual_alias_domains"), "\(service.name) \(c): \(text)")
                    #expect(text.contains("local domain (mydestination"), "\(text)")
                }
                if c.recipient == "unknown@virtual.example", theirs.contains("User unknown") {
                    #expect(text.contains("virtual alias domain (virtual_alias_domains"), "\(text)")
                }
                if c.recipient == "bob@other.example" {
                    #expect(text.contains("is in virtual_alias_maps, but other.example is not a virtual alias domain"), "\(service.name): \(text)")
                }
                compared += 1
            }
        }
        #expect(compared == Self.virtualServices.count * Self.virtualCases.count)
        // trivial-rewrite logged the BOTH warning postexplain shows.
        #expect(pf.log().contains("do not list domain both.example in BOTH mydestination and virtual_alias_domains"))
    }
}
