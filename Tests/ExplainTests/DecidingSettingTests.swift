import Foundation
import Testing
import TestSupport
@testable import Explain

/// The trace names the setting that decided (issue 20, "What users needed and did not get").
struct DecidingSettingTests {
    let site = RestrictionSetTests()

    func text(_ e: Explanation) -> String { ExplainRenderer.text(e, colour: false) }

    @Test func laterRestrictionsAreListedAsNotEvaluated() throws {
        let e = try site.evaluate([("smtpd_client_restrictions", "reject, permit_mynetworks, check_client_access cidr:/x")])
        let t = text(e)
        #expect(t.contains("not evaluated: permit_mynetworks, check_client_access cidr:/x: decided earlier by reject"), "\(t)")
        #expect(t.contains("not evaluated: smtpd_helo_restrictions, smtpd_sender_restrictions, smtpd_relay_restrictions, smtpd_recipient_restrictions: decided earlier by smtpd_client_restrictions"), "\(t)")
    }

    @Test func addressClassNamesItsParameter() throws {
        let relay = text(try site.evaluate(client: "[203.0.113.9]", recipient: "x@relay.example"))
        #expect(relay.contains("relay domain (relay_domains pattern relay.example)"), "\(relay)")
        let local = text(try site.evaluate(recipient: "alice@example.com"))
        #expect(local.contains("local domain (mydestination pattern example.com)"), "\(local)")
        let other = text(try site.evaluate(recipient: "x@other.example"))
        #expect(other.contains("default class: not in mydestination, inet_interfaces, virtual_alias_domains, virtual_mailbox_domains or relay_domains"), "\(other)")
    }

    @Test func parentDomainStyleIsNamed() throws {
        let listed = text(try site.evaluate(sender: "x@mail.spammer.example"))
        #expect(listed.contains("parent domain (smtpd_access_maps is in parent_domain_matches_subdomains: example.com matches its subdomains)"), "\(listed)")
        let unlisted = text(try site.evaluate([("parent_domain_matches_subdomains", "")], sender: "x@mail.spammer.example"))
        #expect(unlisted.contains("smtpd_access_maps is not in parent_domain_matches_subdomains: only .example.com matches subdomains"), "\(unlisted)")
        let helo = text(try site.evaluate([("smtpd_helo_restrictions", "check_helo_access texthash:${config_directory}/senders")], helo: "a.b.spammer.example"))
        #expect(helo.contains("parent domain (smtpd_access_maps is in parent_domain_matches_subdomains"), "\(helo)")
    }

    @Test func recipientDelimiterIsNamed() throws {
        let config = try site.site()
        let e = try config.explainer().lookup(role: .virtualAliasMaps, subject: Array("info+x@virtual.example".utf8), table: nil)
        #expect(text(e).contains("extension +x stripped (recipient_delimiter = +-)"), "\(text(e))")
    }

    @Test func propagateUnmatchedExtensionsIsNamed() throws {
        let config = try site.site()
        let on = try config.explainer().lookup(role: .virtualAliasMaps, subject: Array("bob+news@virtual.example".utf8), table: nil)
        #expect(text(on).contains("the unmatched extension +news is added to the result: virtual is in propagate_unmatched_extensions (= canonical, virtual)"), "\(text(on))")
        let off = try config.explainer([("propagate_unmatched_extensions", "canonical")]).lookup(role: .virtualAliasMaps, subject: Array("bob+news@virtual.example".utf8), table: nil)
        #expect(text(off).contains("the unmatched extension +news is not added to the result: virtual is not in propagate_unmatched_extensions (= canonical)"), "\(text(off))")
        #expect(off.summary == "rewritten to bob@example.com")
    }

    @Test func regexpCaseInsensitivityIsSaid() throws {
        let config = try site.site()
        let e = try config.explainer().headerChecks(Array("SUBJECT: CHEAP VIAGRA\n".utf8), headersOnly: true)
        #expect(text(e).contains("regexp patterns match case-insensitively unless the rule turns the i flag off"), "\(text(e))")
    }

