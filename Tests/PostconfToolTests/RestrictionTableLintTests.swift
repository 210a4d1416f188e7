import Foundation
@testable import PostconfTool
import PostfixConfig
import Testing

/// postconf --check reads the restriction table postexplain evaluates (PostfixConfig's SMTPDRestrictions).
@Suite struct RestrictionTableLintTests {
    private func findings(_ mainCF: String) -> [LintFinding] {
        let dir = ConfigDir(["main.cf": mainCF])
        let run = LintRun(directory: dir.path, program: "postconf")
        run.check()
        return run.findings
    }

    /// check_relay_domains is a relay check in 3.7.11 (smtpd starts): deprecated, not unknown.
    @Test func checkRelayDomainsIsAWorkingRelayCheck() {
        let found = findings("compatibility_level = 3.6\nsmtpd_relay_restrictions = check_relay_domains\n")
        let texts = found.map(\.message)
        #expect(!texts.contains { $0.contains("unknown smtpd restriction") })
        #expect(!texts.contains { $0.contains("specify at least one working instance") })
        let note = SMTPDRestrictions.byName["check_relay_domains"]?.deprecation?.note ?? "?"
        #expect(texts.contains("restriction check_relay_domains: \(note)"))
    }

    /// Every name in the table is accepted by the lint (with its argument).
    @Test func everyRestrictionOfTheTableIsKnown() {
        for restriction in SMTPDRestrictions.restrictions {
            let argument: String
            switch restriction.argument {
            case .none: argument = ""
            case .table: argument = " static:DUNNO"
            case .domain: argument = " zen.example"
            case .policy: argument = " inet:127.0.0.1:9"
            case .number: argument = " 0"
            }
            let found = findings("compatibility_level = 3.6\nsmtpd_recipient_restrictions = \(restriction.name)\(argument), reject_unauth_destination\n")
            #expect(!found.contains { $0.message.contains("unknown smtpd restriction") }, "\(restriction.name)")
        }
    }
}
