import Foundation
import Testing
import TestSupport
@testable import Explain

/// Where postexplain disagreed with a running Postfix 3.7.11 (issue 20), each checked against
/// Postfix's source: smtpd's extract_addr() and smtpd_check_rcpt(), check_access(),
/// cleanup_map11_external() and cleanup_act().
struct PostfixAgreementTests {
    let site = RestrictionSetTests()

    @Test func barePostmasterIsAcceptedBeforeAnyRestriction() throws {
        let e = try site.evaluate([("smtpd_recipient_restrictions", "reject")], recipient: "postmaster")
        #expect(e.summary == "250 2.1.5 Ok (smtpd never checks the bare recipient postmaster)")
        let upper = try site.evaluate([("smtpd_recipient_restrictions", "reject")], recipient: "PostMaster")
        #expect(upper.summary.hasPrefix("250 2.1.5 Ok"))
        // With smtpd_delay_reject = no the sender restrictions ran at MAIL FROM, before RCPT TO.
        let early = try site.evaluate([("smtpd_delay_reject", "no"), ("smtpd_sender_restrictions", "reject")], recipient: "postmaster")
        #expect(early.summary == "rejected by smtpd_sender_restrictions: 554 5.7.1 <someone@client.example>: Sender address rejected: Access denied")
    }

    /// `alice` gets @$myorigin (example.com, a local domain) and is checked against local_recipient_maps.
    @Test func unqualifiedRecipientIsCheckedAsALocalUser() throws {
        let known = try site.evaluate(recipient: "alice")
        #expect(known.summary == "no restriction rejected: 250 2.1.5 Ok", "\(known.summary)")
        let unknown = try site.evaluate(recipient: "nobody")
        #expect(unknown.summary == "rejected by smtpd_reject_unlisted_recipient: 550 5.1.1 <nobody>: Recipient address rejected: User unknown in local recipient table", "\(unknown.summary)")
        let fqdn = try site.evaluate([("smtpd_recipient_restrictions", "reject_non_fqdn_recipient")], recipient: "alice")
        #expect(fqdn.summary == "rejected by smtpd_recipient_restrictions: 504 5.5.2 <alice>: Recipient address rejected: need fully-qualified address")
    }

    @Test func unqualifiedRecipientFromTheCommandLine() throws {
        let dir = Paths.root.appendingPathComponent("testdata/explain").path
        for recipient in ["postmaster", "alice"] {
            let r = try run(Paths.postexplain, ["restrictions", "-c", dir, "--client", "[192.0.2.5]", "--recipient", recipient])
            #expect(r.status != 2, "\(recipient): \(r.stderr)")
            #expect(!r.stderr.contains("no @domain"))
        }
    }

    @Test func accessTableThatCannotBeOpened() throws {
        let e = try site.evaluate([("smtpd_sender_restrictions", "check_sender_access hash:/nonexistent/senders")], sender: "a@b.example")
        #expect(e.summary == "rejected by smtpd_sender_restrictions: 451 4.3.5 <a@b.example>: Sender address rejected: Server configuration error", "\(e.summary)")
        let client = try site.evaluate([("smtpd_client_restrictions", "check_client_access hash:/nonexistent/clients")])
        #expect(client.summary == "rejected by smtpd_client_restrictions: 451 4.3.5 <unknown[203.0.113.9]>: Client host rejected: Server configuration error", "\(client.summary)")
    }

    /// cleanup_map11_external() gives up after 10 rounds with a warning, and the message goes on with
    /// the address it reached.
    @Test func canonicalChainOverTheNestingLimit() throws {
        var lines = ""
        for i in 0..<12 { lines += "u\(i)@example.org u\(i + 1)@example.org\n" }
        let config = try TempConfig(mainCF: "canonical_maps = texthash:${config_directory}/chain\n", files: ["chain": lines])
        let e = try config.explainer().lookup(role: .canonicalMaps, subject: Array("u0@example.org".utf8), table: nil)
        #expect(e.verdict == .found)
        #expect(e.value == Array("u10@example.org".utf8))
        #expect(e.summary == "rewritten to u10@example.org (unreasonable canonical_maps map nesting: stopped after 10 rounds)")
        #expect(e.warnings.contains("unreasonable canonical_maps map nesting for u10@example.org -- message not accepted, try again later"))
    }

    /// cleanup_act(): REJECT (and DISCARD, REDIRECT) clears cleanup's filter flags; no later header or
    /// body rule runs.
    @Test(arguments: ["REJECT spam", "DISCARD", "REDIRECT x@example.net"])
    func noChecksAfterAStoppingAction(action: String) throws {
        let config = try TempConfig(mainCF: """
            header_checks = regexp:{ {/^Subject: buy/ \(action)}, {/^X-Later:/ WARN later header} }
            body_checks = regexp:{ {/^body/ WARN body line} }
            """)
        let e = try config.explainer().headerChecks(Array("Subject: buy now\nX-Later: 1\n\nbody text\n".utf8), headersOnly: false)
        #expect(e.summary.components(separatedBy: "; ").count == 1, "\(e.summary)")
        let text = ExplainRenderer.text(e, colour: false)
        #expect(text.contains("3 later line(s) not checked: after the header_checks \(action.split(separator: " ")[0]), cleanup runs no more header or body checks"), "\(text)")
    }

    @Test func warnDoesNotStopTheChecks() throws {
        let config = try TempConfig(mainCF: """
            header_checks = regexp:{ {/^Subject: buy/ WARN first}, {/^X-Later:/ REJECT later} }
            body_checks = regexp:{ {/^body/ WARN body line} }
            """)
        let e = try config.explainer().headerChecks(Array("Subject: buy now\nX-Later: 1\n\nbody text\n".utf8), headersOnly: false)
        #expect(e.summary.hasSuffix(":1 WARN first; { {/^Subject: buy/ WARN first}, {/^X-Later:/ REJECT later} }:2 REJECT later"), "\(e.summary)")
    }

    @Test(arguments: [
        ("x@-bad-.example", false), ("x@bad..example", false), ("x@1.2.3.4", false), ("x@[1.2.3]", false),
        ("a@b.example, c@d.example", false), ("x@[192.0.2.1]", true), ("x@[IPv6:2001:db8::1]", true), ("x@under_score.example", true),
    ])
    func badRecipientAddressSyntax(recipient: String, valid: Bool) throws {
        let e = try site.evaluate(client: "[192.0.2.5]", recipient: recipient)
        if valid {
            #expect(!e.summary.contains("501"), "\(recipient): \(e.summary)")
        } else {
            #expect(e.summary == "refused at RCPT TO before any restriction: 501 5.1.3 Bad recipient address syntax", "\(recipient): \(e.summary)")
            #expect(e.verdict == .decided)
        }
    }

    @Test func badSenderAddressSyntax() throws {
        let e = try site.evaluate(client: "[192.0.2.5]", sender: "a@bad..example")
        #expect(e.summary == "refused at MAIL FROM before any restriction: 501 5.1.7 Bad sender address syntax")
    }
}
