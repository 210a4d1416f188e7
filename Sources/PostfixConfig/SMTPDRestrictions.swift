import PostfixText

/// The smtpd restrictions of Postfix 3.7.11, as `generic_checks()` in `src/smtpd/smtpd_check.c` knows
/// them (names from `mail_params.h`): for each, the stage from which it has something to test (and so
/// the restriction lists where it has an effect), the argument it takes, and, for the deprecated and
/// renamed ones, what 3.7.11 still does with them. A name that is not here, not a restriction class and
/// not `type:table` is one that smtpd answers with `unknown smtpd restriction` and
/// `451 4.3.5 Server configuration error`. postexplain evaluates restrictions from this table and
/// `postconf --check` checks lists against it.
///
/// Later releases are the 3.7.11 table with per-release changes (`table(for:)`, `changes`): Postfix 3.9
/// removed `check_relay_domains`, `reject_maps_rbl` and `permit_naked_ip_address` (smtpd 3.10 still
/// knows the names, logs that support has been removed and answers `451 4.3.5 Server configuration
/// error`) and deprecated `permit_mx_backup`.
public enum SMTPDRestrictions {
    /// The SMTP stage from which a restriction has something to test, and the stage of a restriction
    /// list (`smtpd_delay_reject = no`).
    public enum Stage: Int, Comparable, Sendable {
        case client = 0, helo, sender, recipient
        /// `smtpd_data_restrictions`, `smtpd_end_of_data_restrictions`: everything of the envelope is known.
        case data, endOfData
        /// Only in `smtpd_etrn_restrictions`.
        case etrn = 9

        public static func < (a: Stage, b: Stage) -> Bool { a.rawValue < b.rawValue }

        /// What a restriction of this stage tests, for messages.
        public var subject: String {
            switch self {
            case .client: return "the client"
            case .helo: return "the HELO/EHLO name"
            case .sender: return "the sender address"
            case .recipient, .data, .endOfData: return "the recipient address"
            case .etrn: return "the ETRN domain"
            }
        }
    }

    /// What follows a restriction in the list.
    public enum Argument: Sendable {
        case none
        /// `type:table` (`check_*_access`).
        case table
        /// A DNS list domain (`reject_rbl_client zen.example`).
        case domain
        /// `transport:server` (`check_policy_service`).
        case policy
        /// A number of seconds (`sleep`).
        case number
    }

    /// What Postfix 3.7.11 does with a deprecated or renamed restriction.
    public struct Deprecation: Sendable {
        public enum Behaviour: Sendable, Equatable {
            /// An old name that smtpd evaluates exactly as this restriction, silently.
            case sameAs(String)
            /// Still implemented with its own meaning (see `note`), after `smtpdWarning`.
            case implemented
            /// Removed: smtpd logs `smtpdWarning` and answers `451 4.3.5 Server configuration error`
            /// (where the restriction has something to test); the lint reports an error.
            case removed
        }
        /// What `postconf --check` says after `restriction NAME: `.
        public let note: String
        /// What smtpd 3.7.11 logs (once per process, or each time) when it evaluates the restriction.
        public let smtpdWarning: String?
        public let behaviour: Behaviour

        public init(note: String, smtpdWarning: String?, behaviour: Behaviour) {
            self.note = note
            self.smtpdWarning = smtpdWarning
            self.behaviour = behaviour
        }
    }

    public struct Restriction: Sendable {
        /// The name, lowercase (smtpd compares names with `strcasecmp`).
        public let name: String
        /// The stage from which it has something to test.
        public let stage: Stage
        public let argument: Argument
        /// For deprecated, renamed and removed restrictions: what the release does with it.
        public let deprecation: Deprecation?
        /// Ignored unless `smtpd_sasl_auth_enable = yes` (Postfix: "ignored: no SASL support").
        public let needsSASL: Bool
        /// An unconditional final answer: what follows it never runs.
        public let final: Bool
        /// An unconditional `permit` (for the relay check).
        public let permits: Bool

        init(_ name: String, _ stage: Stage, _ argument: Argument = .none, deprecation: Deprecation? = nil,
             needsSASL: Bool = false, final: Bool = false, permits: Bool = false) {
            self.name = name
            self.stage = stage
            self.argument = argument
            self.deprecation = deprecation
            self.needsSASL = needsSASL
            self.final = final
            self.permits = permits
        }

        /// The same restriction with another deprecation (a later release's).
        func with(_ deprecation: Deprecation?) -> Restriction {
            Restriction(name, stage, argument, deprecation: deprecation, needsSASL: needsSASL, final: final, permits: permits)
        }

        /// Whether the release no longer implements it (smtpd answers with a server configuration error).
        public var isRemoved: Bool { deprecation?.behaviour == .removed }