    @Test func mimeHeaderChecksDefaultIsSaid() throws {
        let config = try site.site()
        let e = try config.explainer().headerChecks(Array("Content-Type: text/plain\n".utf8), headersOnly: true)
        #expect(text(e).contains("(mime_header_checks (not set in main.cf: it defaults to $header_checks))"), "\(text(e))")
    }

    @Test func masterCFOverrideIsNamed() throws {
        let config = try site.site()
        try "submission inet n - y - - smtpd\n  -o smtpd_relay_restrictions=reject_unauth_destination\n  -o relay_domains=other.example\n"
            .write(to: config.dir.appendingPathComponent("master.cf"), atomically: true, encoding: .utf8)
        let context = try ExplainContext.load(directory: config.path, service: "submission/inet", overrides: [])
        var envelope = Envelope()
        (envelope.clientName, envelope.clientAddress) = try Explainer.parseClient(Array("[203.0.113.9]".utf8))
        envelope.sender = Array("a@example.com".utf8)
        envelope.recipient = Array("x@other.example".utf8)
        let e = try Explainer(context: context).restrictions(envelope)
        let t = text(e)
        #expect(t.contains("smtpd_relay_restrictions at RCPT TO (set by -o smtpd_relay_restrictions=... in master.cf service submission/inet)"), "\(t)")
        #expect(t.contains("Relay access denied"), "\(t)")
        // relay_domains set with -o on smtpd does not make a relay domain: trivial-rewrite decides the
        // address class and reads main.cf (checked against Postfix in OracleSessionTests).
        #expect(t.contains("relay_domains (set by -o relay_domains=... in master.cf service submission/inet) does not decide the address class: trivial-rewrite does"), "\(t)")
        #expect(!t.contains("relay domain (relay_domains"), "\(t)")
    }

    @Test func virtualWording() throws {
        let config = try TempConfig(mainCF: "virtual_alias_maps = texthash:${config_directory}/virtual\n",
                                    files: ["virtual": "john@example.org john@example.org\nann@example.org ann@example.net\n"])
        let explainer = try config.explainer()
        let same = try explainer.lookup(role: .virtualAliasMaps, subject: Array("john@example.org".utf8), table: nil)
        #expect(same.verdict == .found)
        #expect(same.summary == "found: john@example.org maps to itself and is kept as it is")
        let none = try explainer.lookup(role: .virtualAliasMaps, subject: Array("bob@example.org".utf8), table: nil)
        #expect(none.summary == "not rewritten")
        #expect(!text(none).contains("final address(es)"))
        let ann = try explainer.lookup(role: .virtualAliasMaps, subject: Array("ann@example.org".utf8), table: nil)
        #expect(ann.summary == "rewritten to ann@example.net")
    }

    @Test func missingTableSaysHowToBuildIt() throws {
        let dir = Paths.root.appendingPathComponent("testdata/explain").path
        let r = try run(Paths.postexplain, ["lookup", "-c", dir, "virtual_alias_maps", "a@b.example", "--table", "hash:/nonexistent/table"])
        #expect(r.stdout.contains("fix: build the table with postmap hash:/nonexistent/table"), "\(r.stdout)")
    }

    @Test func helpListsRolesAndSuggests() throws {
        let help = try run(Paths.postexplain, ["lookup", "--help"])
        #expect(help.stdout.contains("check_recipient_access") && help.stdout.contains("virtual_alias_maps"), "\(help.stdout)")
        let typo = try run(Paths.postexplain, ["lookup", "-c", Paths.root.appendingPathComponent("testdata/explain").path, "check_sendr_access", "a@b.example"])
        #expect(typo.status == 2)
        #expect(typo.stderr.contains("(did you mean check_sender_access?)"), "\(typo.stderr)")
    }
}
