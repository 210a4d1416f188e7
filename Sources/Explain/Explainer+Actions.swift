import PostfixText

/// access(5) actions in words, as smtpd's `check_table_result()` reads them.
extension Explainer {
    /// The action of an access table value.
    func describeAction(_ value: [UInt8]) -> String {
        let text = ByteText.string(value)
        let word = String(text.prefix(while: { $0 != " " && $0 != "\t" }))
        let rest = String(text.dropFirst(word.count).drop(while: { $0 == " " || $0 == "\t" }))
        switch word.uppercased() {
        case "OK", "RELAY": return "\(word): permit"
        case "DUNNO": return "DUNNO: stop searching this table, go on with the next restriction"
        case "REJECT": return "REJECT: reject" + (rest.isEmpty ? "" : " with \"\(rest)\"")
        case "DEFER": return "DEFER: temporary reject" + (rest.isEmpty ? "" : " with \"\(rest)\"")
        case "DEFER_IF_REJECT", "DEFER_IF_PERMIT": return "\(word)"
        case "PREPEND": return "PREPEND: add the header \"\(rest)\", go on"
        case "WARN", "INFO": return "\(word): log \"\(rest)\", go on"
        case "HOLD", "DISCARD", "FILTER", "REDIRECT", "BCC", "HANGUP": return "\(word) \(rest)"
        default:
            if !word.isEmpty, word.allSatisfy(\.isNumber) {
                if word.count == 3, let f = word.first, f == "4" || f == "5", !rest.isEmpty { return "\(word): reply \"\(text)\"" }
                return "\(word): all digits, permit (OK)"
            }
            return "restriction class or restriction list: \(text)"
        }
    }
}