        /// The restriction smtpd evaluates for this name: itself, or the one an old name stands for.
        public var evaluatedAs: String {
            if case .sameAs(let other)? = deprecation?.behaviour { return other }
            return name
        }

        /// Whether it can have an effect in a list of stage `list` (nil: a restriction class, which can
        /// be used anywhere): an ETRN check only in `smtpd_etrn_restrictions`, sender and recipient
        /// checks not there, and with `smtpd_delay_reject = no` nothing that tests what the list's
        /// stage does not know yet.
        public func hasEffect(in list: Stage?, delayReject: Bool) -> Bool {
            guard let list else { return true }
            if stage == .etrn { return list == .etrn }
            if list == .etrn { return stage != .sender && stage != .recipient }
            return delayReject || stage <= list
        }
    }

    /// A renamed restriction: evaluated as `new`.
    private static func renamed(_ new: String, _ note: String) -> Deprecation {
        Deprecation(note: note, smtpdWarning: nil, behaviour: .sameAs(new))
    }

    /// Every restriction, in Postfix's order of `generic_checks()`.
    public static let restrictions: [Restriction] = {
        var t: [Restriction] = []
        func add(_ r: Restriction) { t.append(r) }
        // Generic.
        add(Restriction("warn_if_reject", .client))
        add(Restriction("permit", .client, final: true, permits: true))
        add(Restriction("defer", .client, final: true))
        add(Restriction("reject", .client, final: true))
        add(Restriction("reject_unauth_pipelining", .client))
        add(Restriction("check_policy_service", .client, .policy))
        add(Restriction("defer_if_permit", .client))
        add(Restriction("defer_if_reject", .client))
        add(Restriction("sleep", .client, .number))
        add(Restriction("reject_plaintext_session", .client))
        // Client.
        add(Restriction("reject_unknown_client_hostname", .client))
        add(Restriction("reject_unknown_client", .client, deprecation: renamed("reject_unknown_client_hostname",
            "renamed to reject_unknown_client_hostname in Postfix 2.3 (reject_unknown_reverse_client_hostname is the milder check)")))
        add(Restriction("reject_unknown_reverse_client_hostname", .client))
        add(Restriction("permit_inet_interfaces", .client))
        add(Restriction("permit_mynetworks", .client))
        add(Restriction("check_client_access", .client, .table))
        add(Restriction("check_reverse_client_hostname_access", .client, .table))
        add(Restriction("reject_maps_rbl", .client, deprecation: Deprecation(
            note: "deprecated since Postfix 2.1: use \"reject_rbl_client domain-name\" instead",
            smtpdWarning: "support for restriction \"reject_maps_rbl\" will be removed from Postfix; use \"reject_rbl_client domain-name\" instead",
            behaviour: .implemented)))
        add(Restriction("reject_rbl_client", .client, .domain))
        add(Restriction("reject_rbl", .client, .domain, deprecation: renamed("reject_rbl_client", "renamed to reject_rbl_client")))
        add(Restriction("permit_dnswl_client", .client, .domain))
        add(Restriction("reject_rhsbl_client", .client, .domain))
        add(Restriction("permit_rhswl_client", .client, .domain))
        add(Restriction("reject_rhsbl_reverse_client", .client, .domain))
        add(Restriction("check_ccert_access", .client, .table))
        add(Restriction("check_sasl_access", .sender, .table, needsSASL: true))
        for name in ["check_client_ns_access", "check_client_mx_access", "check_client_a_access",
                     "check_reverse_client_hostname_ns_access", "check_reverse_client_hostname_mx_access",
                     "check_reverse_client_hostname_a_access"] {
            add(Restriction(name, .client, .table))
        }
        // HELO.
        add(Restriction("check_helo_access", .helo, .table))
        add(Restriction("reject_invalid_helo_hostname", .helo))
        add(Restriction("reject_invalid_hostname", .helo, deprecation: renamed("reject_invalid_helo_hostname",
            "renamed to reject_invalid_helo_hostname in Postfix 2.3")))
        add(Restriction("reject_unknown_helo_hostname", .helo))
        add(Restriction("reject_unknown_hostname", .helo, deprecation: renamed("reject_unknown_helo_hostname",
            "renamed to reject_unknown_helo_hostname in Postfix 2.3")))
        add(Restriction("permit_naked_ip_address", .helo, deprecation: Deprecation(
            note: "deprecated: use permit_mynetworks or permit_sasl_authenticated instead",
            smtpdWarning: "restriction permit_naked_ip_address is deprecated. Use permit_mynetworks or permit_sasl_authenticated instead",
            behaviour: .implemented)))
        add(Restriction("check_helo_ns_access", .helo, .table))
        add(Restriction("check_helo_mx_access", .helo, .table))
        add(Restriction("check_helo_a_access", .helo, .table))
        add(Restriction("reject_non_fqdn_helo_hostname", .helo))
        add(Restriction("reject_non_fqdn_hostname", .helo, deprecation: renamed("reject_non_fqdn_helo_hostname",
            "renamed to reject_non_fqdn_helo_hostname in Postfix 2.3")))
        add(Restriction("reject_rhsbl_helo", .helo, .domain))
        // Sender.
        add(Restriction("check_sender_access", .sender, .table))
        add(Restriction("reject_unknown_address", .sender, deprecation: renamed("reject_unknown_sender_domain",
            "an old name of reject_unknown_sender_domain")))
        add(Restriction("reject_unknown_sender_domain", .sender))
        add(Restriction("reject_unverified_sender", .sender))
        add(Restriction("reject_non_fqdn_sender", .sender))
        for name in ["reject_authenticated_sender_login_mismatch", "reject_known_sender_login_mismatch",
                     "reject_unauthenticated_sender_login_mismatch",
                     // smtpd's built-in restriction class.
                     "reject_sender_login_mismatch"] {
            add(Restriction(name, .sender, needsSASL: true))
        }
        add(Restriction("check_sender_ns_access", .sender, .table))
        add(Restriction("check_sender_mx_access", .sender, .table))
        add(Restriction("check_sender_a_access", .sender, .table))
        add(Restriction("reject_rhsbl_sender", .sender, .domain))
        add(Restriction("reject_unlisted_sender", .sender))
        // Recipient.
        add(Restriction("check_recipient_access", .recipient, .table))
        add(Restriction("permit_mx_backup", .recipient))
        add(Restriction("permit_auth_destination", .recipient))
        add(Restriction("reject_unauth_destination", .recipient))
        add(Restriction("defer_unauth_destination", .recipient))
        add(Restriction("check_relay_domains", .recipient, deprecation: Deprecation(
            note: "deprecated since Postfix 2.2: use reject_unauth_destination instead",
            smtpdWarning: "support for restriction \"check_relay_domains\" will be removed from Postfix; use \"reject_unauth_destination\" instead",
            behaviour: .implemented), final: true))
        // TLS and SASL happen after EHLO.
        add(Restriction("permit_sasl_authenticated", .sender))
        add(Restriction("permit_tls_all_clientcerts", .helo))
        add(Restriction("permit_tls_clientcerts", .helo))
        add(Restriction("reject_unknown_recipient_domain", .recipient))
        add(Restriction("reject_non_fqdn_recipient", .recipient))
        add(Restriction("check_recipient_ns_access", .recipient, .table))
        add(Restriction("check_recipient_mx_access", .recipient, .table))
        add(Restriction("check_recipient_a_access", .recipient, .table))
        add(Restriction("reject_rhsbl_recipient", .recipient, .domain))
        add(Restriction("check_recipient_maps", .recipient, deprecation: renamed("reject_unlisted_recipient",
            "an old name of reject_unlisted_recipient")))
        add(Restriction("reject_unlisted_recipient", .recipient))
        add(Restriction("reject_multi_recipient_bounce", .recipient))
        add(Restriction("reject_unverified_recipient", .recipient))
        // ETRN.
        add(Restriction("check_etrn_access", .etrn, .table))
        return t
    }()

