import Foundation
import Testing
import TestSupport
@testable import Explain

/// The cases of testdata/explain/README.md.
struct RestrictionSetTests {
    func site() throws -> TempConfig {
        let src = Paths.root.appendingPathComponent("testdata/explain")
        var files: [String: String] = [:]
        for name in try FileManager.default.contentsOfDirectory(atPath: src.path) where name != "main.cf" && name != "README.md" && name != "questions" {
            files[name] = try String(contentsOf: src.appendingPathComponent(name), encoding: .utf8)
        }
        let config = try TempConfig(mainCF: try String(contentsOf: src.appendingPathComponent("main.cf"), encoding: .utf8), files: files)
        // The aliases file is aliases(5) syntax: built with our postalias, as newaliases would.
        let r = try run(Paths.postexplain.replacingOccurrences(of: "postexplain", with: "postalias"), ["-c", config.path, "hash:\(config.path)/aliases"])
        #expect(r.status == 0, "\(r.stderr)")
        return config
    }

    func evaluate(_ overrides: [(String, String)] = [], client: String = "[203.0.113.9]", helo: String? = "mail.client.example",
                  sender: String? = "someone@client.example", recipient: String? = "alice@example.com") throws -> Explanation {
        let config = try site()
        let explainer = try config.explainer(overrides)
        var envelope = Envelope()
        (envelope.clientName, envelope.clientAddress) = try Explainer.parseClient(Array(client.utf8))
        envelope.helo = helo.map { Array($0.utf8) }
        envelope.sender = sender.map { Array($0.utf8) }
        envelope.recipient = recipient.map { Array($0.utf8) }
        return try explainer.restrictions(envelope)
    }

    @Test func openRelay() throws {
        let e = try evaluate([("smtpd_relay_restrictions", "permit_mynetworks"), ("smtpd_recipient_restrictions", "permit")])
        #expect(e.verdict == .configurationError && e.verdict.exitStatus == 4)
        #expect(e.summary.contains("specify at least one working instance of: reject_unauth_destination"))
    }

    @Test func permitBeforeRejectUnauthDestination() throws {
        // smtpd's start-up check stops at `permit`: the reject_unauth_destination after it does not count.
        let alone = try evaluate([("smtpd_relay_restrictions", "permit, reject_unauth_destination")], recipient: "x@other.example")
        #expect(alone.verdict == .configurationError)
        // With the relay list in place, the recipient list's permit is never reached for a relay attempt.
        let behind = try evaluate([("smtpd_recipient_restrictions", "permit, reject_unauth_destination")], recipient: "x@other.example")
        #expect(behind.summary == "rejected by smtpd_relay_restrictions: 554 5.7.1 <x@other.example>: Relay access denied")
        // With smtpd_relay_before_recipient_restrictions = no, the recipient list runs first and permits.
        let first = try evaluate([("smtpd_recipient_restrictions", "permit, reject_unauth_destination"),
                                  ("smtpd_relay_before_recipient_restrictions", "no")], recipient: "x@other.example")
        #expect(first.summary.hasPrefix("rejected by smtpd_relay_restrictions"))
    }

    @Test func relayDeniedAndMynetworks() throws {
        let denied = try evaluate(recipient: "someone@other.example")
        #expect(denied.summary == "rejected by smtpd_relay_restrictions: 554 5.7.1 <someone@other.example>: Relay access denied")
        let ok = try evaluate(client: "[192.0.2.5]", recipient: "someone@other.example")
        #expect(ok.summary == "permitted by smtpd_relay_restrictions: 250 2.1.5 Ok")
    }

    @Test func restrictionClass() throws {
        let rejected = try evaluate(sender: "other@partner.example")
        #expect(rejected.summary == "rejected by smtpd_sender_restrictions: 554 5.7.1 <other@partner.example>: Sender address rejected: Access denied")
        let trusted = try evaluate(sender: "trusted@partner.example")
        #expect(trusted.summary.contains("250 2.1.5 Ok"))
    }

    @Test func warnIfReject() throws {
        let e = try evaluate(helo: "x")
        #expect(e.summary.contains("250 2.1.5 Ok"))
        func texts(_ n: [ExplainNode]) -> [String] { n.flatMap { [$0.text] + texts($0.children) } }
        #expect(texts(e.nodes).contains { $0.contains("reject_warning (warn_if_reject)") && $0.contains("504 5.5.2 <x>: Helo command rejected: need fully-qualified hostname") })
    }

    @Test func cidrClientAccess() throws {
        let e = try evaluate(client: "bad.example[198.51.100.9]")
        #expect(e.summary == "rejected by smtpd_client_restrictions: 554 5.7.1 <bad.example[198.51.100.9]>: Client host rejected: Your network is blocked")
        func rules(_ n: [ExplainNode]) -> [String] { n.flatMap { ($0.rule.map { ["\($0.file):\($0.line)"] } ?? []) + rules($0.children) } }
        #expect(rules(e.nodes).contains { $0.hasSuffix("clients.cidr:2") })
    }

    @Test func rejectWithCustomText() throws {
        let e = try evaluate(sender: "a@spammer.example")
        #expect(e.summary == "rejected by smtpd_sender_restrictions: 554 5.7.1 <a@spammer.example>: Sender address rejected: No spam here")
    }

    @Test func undefinedClass() throws {
        let e = try evaluate(sender: "x@ghost.example")
        #expect(e.summary == "rejected by smtpd_sender_restrictions: 451 4.3.5 Server configuration error")
        func texts(_ n: [ExplainNode]) -> [String] { n.flatMap { [$0.text] + texts($0.children) } }
        #expect(texts(e.nodes).contains("unknown smtpd restriction: \"no_such_class\""))
    }

