import Testing
import PostfixConfig

@Suite struct SMTPDRestrictionsTests {
    @Test func namesAreUniqueAndLowercase() {
        let names = SMTPDRestrictions.restrictions.map(\.name)
        #expect(Set(names).count == names.count)
        #expect(names.allSatisfy { $0 == $0.lowercased() })
        #expect(SMTPDRestrictions.restriction("Check_Relay_Domains")?.name == "check_relay_domains")
        #expect(SMTPDRestrictions.restriction("check_reverse_client_access") == nil)
    }

    @Test func checkRelayDomainsAsPostfix37() throws {
        let r = try #require(SMTPDRestrictions.byName["check_relay_domains"])
        #expect(r.stage == .recipient && r.argument == .none && r.final && !r.permits)
        #expect(r.deprecation?.behaviour == .implemented)
        #expect(r.deprecation?.smtpdWarning
            == "support for restriction \"check_relay_domains\" will be removed from Postfix; use \"reject_unauth_destination\" instead")
        #expect(SMTPDRestrictions.relayRequired.contains("check_relay_domains"))
        #expect(SMTPDRestrictions.relayRequiredText.hasSuffix("defer_if_permit or check_relay_domains"))
    }

    @Test func deprecatedOnes() throws {
        for r in SMTPDRestrictions.restrictions {
            guard let d = r.deprecation else { continue }
            if case .sameAs(let other) = d.behaviour {
                // An old name stands for a current restriction with the same argument, and smtpd says nothing.
                let target = try #require(SMTPDRestrictions.byName[other], "\(r.name) -> \(other)")
                #expect(target.deprecation == nil && target.argument == r.argument && d.smtpdWarning == nil)
                #expect(r.evaluatedAs == other)
            } else {
                #expect(d.smtpdWarning != nil, "\(r.name)")
            }
        }
        #expect(SMTPDRestrictions.byName["reject_maps_rbl"]?.deprecation?.behaviour == .implemented)
        #expect(SMTPDRestrictions.byName["permit_naked_ip_address"]?.deprecation?.behaviour == .implemented)
        #expect(SMTPDRestrictions.byName["reject_rbl"]?.evaluatedAs == "reject_rbl_client")
    }

    @Test func listsAndStages() throws {
        for list in SMTPDRestrictions.lists {
            if let implicit = list.implicit { #expect(SMTPDRestrictions.byName[implicit]?.argument == .table) }
        }
        let etrn = try #require(SMTPDRestrictions.byName["check_etrn_access"])
        #expect(etrn.hasEffect(in: .etrn, delayReject: true) && !etrn.hasEffect(in: .recipient, delayReject: true))
        let rcpt = try #require(SMTPDRestrictions.byName["reject_unauth_destination"])
        #expect(rcpt.hasEffect(in: .client, delayReject: true) && !rcpt.hasEffect(in: .client, delayReject: false))
        #expect(!rcpt.hasEffect(in: .etrn, delayReject: true) && rcpt.hasEffect(in: .data, delayReject: false))
        #expect(rcpt.hasEffect(in: nil, delayReject: false))
    }
}