    /// What each release after 3.7 changes in the table: a restriction's new deprecation, by name.
    public static func changes(for release: PostfixRelease) -> [String: Deprecation] {
        switch release {
        case .v3_7: return [:]
        case .v3_10: return changes3_9
        }
    }

    /// Postfix 3.9 (`smtpd_check.c` of 3.10.13).
    private static let changes3_9: [String: Deprecation] = [
        "check_relay_domains": Deprecation(
            note: "removed in Postfix 3.9: smtpd answers 451 4.3.5 Server configuration error; use reject_unauth_destination instead",
            smtpdWarning: "support for restriction \"check_relay_domains\" has been removed in Postfix 3.9; instead, specify \"reject_unauth_destination\"",
            behaviour: .removed),
        "reject_maps_rbl": Deprecation(
            note: "removed in Postfix 3.9: smtpd answers 451 4.3.5 Server configuration error; use \"reject_rbl_client domain-name\" instead",
            smtpdWarning: "support for restriction \"reject_maps_rbl\" has been removed in Postfix 3.9; instead, specify \"reject_rbl_client domain-name\"",
            behaviour: .removed),
        "permit_naked_ip_address": Deprecation(
            note: "removed in Postfix 3.9: smtpd answers 451 4.3.5 Server configuration error; use permit_mynetworks or permit_sasl_authenticated instead",
            smtpdWarning: "support for restriction \"permit_naked_ip_address\" has been removed in Postfix 3.9; instead, specify \"permit_mynetworks\" or \"permit_sasl_authenticated\"",
            behaviour: .removed),
        "permit_mx_backup": Deprecation(
            note: "deprecated since Postfix 3.9: list the domains in relay_domains instead",
            smtpdWarning: "support for restriction \"permit_mx_backup\" will be removed from Postfix; instead, specify \"relay_domains\"",
            behaviour: .implemented),
    ]

