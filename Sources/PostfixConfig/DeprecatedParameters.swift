import PostfixText

/// The main.cf and master.cf parameter names that postconf warns about, per release, with the advice
/// it gives (Postfix 3.9's `pcf_depr_param_info`, `postconf/postconf_unused.c`). A name still built in
/// gets `support for parameter "NAME" will be removed; instead, ADVICE`; a name no longer built in
/// gets `support for parameter NAME has been removed; instead, ADVICE` in place of "unused parameter".
/// Postfix 3.7 warns about none of them.
public enum DeprecatedParameters {
    /// One deprecated name and Postfix's advice, word for word (3.10.13 gives `lmtp_enforce_tls` a
    /// bare parameter name where the others say `specify "..."`).
    public struct Entry: Sendable {
        public let name: String
        public let advice: String
    }

    /// The table of `release`, in Postfix's order.
    public static func entries(for release: PostfixRelease) -> [Entry] {
        switch release {
        case .v3_7: return []
        case .v3_10: return since3_9
        }
    }

    /// The advice for `name` in `release`, or nil when the name is not deprecated there.
    public static func advice(for name: [UInt8], release: PostfixRelease) -> String? {
        switch release {
        case .v3_7: return nil
        case .v3_10: return byName3_9[name]
        }
    }

    private static let since3_9: [Entry] = [
        ("disable_dns_lookups", "specify \"smtp_dns_support_level\""),
        ("lmtp_use_tls", "specify \"lmtp_tls_security_level\""),
        ("postscreen_use_tls", "specify \"postscreen_tls_security_level\""),
        ("smtp_use_tls", "specify \"smtp_tls_security_level\""),
        ("smtpd_use_tls", "specify \"smtpd_tls_security_level\""),
        ("tlsproxy_client_use_tls", "specify \"tlsproxy_client_security_level\""),
        ("tlsproxy_use_tls", "specify \"tlsproxy_tls_security_level\""),
        ("lmtp_enforce_tls", "lmtp_tls_security_level"),
        ("postscreen_enforce_tls", "specify \"postscreen_tls_security_level\""),
        ("smtp_enforce_tls", "specify \"smtp_tls_security_level\""),
        ("smtpd_enforce_tls", "specify \"smtpd_tls_security_level\""),
        ("tlsproxy_client_enforce_tls", "specify \"tlsproxy_client_security_level\""),
        ("tlsproxy_enforce_tls", "specify \"tlsproxy_tls_security_level\""),
        ("lmtp_tls_per_site", "specify \"lmtp_tls_policy_maps\""),
        ("smtp_tls_per_site", "specify \"smtp_tls_policy_maps\""),
        ("tlsproxy_client_per_site", "specify \"tlsproxy_client_policy_maps\""),
        ("smtpd_tls_dh1024_param_file", "do not specify (leave at default)"),
        ("smtpd_tls_eecdh_grade", "do not specify (leave at default)"),
        // Postfix's own test entry, kept because postconf 3.10.13 warns about it too.
        ("deleted-test-only", "do not specify"),
    ].map { Entry(name: $0.0, advice: $0.1) }

    private static let byName3_9: [[UInt8]: String] = Dictionary(
        since3_9.map { (Array($0.name.utf8), $0.advice) }, uniquingKeysWith: { a, _ in a })
}
