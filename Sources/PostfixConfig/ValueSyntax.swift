import PostfixText
import Maps
/// Value checks for `postconf --check`, with the texts Postfix's daemons die with
/// (`global/mail_conf_*.c`, `conv_time.c`, and the daemons' own checks of enumerated values).
public enum ValueSyntax {
    /// The problem with `value` (already `$name`-expanded) for parameter `p`, or `nil`.
    public static func check(_ p: BuiltinParameter, _ value: [UInt8]) -> String? {
        let name = ConfigText.text(p.name), text = ConfigText.text(value)
        switch p.kind {
        case .bool, .nbool:
            let lower = text.lowercased()
            if lower != "yes" && lower != "no" { return "bad boolean configuration: \(name) = \(text)" }
        case .int, .nint, .long:
            let n = CInteger.strtol(value[...])
            let inRange = p.kind == .long || (n.value >= Int(Int32.min) && n.value <= Int(Int32.max))
            if value.isEmpty || n.end != value.endIndex || n.overflow || !inRange {
                return "bad numerical configuration: \(name) = \(text)"
            }
            if let min = p.min, min != 0, n.value < min { return "invalid \(name) parameter value \(n.value) < \(min)" }
            if let max = p.max, max != 0, n.value > max { return "invalid \(name) parameter value \(n.value) > \(max)" }
        case .time:
            guard let seconds = seconds(value, defaultUnit: p.defaultValue.last ?? 0x73) else {
                return "parameter \(name): bad time value or unit: \(text)"
            }
            if let min = p.min, min != 0, seconds < min { return "invalid \(name): \(seconds) (min \(min))" }
            if let max = p.max, max != 0, seconds > max { return "invalid \(name): \(seconds) (max \(max))" }
        case .str, .raw:
            if let min = p.min, min != 0, value.count < min {
                return "bad string length \(value.count) < \(min): \(name) = \(text)"
            }
            if let max = p.max, max != 0, value.count > max {
                return "bad string length \(value.count) > \(max): \(name) = \(text)"
            }
        default:
            break
        }
        return nil
    }

    /// `conv_time`: a number with an optional unit (`s m h d w`, only the first letter counts), or `nil`.
    public static func seconds(_ value: [UInt8], defaultUnit: UInt8) -> Int? {
        let n = CInteger.strtol(value[...])
        // Like strtol, no digits reads as 0: Postfix accepts "s" as zero seconds.
        guard !value.isEmpty, !n.overflow, n.value >= 0, n.value <= Int(Int32.max) else { return nil }
        let unit = n.end < value.endIndex ? value[n.end] : defaultUnit
        let scale: Int
        switch unit {
        case 0x77: scale = 7 * 86400
        case 0x64: scale = 86400
        case 0x68: scale = 3600
        case 0x6D: scale = 60
        case 0x73: scale = 1
        default: return nil
        }
        if scale > 1, n.value >= Int(Int32.max) / scale { return nil }
        return n.value * scale
    }

    private static let clientTLSLevels: Set<String> = ["none", "may", "encrypt", "fingerprint", "dane", "dane-only",
                                                       "verify", "secure"]
    /// `default_database_type`: the indexed types of Postfix (the catalog's `.indexed` rows).
    private static let indexedTypes = Set(MapCatalog.names(where: \.isIndexed))
    private static let tlsProtocols: Set<String> = ["sslv2", "sslv3", "tlsv1", "tlsv1.1", "tlsv1.2", "tlsv1.3"]
    private static let notifyClasses: Set<String> = ["bounce", "2bounce", "data", "delay", "policy", "protocol",
                                                     "resource", "software"]

    /// Checks of enumerated values, by parameter name.
    public static func checkEnumeration(_ nameBytes: [UInt8], _ value: [UInt8]) -> String? {
        let name = ConfigText.text(nameBytes), text = ConfigText.text(value)
        let words = ConfigText.tokens(value, ConfigText.isCommaOrBlank).map { ConfigText.text($0) }
        switch name {
        case "smtp_tls_security_level", "lmtp_tls_security_level", "smtpd_tls_security_level",
             "tlsproxy_tls_security_level", "tlsproxy_client_security_level":
            if !value.isEmpty, !clientTLSLevels.contains(text) { return "Invalid TLS level \"\(text)\"" }
        case "inet_protocols":
            for w in words where !["all", "ipv4", "ipv6"].contains(w) {
                return "unknown inet_protocols value \"\(w)\" in \"\(text)\""
            }
        case "mynetworks_style":
            for w in words where !["class", "subnet", "host"].contains(w) {
                return "unknown mynetworks mask style value \"\(w)\" in \"\(text)\""
            }
            if words.count != 1 { return "bad mynetworks_style value: \(text); specify exactly one value" }
        case "notify_classes":
            for w in words where !notifyClasses.contains(w.lowercased()) {
                return "unknown notify_classes value \"\(w)\" in \"\(text)\""
            }
        case "compatibility_level":
            var problem: String?
            if CompatibilityLevel.encode(value, warn: { problem = $0 }) == nil { return problem }
        case "default_database_type":
            if !indexedTypes.contains(text) {
                return "unsupported dictionary type: \(text)"
            }
        case "smtp_tls_protocols", "smtp_tls_mandatory_protocols", "smtpd_tls_protocols",
             "smtpd_tls_mandatory_protocols", "lmtp_tls_protocols", "lmtp_tls_mandatory_protocols",
             "tlsproxy_tls_protocols", "tlsproxy_tls_mandatory_protocols":
            for w in ConfigText.tokens(value, { ConfigText.isCommaOrBlank($0) || $0 == 0x3A }) {
                var word = ConfigText.text(w).lowercased()
                if word.hasPrefix("!") { word.removeFirst() } else if word.hasPrefix(">=") || word.hasPrefix("<=") {
                    word.removeFirst(2)
                }
                if !tlsProtocols.contains(word) { return "Invalid TLS protocol list \"\(text)\": disabling TLS support" }
            }
        default:
            break
        }
        return nil
    }
}