    /// Every restriction of `release`, in Postfix's order of `generic_checks()`.
    public static func table(for release: PostfixRelease) -> [Restriction] {
        switch release {
        case .v3_7: return restrictions
        case .v3_10: return restrictions3_10
        }
    }

    private static let restrictions3_10: [Restriction] = apply(changes(for: .v3_10))

    private static func apply(_ changes: [String: Deprecation]) -> [Restriction] {
        restrictions.map { r in changes[r.name].map { r.with($0) } ?? r }
    }

    /// Every restriction of 3.7.11 by its lowercase name.
    public static let byName: [String: Restriction] = index(restrictions)
    private static let byName3_10: [String: Restriction] = index(restrictions3_10)

    private static func index(_ table: [Restriction]) -> [String: Restriction] {
        Dictionary(table.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
    }

    /// Every restriction of `release` by its lowercase name.
    public static func byName(for release: PostfixRelease) -> [String: Restriction] {
        switch release {
        case .v3_7: return byName
        case .v3_10: return byName3_10
        }
    }

    /// The restriction `name` (any case) of 3.7.11, or nil for a name smtpd does not know.
    public static func restriction(_ name: String) -> Restriction? { byName[name.lowercased()] }

    /// The restriction `name` (any case) of `release`, or nil for a name smtpd does not know.
    public static func restriction(_ name: String, release: PostfixRelease) -> Restriction? {
        byName(for: release)[name.lowercased()]
    }

    /// The restrictions one of which `smtpd_relay_restrictions` or `smtpd_recipient_restrictions` must
    /// hold, in Postfix's order (`rcpt_required` in `smtpd_check_init`).
    public static let relayRequired = ["reject_unauth_destination", "defer_unauth_destination", "reject", "defer",
                                       "defer_if_permit", "check_relay_domains"]

    /// Postfix's list of them: `a, b, ... or z` (`fail_required`).
    public static var relayRequiredText: String {
        relayRequired.dropLast().joined(separator: ", ") + " or " + (relayRequired.last ?? "")
    }

    /// One restriction list of smtpd.
    public struct List: Sendable {
        public let name: String
        /// The stage at which it runs when `smtpd_delay_reject = no`.
        public let stage: Stage
        /// The `check_*_access` that a bare `type:table` stands for (nil: a bare table is an error).
        public let implicit: String?
        /// What smtpd calls the value it tests in replies (`Client host`, `Recipient address`, ...).
        public let replyClass: String
    }

    /// The restriction lists of smtpd, in the order of the SMTP stages.
    public static let lists: [List] = [
        List(name: "smtpd_client_restrictions", stage: .client, implicit: "check_client_access", replyClass: "Client host"),
        List(name: "smtpd_helo_restrictions", stage: .helo, implicit: "check_helo_access", replyClass: "Helo command"),
        List(name: "smtpd_sender_restrictions", stage: .sender, implicit: "check_sender_access", replyClass: "Sender address"),
        List(name: "smtpd_relay_restrictions", stage: .recipient, implicit: "check_recipient_access", replyClass: "Recipient address"),
        List(name: "smtpd_recipient_restrictions", stage: .recipient, implicit: "check_recipient_access", replyClass: "Recipient address"),
        List(name: "smtpd_data_restrictions", stage: .data, implicit: nil, replyClass: "Data command"),
        List(name: "smtpd_end_of_data_restrictions", stage: .endOfData, implicit: nil, replyClass: "End-of-data"),
        List(name: "smtpd_etrn_restrictions", stage: .etrn, implicit: "check_etrn_access", replyClass: "Etrn command"),
    ]

    /// The list named `name`.
    public static func list(_ name: String) -> List? { lists.first { $0.name == name } }

    /// The first words of access(5) values that are actions (`check_table_result`).
    public static let accessActions: Set<String> = [
        "ok", "relay", "reject", "defer", "dunno", "hangup", "info", "warn", "filter", "hold", "delay",
        "discard", "redirect", "bcc", "defer_if_permit", "defer_if_reject", "prepend",
    ]
}
