import Foundation
import Testing
import TestSupport
@testable import Explain
import PostfixConfig
import PostfixText

/// postexplain evaluates restrictions from PostfixConfig's SMTPDRestrictions, the table postconf --check
/// reads too: every name in it is a restriction (never "unknown", 451), and the deprecated ones do what
/// Postfix 3.7.11 does.
struct ExplainRestrictionTableTests {
    func site() throws -> TempConfig {
        try TempConfig(mainCF: """
            compatibility_level = 3.6
            mydestination = example.com
            relay_domains = relay.example
            inet_protocols = ipv4
            mynetworks = 127.0.0.0/8
            smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
            smtpd_recipient_restrictions =
            smtpd_reject_unlisted_recipient = no

            """)
    }

    func evaluate(_ config: TempConfig, _ overrides: [(String, String)], client: String = "[203.0.113.9]",
                  helo: String = "mail.client.example", recipient: String = "someone@other.example",
                  release: PostfixRelease = .v3_7) throws -> Explanation {
        let explainer = try config.explainer(overrides)
        explainer.context.release = release
        var envelope = Envelope()
        (envelope.clientName, envelope.clientAddress) = try Explainer.parseClient(Array(client.utf8))
        envelope.helo = Array(helo.utf8)
        envelope.sender = Array("someone@client.example".utf8)
        envelope.recipient = Array(recipient.utf8)
        return try explainer.restrictions(envelope)
    }

    func texts(_ n: [ExplainNode]) -> [String] { n.flatMap { [$0.text] + texts($0.children) } }

    @Test func everyRestrictionOfTheTableIsKnown() throws {
        let config = try site()
        for restriction in SMTPDRestrictions.restrictions where restriction.name != "warn_if_reject" {
            let argument: String
            switch restriction.argument {
            case .none: argument = ""
            case .table: argument = " static:DUNNO"
            case .domain: argument = " zen.example"
            case .policy: argument = " inet:127.0.0.1:9"
            case .number: argument = " 0"
            }
            let e = try evaluate(config, [("smtpd_recipient_restrictions", "\(restriction.name)\(argument), reject_unauth_destination")])
            let all = texts(e.nodes)
            #expect(!all.contains { $0.contains("unknown smtpd restriction") }, "\(restriction.name): \(all)")
            #expect(!e.summary.contains("Server configuration error"), "\(restriction.name): \(e.summary)")
        }
    }

    @Test func checkRelayDomainsAsPostfix37() throws {
        let config = try site()
        let relay = [("smtpd_relay_restrictions", "check_relay_domains")]
        // Neither the client nor the destination is in relay_domains (or local): Relay access denied.
        let denied = try evaluate(config, relay)
        #expect(denied.summary == "rejected by smtpd_relay_restrictions: 554 5.7.1 <someone@other.example>: Recipient address rejected: Relay access denied")
        #expect(texts(denied.nodes).contains(SMTPDRestrictions.byName["check_relay_domains"]?.deprecation?.smtpdWarning ?? "?"))
        // relay_domains_reject_code applies.
        let coded = try evaluate(config, relay + [("relay_domains_reject_code", "550")])
        #expect(coded.summary.hasPrefix("rejected by smtpd_relay_restrictions: 550 5.7.1 "))
        // An authorized destination (local, relay) is permitted.
        let local = try evaluate(config, relay, recipient: "someone@example.com")
        #expect(local.summary == "permitted by smtpd_relay_restrictions: 250 2.1.5 Ok")
        let relayed = try evaluate(config, relay, recipient: "someone@relay.example")
        #expect(relayed.summary == "permitted by smtpd_relay_restrictions: 250 2.1.5 Ok")
        // A client whose name matches relay_domains may relay anywhere.
        let client = try evaluate(config, relay, client: "relay.example[203.0.113.9]")
        #expect(client.summary == "permitted by smtpd_relay_restrictions: 250 2.1.5 Ok")
        // What follows it is ignored, with smtpd's warning.
        let after = try evaluate(config, [("smtpd_relay_restrictions", "check_relay_domains, permit")])
        #expect(after.summary.hasPrefix("rejected by smtpd_relay_restrictions: 554 5.7.1"))
        #expect(texts(after.nodes).contains("restriction `permit' after `check_relay_domains' is ignored"))
    }

