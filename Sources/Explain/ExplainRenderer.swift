import Maps
import PostfixText

/// Prints an explanation as an indented trace for people (ANSI colour only when asked, that is on a
/// terminal) or as one JSON document for tools.
public enum ExplainRenderer {
    /// Bytes for people: printable ASCII and valid UTF-8 as they are, everything else as `\xNN`;
    /// the result is quoted when it is empty or has blanks.
    public static func show(_ bytes: [UInt8]) -> String {
        var out = ""
        var plain = !bytes.isEmpty
        if let text = String(validating: bytes, as: UTF8.self) {
            for scalar in text.unicodeScalars {
                if scalar.value < 0x20 || scalar.value == 0x7F {
                    out += scalar == "\n" ? "\\n" : scalar == "\t" ? "\\t" : "\\x" + hex(UInt8(scalar.value))
                    plain = false
                } else {
                    if scalar == " " || scalar == "\"" { plain = false }
                    out.unicodeScalars.append(scalar)
                }
            }
        } else {
            plain = false
            for b in bytes {
                if b >= 0x20 && b < 0x7F { out.unicodeScalars.append(Unicode.Scalar(b)) } else { out += "\\x" + hex(b) }
            }
        }
        return plain ? out : "\"" + out.replacingAll("\"", "\\\"") + "\""
    }

    static func hex(_ b: UInt8) -> String {
        let digits = Array("0123456789abcdef")
        return String([digits[Int(b >> 4)], digits[Int(b & 15)]])
    }

    // MARK: text

    /// The indented trace.
    public static func text(_ explanation: Explanation, colour: Bool) -> String {
        var out = ""
        func paint(_ code: String, _ s: String) -> String { colour ? "\u{1B}[\(code)m\(s)\u{1B}[0m" : s }
        out += paint("1", explanation.subject) + "\n"
        func line(_ node: ExplainNode, _ depth: Int) {
            let indent = String(repeating: "  ", count: depth)
            var text = node.text
            switch node.kind {
            case .key:
                text = "key " + show(node.key ?? []) + (node.text.isEmpty ? "" : "  (\(node.text))")
            case .table:
                text = node.text
                let tried = node.tried.map { show($0) }.joined(separator: ", ")
                if !node.tried.isEmpty, node.outcome != "skipped" { text += "  tried " + tried }
                if !node.untried.isEmpty {
                    text += "; not tried " + node.untried.map { show($0) }.joined(separator: ", ") + (node.untriedWhy.map { " (\($0))" } ?? "")
                }
                switch node.outcome {
                case "found":
                    text += paint("32", " -> found " + show(node.value ?? []))
                case "not found": text += paint("2", "  not found")
                case "skipped": text += paint("2", "  skipped")
                case "error": text += paint("31", "  error")
                default: break
                }
                if let rule = node.rule { text += "  [\(rule.file):\(rule.line)]" }
            case .warning: text = paint("33", "warning: " + node.text)
            case .error: text = paint("31", "error: " + node.text)
            case .notEvaluated: text = paint("35", "not evaluated offline: " + node.text)
            case .decision: text = paint("1", "=> " + node.text)
            case .note: text = paint("2", node.text)
            default: break
            }
            if let rule = node.rule, node.kind != .table { text += "  [\(rule.file):\(rule.line)]" }
            out += indent + text + "\n"
            for child in node.children { line(child, depth + 1) }
        }
        for node in explanation.nodes { line(node, 1) }
        for warning in explanation.warnings { out += "  " + paint("33", "warning: " + warning) + "\n" }
        let verdict = explanation.verdict
        let colourCode = verdict == .found || verdict == .decided ? "32" : verdict == .notFound ? "2" : "31"
        out += paint("1;" + colourCode, "result: \(verdict.rawValue)") + (explanation.summary.isEmpty ? "" : ": " + explanation.summary) + "\n"
        return out
    }

    // MARK: JSON

    /// One JSON document: `{"subject", "result", "exit_status", "summary", "value", "warnings", "steps"}`.
    public static func json(_ explanation: Explanation) -> String {
        var out = "{"
        out += "\"subject\": " + quote(explanation.subject)
        out += ", \"result\": " + quote(explanation.verdict.rawValue)
        out += ", \"exit_status\": \(explanation.verdict.exitStatus)"
        out += ", \"summary\": " + quote(explanation.summary)
        if let value = explanation.value { out += ", \"value\": " + quote(value) }
        out += ", \"warnings\": [" + explanation.warnings.map { quote($0) }.joined(separator: ", ") + "]"
        out += ", \"steps\": [" + explanation.nodes.map(node).joined(separator: ", ") + "]"
        return out + "}\n"
    }

    static func node(_ n: ExplainNode) -> String {
        var fields = ["\"kind\": " + quote(n.kind.rawValue), "\"text\": " + quote(n.text)]
        if let key = n.key { fields.append("\"key\": " + quote(key)) }
        if let table = n.table { fields.append("\"table\": " + quote(table)) }
        if !n.tried.isEmpty { fields.append("\"keys_tried\": [" + n.tried.map { quote($0) }.joined(separator: ", ") + "]") }
        if !n.untried.isEmpty {
            fields.append("\"keys_not_tried\": [" + n.untried.map { quote($0) }.joined(separator: ", ") + "]")
            if let why = n.untriedWhy { fields.append("\"keys_not_tried_why\": " + jsonString(why)) }
        }
        if let outcome = n.outcome { fields.append("\"outcome\": " + quote(outcome)) }
        if let value = n.value { fields.append("\"value\": " + quote(value)) }
        if let rule = n.rule { fields.append("\"rule\": {\"file\": \(quote(rule.file)), \"line\": \(rule.line)}") }
        if !n.children.isEmpty { fields.append("\"children\": [" + n.children.map(node).joined(separator: ", ") + "]") }
        return "{" + fields.joined(separator: ", ") + "}"
    }

    static func quote(_ bytes: [UInt8]) -> String { quote(String(decoding: bytes, as: UTF8.self)) }

    /// A JSON string literal for `s` (PostfixText's `JSONText`, which postconf --check --json uses too).
    public static func jsonString(_ s: String) -> String { JSONText.quote(s) }

    static func quote(_ s: String) -> String { JSONText.quote(s) }
}

extension String {
    /// Every occurrence of `target` replaced (no Foundation).
    func replacingAll(_ target: Character, _ replacement: String) -> String {
        var out = ""
        for c in self { if c == target { out += replacement } else { out.append(c) } }
        return out
    }
}