    @Test func unlistedRecipient() throws {
        let e = try evaluate(recipient: "nobody@example.com")
        #expect(e.summary == "rejected by smtpd_reject_unlisted_recipient: 550 5.1.1 <nobody@example.com>: Recipient address rejected: User unknown in local recipient table")
    }

    @Test func dnsIsNotEvaluated() throws {
        let e = try evaluate([("smtpd_client_restrictions", "reject_rbl_client zen.example")])
        #expect(e.verdict == .undetermined && e.verdict.exitStatus == 3)
    }

    @Test func aliasTree() throws {
        let config = try site()
        let explainer = try config.explainer()
        let staff = try explainer.lookup(role: .aliasMaps, subject: Array("staff".utf8), table: nil)
        let text = ExplainRenderer.text(staff, colour: false)
        #expect(staff.verdict == .found)
        #expect(text.contains(":include: \(config.path)/staff.list"))
        #expect(text.contains("carol  [\(config.path)/staff.list:2]"))
        #expect(text.contains("not a local address: forwarded as is"))
        #expect(text.contains("errors go to owner-staff"))
        let loop = try explainer.lookup(role: .aliasMaps, subject: Array("loopa".utf8), table: nil)
        #expect(loop.summary.contains("alias database loop for loopa"))
        let broken = try explainer.lookup(role: .aliasMaps, subject: Array("broken".utf8), table: nil)
        // local(8) looks the file up (stat) before it opens it.
        #expect(broken.summary.contains("unable to lookup :include: file \(config.path)/no-such.list: No such file or directory"))
        let tickets = try explainer.lookup(role: .aliasMaps, subject: Array("tickets".utf8), table: nil)
        #expect(ExplainRenderer.text(tickets, colour: false).contains("command: /usr/local/bin/ticket --new"))
    }

    @Test func virtualLoopAndLimits() throws {
        let config = try site()
        let loop = try config.explainer().lookup(role: .virtualAliasMaps, subject: Array("loop1@virtual.example".utf8), table: nil)
        #expect(loop.verdict == .temporaryError)
        let limited = try config.explainer([("virtual_alias_expansion_limit", "1")]).lookup(role: .virtualAliasMaps, subject: Array("info@virtual.example".utf8), table: nil)
        #expect(limited.summary.contains("unreasonable virtual_alias_maps map expansion size"))
        let selfish = try config.explainer().lookup(role: .virtualAliasMaps, subject: Array("self@virtual.example".utf8), table: nil)
        #expect(selfish.summary == "rewritten to self@virtual.example, archive@example.com")
    }

    @Test func headerChecks() throws {
        let config = try site()
        let e = try config.explainer().headerChecks(Array("Subject: cheap viagra\nX-Mailer: BulkMail 1\n\nhello\nclick here now\n".utf8), headersOnly: false)
        #expect(e.summary.contains("header_checks:1 REJECT no pills"))
        // After a REJECT cleanup runs no more header or body checks (cleanup_act() clears its filter flags).
        #expect(!e.summary.contains("header_checks:2 DISCARD"))
        #expect(!e.summary.contains("body_checks:1 REJECT body spam"))
        let later = try config.explainer().headerChecks(Array("Subject: hello\nX-Mailer: BulkMail 1\n\nhello\nclick here now\n".utf8), headersOnly: false)
        #expect(later.summary.contains("header_checks:2 DISCARD"))
        #expect(!later.summary.contains("body_checks:1 REJECT body spam"))
        let body = try config.explainer().headerChecks(Array("Subject: hello\n\nhello\nclick here now\n".utf8), headersOnly: false)
        #expect(body.summary.contains("body_checks:1 REJECT body spam"))
    }

    /// cleanup's classes: primary headers to header_checks, MIME headers and multipart part headers to
    /// mime_header_checks, headers of an attached message to nested_header_checks, body lines (boundaries
    /// included, part headers not) to body_checks.
    @Test func mimePartsGoToTheirOwnChecks() throws {
        let config = try site()
        let explainer = try config.explainer([
            ("header_checks", "regexp:{ {/^Subject:/ WARN primary subject}, {/^X-Part:/ WARN part in header_checks} }"),
            ("mime_header_checks", "regexp:{ {/^Content-Type:.*name=.*[.]exe/ WARN exe attachment}, {/^X-Part:/ WARN part header} }"),
            ("nested_header_checks", "regexp:{ {/^Subject:/ WARN nested subject} }"),
            ("body_checks", "regexp:{ {/^--BB--/ WARN closing boundary}, {/^X-Part:/ WARN part header as body} }"),
        ])
        let message = """
            Subject: outer
            MIME-Version: 1.0
            Content-Type: multipart/mixed; boundary=BB

            preamble
            --BB
            X-Part: one
            Content-Type: application/octet-stream; name=run.exe

            AAAA
            --BB
            Content-Type: message/rfc822

            Subject: inner
            From: a@example.com

            inner body
            --BB--

            """
        let e = try explainer.headerChecks(Array(message.utf8), headersOnly: false)
        #expect(e.summary.contains("WARN primary subject"), "\(e.summary)")
        #expect(e.summary.contains("WARN part header"), "\(e.summary)")
        #expect(!e.summary.contains(":2 WARN part in header_checks") && !e.summary.contains(":2 WARN part header as body"), "\(e.summary)")
        #expect(e.summary.contains("WARN exe attachment"), "\(e.summary)")
        #expect(e.summary.contains("WARN nested subject"), "\(e.summary)")
        #expect(e.summary.contains("WARN closing boundary"), "\(e.summary)")
        #expect(e.verdict == .found)
    }
}