    @Test func otherDeprecatedRestrictions() throws {
        let config = try site()
        // reject_maps_rbl with the default (empty) maps_rbl_domains queries nothing.
        let rbl = try evaluate(config, [("smtpd_client_restrictions", "reject_maps_rbl")])
        #expect(rbl.summary.hasPrefix("rejected by smtpd_relay_restrictions"))
        // permit_naked_ip_address: an IPv4 HELO name is permitted, a malformed one rejected.
        let naked = [("smtpd_helo_restrictions", "permit_naked_ip_address, reject")]
        #expect(try evaluate(config, naked, helo: "192.0.2.1").summary.hasPrefix("rejected by smtpd_relay_restrictions"))
        #expect(try evaluate(config, naked, helo: "192.0.2.300").summary
            == "rejected by smtpd_helo_restrictions: 501 5.5.2 <192.0.2.300>: Helo command rejected: invalid ip address")
        #expect(try evaluate(config, naked, helo: "helo.example").summary
            == "rejected by smtpd_helo_restrictions: 554 5.7.1 <helo.example>: Helo command rejected: Access denied")
    }

    @Test("Postfix 3.10: check_relay_domains, reject_maps_rbl and permit_naked_ip_address answer 451 4.3.5 Server configuration error")
    func removedRestrictionsOnPostfix310() throws {
        let config = try site()
        let error = "451 4.3.5 Server configuration error"
        let relay = try evaluate(config, [("smtpd_relay_restrictions", "check_relay_domains")], release: .v3_10)
        #expect(relay.summary == "rejected by smtpd_relay_restrictions: \(error)")
        #expect(texts(relay.nodes).contains("support for restriction \"check_relay_domains\" has been removed in Postfix 3.9; instead, specify \"reject_unauth_destination\""))
        // Even where 3.7 permits (a local destination).
        let local = try evaluate(config, [("smtpd_relay_restrictions", "check_relay_domains")], recipient: "someone@example.com", release: .v3_10)
        #expect(local.summary == "rejected by smtpd_relay_restrictions: \(error)")
        let rbl = try evaluate(config, [("smtpd_client_restrictions", "reject_maps_rbl")], release: .v3_10)
        #expect(rbl.summary == "rejected by smtpd_client_restrictions: \(error)")
        #expect(texts(rbl.nodes).contains("support for restriction \"reject_maps_rbl\" has been removed in Postfix 3.9; instead, specify \"reject_rbl_client domain-name\""))
        let naked = try evaluate(config, [("smtpd_helo_restrictions", "permit_naked_ip_address, permit")], helo: "192.0.2.1", release: .v3_10)
        #expect(naked.summary == "rejected by smtpd_helo_restrictions: \(error)")
        // The same configurations on 3.7 are still evaluated (checkRelayDomainsAsPostfix37, otherDeprecatedRestrictions).
        #expect(try evaluate(config, [("smtpd_relay_restrictions", "check_relay_domains")], recipient: "someone@example.com").summary
            == "permitted by smtpd_relay_restrictions: 250 2.1.5 Ok")
        #expect(SMTPDRestrictions.table(for: .v3_10).filter(\.isRemoved).map(\.name).sorted()
            == ["check_relay_domains", "permit_naked_ip_address", "reject_maps_rbl"])
        #expect(SMTPDRestrictions.table(for: .v3_7).allSatisfy { !$0.isRemoved })
    }

    @Test("postexplain follows MAPS_POSTFIX_RELEASE: 3.10's smtpd answers check_relay_domains with 451, 3.7's evaluates it")
    func postexplainFollowsTheRelease() throws {
        let config = try TempConfig(mainCF: "compatibility_level = 3.6\nmydestination = example.com\nsmtpd_relay_restrictions = check_relay_domains\n")
        let args = ["restrictions", "-c", config.path, "--client", "mail.example.net[192.0.2.1]", "--sender", "a@example.net",
                    "--recipient", "b@other.example"]
        let new = try run(Paths.postexplain, args, in: config.dir, environment: ["MAPS_POSTFIX_RELEASE": "3.10"])
        #expect(new.out.contains("result: decided: rejected by smtpd_relay_restrictions: 451 4.3.5 Server configuration error"), "\(new)")
        #expect(new.out.contains("has been removed in Postfix 3.9"), "\(new)")
        let old = try run(Paths.postexplain, args, in: config.dir, environment: ["MAPS_POSTFIX_RELEASE": "3.7"])
        #expect(old.out.contains("result: decided: rejected by smtpd_relay_restrictions: 554 5.7.1 <b@other.example>: Recipient address rejected: Relay access denied"), "\(old)")
    }

    @Test func explainHonoursLMDBMapSize() throws {
        let config = try TempConfig(mainCF: "lmdb_map_size = 33554432\n")
        let context = try ExplainContext.load(directory: config.path, service: nil, overrides: [])
        #expect(context.request.settings.lmdbMapSize == 33_554_432)
    }
}
