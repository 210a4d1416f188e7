import Foundation
import Testing
import TestSupport
@testable import Explain

/// postexplain's restriction verdicts against a private, running Postfix 3.7.11: for every service
/// (one configuration of restriction lists, set with master.cf `-o`) and every envelope, smtpd's reply
/// over SMTP (XCLIENT for the client) must be the reply postexplain predicts with the same settings.
struct OracleRestrictionTests {
    static let files = [
        "clients.cidr": "203.0.113.66 REJECT bad client\n198.51.100.0/24 OK\n",
        "helo": "bad.helo.example REJECT no thanks\n.evil.example 550 5.7.1 evil helo\n",
        "senders": "spammer.example REJECT No spam\nfriend@ OK\npartner.example from_partners\nblocked@client.example 450 4.7.1 try later\nghost.example no_such_class\ndunno.example DUNNO\n",
        "partners": "good@partner.example OK\n",
        "recipients": "abuse@example.com OK\nsales@example.com REJECT nope\nrelay.example DEFER_IF_PERMIT maybe later\n",
        "users": "alice x\nbob x\n",
    ]

    static let mainCF = """
        mydestination = $myhostname, example.com
        mynetworks = 127.0.0.0/8 192.0.2.0/24
        relay_domains = relay.example
        recipient_delimiter = +
        smtpd_restriction_classes = from_partners
        from_partners = check_sender_access texthash:@DIR@/partners, reject
        """

    static let services: [(name: String, options: [(String, String)])] = [
        ("default", []),
        ("client", [("smtpd_client_restrictions", "check_client_access,cidr:@DIR@/clients.cidr")]),
        ("helo", [("smtpd_helo_restrictions", "reject_invalid_helo_hostname,reject_non_fqdn_helo_hostname,check_helo_access,texthash:@DIR@/helo")]),
        ("sender", [("smtpd_sender_restrictions", "reject_non_fqdn_sender,check_sender_access,texthash:@DIR@/senders")]),
        ("recipient", [("smtpd_recipient_restrictions", "reject_non_fqdn_recipient,check_recipient_access,texthash:@DIR@/recipients,permit_mynetworks,reject_unauth_destination")]),
        ("unlisted", [("local_recipient_maps", "texthash:@DIR@/users")]),
        ("brokenmap", [("smtpd_sender_restrictions", "check_sender_access,hash:@DIR@/missing")]),
        ("warn", [("smtpd_recipient_restrictions", "warn_if_reject,reject,permit_mynetworks,reject_unauth_destination")]),
        ("relaydomains", [("smtpd_relay_restrictions", "check_relay_domains")]),
        ("nodelay", [("smtpd_delay_reject", "no"), ("smtpd_sender_restrictions", "reject")]),
        ("relay", [("smtpd_relay_restrictions", "permit_mynetworks,reject_unauth_destination")]),
    ]

    struct Envelope: CustomStringConvertible {
        var client: String, name: String, helo: String?, sender: String, recipient: String
        var description: String { "\(name)[\(client)] helo=\(helo ?? "-") <\(sender)> -> <\(recipient)>" }
    }

    static let envelopes: [Envelope] = [
        Envelope(client: "203.0.113.9", name: "mail.client.example", helo: "mail.client.example", sender: "someone@client.example", recipient: "alice@example.com"),
        Envelope(client: "192.0.2.5", name: "unknown", helo: "h.example", sender: "a@b.example", recipient: "x@other.example"),
        Envelope(client: "203.0.113.9", name: "unknown", helo: "mail.client.example", sender: "a@b.example", recipient: "x@other.example"),
        Envelope(client: "203.0.113.66", name: "bad.client.example", helo: "bad.helo.example", sender: "x@spammer.example", recipient: "alice@example.com"),
        Envelope(client: "198.51.100.7", name: "ok.example", helo: "sub.evil.example", sender: "friend@anywhere.example", recipient: "bob@example.com"),
        Envelope(client: "203.0.113.9", name: "unknown", helo: "nodots", sender: "other@partner.example", recipient: "abuse@example.com"),
        Envelope(client: "203.0.113.9", name: "unknown", helo: "mail.client.example", sender: "good@partner.example", recipient: "sales+x@example.com"),
        Envelope(client: "203.0.113.9", name: "unknown", helo: "mail.client.example", sender: "a@b.example", recipient: "alice"),
        Envelope(client: "203.0.113.9", name: "unknown", helo: "mail.client.example", sender: "a@b.example", recipient: "postmaster"),
        Envelope(client: "203.0.113.9", name: "unknown", helo: "mail.client.example", sender: "a@b.example", recipient: "nobody@example.com"),
        Envelope(client: "203.0.113.9", name: "unknown", helo: "mail.client.example", sender: "a@b.example", recipient: "x@relay.example"),
        Envelope(client: "203.0.113.9", name: "unknown", helo: "mail.client.example", sender: "a@b.example", recipient: "x@-bad-.example"),
        Envelope(client: "203.0.113.9", name: "unknown", helo: "mail.client.example", sender: "blocked@client.example", recipient: "carol@example.com"),
        Envelope(client: "203.0.113.9", name: "unknown", helo: "mail.client.example", sender: "x@ghost.example", recipient: "alice@example.com"),
        Envelope(client: "203.0.113.9", name: "unknown", helo: "[192.0.2.1]", sender: "nofqdn@localhost", recipient: "alice@example.com"),
        Envelope(client: "203.0.113.9", name: "unknown", helo: "bad_helo!", sender: "", recipient: "bob@example.com"),
        Envelope(client: "203.0.113.9", name: "relay.example", helo: "relay.example", sender: "x@dunno.example", recipient: "x@elsewhere.example"),
    ]

    /// postexplain's reply for one envelope under one service's settings.
    func predicted(_ pf: PrivatePostfix, _ options: [(String, String)], _ env: Envelope) throws -> String {
        let overrides = options.map { ($0.0, $0.1.replacingOccurrences(of: "@DIR@", with: pf.path)) }
        let explainer = Explainer(context: try ExplainContext.load(directory: pf.path, service: nil, overrides: overrides))
        var e = Explain.Envelope()
        (e.clientName, e.clientAddress) = try Explainer.parseClient(Array("\(env.name)[\(env.client)]".utf8))
        e.helo = env.helo.map { Array($0.utf8) }
        e.sender = Array(env.sender.utf8)
        e.recipient = Array(env.recipient.utf8)
        let explanation = try explainer.restrictions(e)
        return explanation.value.map { String(decoding: $0, as: UTF8.self) } ?? "(\(explanation.verdict.rawValue): \(explanation.summary))"
    }

    @Test func restrictionsAgreeWithSmtpd() throws {
        guard Oracle.check(PrivatePostfix.available, "a private Postfix (/usr/sbin/postfix, run as root)") else { return }
        let pf = try PrivatePostfix(mainCF: Self.mainCF, services: Self.services, files: Self.files)
        defer { pf.stop() }
        try pf.start()
        var compared = 0
        for service in Self.services {
            for env in Self.envelopes {
                let theirs = try pf.reply(service: service.name, client: env.client, name: env.name, helo: env.helo, sender: env.sender, recipient: env.recipient)
                let ours = try predicted(pf, service.options, env)
                #expect(ours == theirs, "service \(service.name): \(env)")
                compared += 1
            }
        }
        #expect(compared == Self.services.count * Self.envelopes.count)
    }
}
