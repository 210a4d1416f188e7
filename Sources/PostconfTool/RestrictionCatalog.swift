/// The smtpd restrictions of Postfix 3.7.11, as `generic_checks()` in `src/smtpd/smtpd_check.c` knows
/// them (names from `mail_params.h`), with what `postconf --check` needs to know about each: the stage
/// from which the information it tests exists, the argument it takes, and whether Postfix deprecated or
/// renamed it. A name that is not here, not a restriction class and not `type:table` is one that smtpd
/// answers with `unknown smtpd restriction` and `451 4.3.5 Server configuration error`.
enum RestrictionCatalog {
    /// The SMTP stage from which a restriction has something to test.
    enum Stage: Int, Comparable {
        case connect = 0, helo, sender, recipient
        /// Only in `smtpd_etrn_restrictions`.
        case etrn = 9

        static func < (a: Stage, b: Stage) -> Bool { a.rawValue < b.rawValue }

        /// What the restriction tests, for messages.
        var subject: String {
            switch self {
            case .connect: return "the client"
            case .helo: return "the HELO/EHLO name"
            case .sender: return "the sender address"
            case .recipient: return "the recipient address"
            case .etrn: return "the ETRN domain"
            }
        }
    }

    /// What follows a restriction in the list.
    enum Argument {
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

    struct Restriction {
        let stage: Stage
        let argument: Argument
        /// For deprecated and renamed restrictions: the text after the name.
        let replacement: String?
        /// Ignored unless `smtpd_sasl_auth_enable = yes` (Postfix: "ignored: no SASL support").
        let needsSASL: Bool
        /// An unconditional final answer: what follows it never runs.
        let final: Bool
        /// An unconditional `permit` (for the relay check).
        let permits: Bool

        init(_ stage: Stage, _ argument: Argument = .none, replacement: String? = nil, needsSASL: Bool = false,
             final: Bool = false, permits: Bool = false) {
            self.stage = stage
            self.argument = argument
            self.replacement = replacement
            self.needsSASL = needsSASL
            self.final = final
            self.permits = permits
        }
    }

    /// Every restriction name, lowercase (smtpd compares them with `strcasecmp`).
    static let all: [String: Restriction] = {
        var t: [String: Restriction] = [:]
        // Generic.
        t["warn_if_reject"] = Restriction(.connect)
        t["permit"] = Restriction(.connect, final: true, permits: true)
        t["defer"] = Restriction(.connect, final: true)
        t["reject"] = Restriction(.connect, final: true)
        t["reject_unauth_pipelining"] = Restriction(.connect)
        t["check_policy_service"] = Restriction(.connect, .policy)
        t["defer_if_permit"] = Restriction(.connect)
        t["defer_if_reject"] = Restriction(.connect)
        t["sleep"] = Restriction(.connect, .number)
        t["reject_plaintext_session"] = Restriction(.connect)
        // Client.
        t["reject_unknown_client_hostname"] = Restriction(.connect)
        t["reject_unknown_client"] = Restriction(.connect, replacement:
            "renamed to reject_unknown_client_hostname in Postfix 2.3 (reject_unknown_reverse_client_hostname is the milder check)")
        t["reject_unknown_reverse_client_hostname"] = Restriction(.connect)
        t["permit_inet_interfaces"] = Restriction(.connect)
        t["permit_mynetworks"] = Restriction(.connect)
        for name in ["check_client_access", "check_reverse_client_hostname_access", "check_ccert_access",
                     "check_client_ns_access", "check_client_mx_access", "check_client_a_access",
                     "check_reverse_client_hostname_ns_access", "check_reverse_client_hostname_mx_access",
                     "check_reverse_client_hostname_a_access"] {
            t[name] = Restriction(.connect, .table)
        }
        t["check_sasl_access"] = Restriction(.sender, .table, needsSASL: true)
        t["reject_maps_rbl"] = Restriction(.connect, replacement:
            "deprecated since Postfix 2.1: use \"reject_rbl_client domain-name\" instead")
        t["reject_rbl_client"] = Restriction(.connect, .domain)
        t["reject_rbl"] = Restriction(.connect, .domain, replacement: "renamed to reject_rbl_client")
        t["permit_dnswl_client"] = Restriction(.connect, .domain)
        t["reject_rhsbl_client"] = Restriction(.connect, .domain)
        t["permit_rhswl_client"] = Restriction(.connect, .domain)
        t["reject_rhsbl_reverse_client"] = Restriction(.connect, .domain)
        // TLS and SASL happen after EHLO.
        t["permit_tls_clientcerts"] = Restriction(.helo)
        t["permit_tls_all_clientcerts"] = Restriction(.helo)
        t["permit_sasl_authenticated"] = Restriction(.sender)
        // HELO.
        t["check_helo_access"] = Restriction(.helo, .table)
        t["check_helo_ns_access"] = Restriction(.helo, .table)
        t["check_helo_mx_access"] = Restriction(.helo, .table)
        t["check_helo_a_access"] = Restriction(.helo, .table)
        t["reject_invalid_helo_hostname"] = Restriction(.helo)
        t["reject_invalid_hostname"] = Restriction(.helo, replacement: "renamed to reject_invalid_helo_hostname in Postfix 2.3")
        t["reject_unknown_helo_hostname"] = Restriction(.helo)
        t["reject_unknown_hostname"] = Restriction(.helo, replacement: "renamed to reject_unknown_helo_hostname in Postfix 2.3")
        t["reject_non_fqdn_helo_hostname"] = Restriction(.helo)
        t["reject_non_fqdn_hostname"] = Restriction(.helo, replacement: "renamed to reject_non_fqdn_helo_hostname in Postfix 2.3")
        t["permit_naked_ip_address"] = Restriction(.helo, replacement:
            "deprecated: use permit_mynetworks or permit_sasl_authenticated instead")
        t["reject_rhsbl_helo"] = Restriction(.helo, .domain)
        // Sender.
        for name in ["check_sender_access", "check_sender_ns_access", "check_sender_mx_access", "check_sender_a_access"] {
            t[name] = Restriction(.sender, .table)
        }
        t["reject_unknown_sender_domain"] = Restriction(.sender)
        t["reject_unknown_address"] = Restriction(.sender, replacement: "an old name of reject_unknown_sender_domain")
        t["reject_unverified_sender"] = Restriction(.sender)
        t["reject_non_fqdn_sender"] = Restriction(.sender)
        t["reject_rhsbl_sender"] = Restriction(.sender, .domain)
        t["reject_unlisted_sender"] = Restriction(.sender)
        for name in ["reject_authenticated_sender_login_mismatch", "reject_known_sender_login_mismatch",
                     "reject_unauthenticated_sender_login_mismatch", "reject_sender_login_mismatch"] {
            t[name] = Restriction(.sender, needsSASL: true)
        }
        // Recipient.
        for name in ["check_recipient_access", "check_recipient_ns_access", "check_recipient_mx_access",
                     "check_recipient_a_access"] {
            t[name] = Restriction(.recipient, .table)
        }
        t["permit_mx_backup"] = Restriction(.recipient)
        t["permit_auth_destination"] = Restriction(.recipient)
        t["reject_unauth_destination"] = Restriction(.recipient)
        t["defer_unauth_destination"] = Restriction(.recipient)
        t["check_relay_domains"] = Restriction(.recipient, replacement:
            "deprecated since Postfix 2.2: use reject_unauth_destination instead", final: true)
        t["reject_unknown_recipient_domain"] = Restriction(.recipient)
        t["reject_non_fqdn_recipient"] = Restriction(.recipient)
        t["reject_rhsbl_recipient"] = Restriction(.recipient, .domain)
        t["reject_unlisted_recipient"] = Restriction(.recipient)
        t["check_recipient_maps"] = Restriction(.recipient, replacement: "an old name of reject_unlisted_recipient")
        t["reject_multi_recipient_bounce"] = Restriction(.recipient)
        t["reject_unverified_recipient"] = Restriction(.recipient)
        // ETRN.
        t["check_etrn_access"] = Restriction(.etrn, .table)
        return t
    }()

    /// The restrictions one of which `smtpd_relay_restrictions` or `smtpd_recipient_restrictions` must
    /// hold, in Postfix's order (`rcpt_required` in `smtpd_check_init`).
    static let relayRequired = ["reject_unauth_destination", "defer_unauth_destination", "reject", "defer",
                                "defer_if_permit", "check_relay_domains"]

    /// Postfix's list of them: `a, b, ... or z` (`fail_required`).
    static var relayRequiredText: String {
        relayRequired.dropLast().joined(separator: ", ") + " or " + (relayRequired.last ?? "")
    }

    /// The restriction lists of smtpd, in the order of the SMTP stages, with the stage at which each runs
    /// when `smtpd_delay_reject = no` and the `check_*_access` that a bare `type:table` stands for.
    static let lists: [(name: String, stage: Stage, implicit: String?)] = [
        ("smtpd_client_restrictions", .connect, "check_client_access"),
        ("smtpd_helo_restrictions", .helo, "check_helo_access"),
        ("smtpd_sender_restrictions", .sender, "check_sender_access"),
        ("smtpd_relay_restrictions", .recipient, "check_recipient_access"),
        ("smtpd_recipient_restrictions", .recipient, "check_recipient_access"),
        ("smtpd_data_restrictions", .recipient, nil),
        ("smtpd_end_of_data_restrictions", .recipient, nil),
        ("smtpd_etrn_restrictions", .etrn, "check_etrn_access"),
    ]

    /// The first words of access(5) values that are actions (`check_table_result`).
    static let accessActions: Set<String> = [
        "ok", "relay", "reject", "defer", "dunno", "hangup", "info", "warn", "filter", "hold", "delay",
        "discard", "redirect", "bcc", "defer_if_permit", "defer_if_reject", "prepend",
    ]
}
