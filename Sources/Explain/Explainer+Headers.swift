import Maps
import PostfixText

/// cleanup(8)'s header and body checks: each primary header through header_checks (MIME headers
/// through mime_header_checks), each body line through body_checks, with the rule and action.
extension Explainer {
    /// Explain `message` (a whole message, or header lines only when `headersOnly`).
    public func headerChecks(_ message: [UInt8], headersOnly: Bool) throws(ExplainError) -> Explanation {
        var headers: [[UInt8]] = []
        var body: [[UInt8]] = []
        var inBody = false
        let limit = context.int("header_size_limit", 102400)
        for line in FileText.lines(message) {
            var text = line.text
            if text.last == 0x0D { text.removeLast() }
            if inBody { body.append(text); continue }
            if text.isEmpty { inBody = true; continue }
            if (text.first == 0x20 || text.first == 0x09), !headers.isEmpty {
                headers[headers.count - 1] += [0x0A] + text
                if headers[headers.count - 1].count > limit { headers[headers.count - 1] = Array(headers[headers.count - 1].prefix(limit)) }
            } else if !headersOnly, Self.headerName(text) == nil {
                // Not a header: the body starts here (cleanup does the same).
                inBody = true
                body.append(text)
            } else {
                headers.append(text)
            }
        }
        if headersOnly, let bad = headers.first(where: { Self.headerName($0) == nil }) {
            throw ExplainError(.input, "not a header line: \(ExplainRenderer.show(bad)) (want Name: value)")
        }
        var nodes: [ExplainNode] = []
        var decided = false
        var verdict: Explanation.Verdict = .notFound
        var summary: [String] = []
        let multipart = headers.contains { h in
            guard let n = Self.headerName(h), n == "content-type" else { return false }
            return AddressSearch.lowerASCII(h).contains(Array("multipart/".utf8))
        }
        for header in headers {
            let name = Self.headerName(header) ?? ""
            let mime = name.hasPrefix("content-") || name == "mime-version"
            let parameter = mime && !context.value("mime_header_checks").trimmingBlanks().isEmpty ? "mime_header_checks" : "header_checks"
            let (node, action) = check(header, parameter: parameter)
            nodes.append(node)
            if let action { decided = true; summary.append(action) }
        }
        if !body.isEmpty {
            if multipart {
                nodes.append(ExplainNode(.notEvaluated, "a multipart message: Postfix sends MIME part headers to mime_header_checks and attached message headers to nested_header_checks; explain does not parse MIME parts, so body lines are shown only for single-part messages"))
                verdict = .undetermined
            } else if context.value("body_checks").trimmingBlanks().isEmpty {
                nodes.append(ExplainNode(.note, "body_checks is empty: body lines are not checked"))
            } else {
                for line in body {
                    let (node, action) = check(line, parameter: "body_checks")
                    nodes.append(node)
                    if let action { decided = true; summary.append(action) }
                }
            }
        }
        if verdict != .undetermined { verdict = decided ? .found : .notFound }
        if nodes.contains(where: { $0.children.contains { $0.kind == .error } }) { verdict = .temporaryError }
        var e = Explanation(subject: "header and body checks: \(headers.count) header(s), \(body.count) body line(s)",
                            verdict: verdict, summary: summary.isEmpty ? "no rule matched" : summary.joined(separator: "; "), nodes: nodes)
        e.warnings += context.drainWarnings()
        return e
    }

    /// The lowercased name of a header line, or nil when it is not one.
    static func headerName(_ line: [UInt8]) -> String? {
        guard let colon = line.firstIndex(of: 0x3A), colon > 0 else { return nil }
        var name = line[..<colon]
        while let last = name.last, last == 0x20 || last == 0x09 { name = name.dropLast() }
        guard !name.isEmpty, name.allSatisfy({ $0 > 0x20 && $0 < 0x7F && $0 != 0x3A }) else { return nil }
        return ByteText.string(AddressSearch.lowerASCII(Array(name)))
    }

    func check(_ line: [UInt8], parameter: String) -> (ExplainNode, String?) {
        var node = ExplainNode(.line, ExplainRenderer.show(line))
        let value = context.value(parameter)
        if value.trimmingBlanks().isEmpty {
            node.children.append(ExplainNode(.note, "\(parameter) is empty"))
            return (node, nil)
        }
        let list = context.mapList(title: parameter, value: value)
        let (outcome, trace) = list.find(line)
        var key = ExplainNode(.key, parameter, key: line)
        key.children = trace.map(ExplainNode.step)
        node.children.append(key)
        switch outcome {
        case .notFound: return (node, nil)
        case .failed(_, let e, _):
            node.children.append(ExplainNode(.error, "\(parameter): \(e.message): cleanup defers the message"))
            return (node, "temporary error in \(parameter)")
        case .found(let v):
            let rule = trace.last?.detail.rule
            let action = headerAction(v)
            var d = ExplainNode(.decision, action, rule: rule)
            d.table = trace.last?.table
            node.children.append(d)
            let shown = (rule.map { "\($0.file):\($0.line) " } ?? "") + ByteText.string(v)
            return (node, shown)
        }
    }

    /// header_checks(5) actions.
    func headerAction(_ value: [UInt8]) -> String {
        let text = ByteText.string(value)
        let word = String(text.prefix(while: { $0 != " " && $0 != "\t" })).uppercased()
        let rest = String(text.dropFirst(word.count).drop(while: { $0 == " " || $0 == "\t" }))
        switch word {
        case "REJECT": return "REJECT: the message is rejected with \"550 5.7.1 \(rest.isEmpty ? "message content rejected" : rest)\""
        case "DISCARD": return "DISCARD: the message is accepted and discarded"
        case "HOLD": return "HOLD: the message goes to the hold queue"
        case "IGNORE": return "IGNORE: the line is deleted"
        case "WARN": return "WARN: logged, the message goes on"
        case "INFO": return "INFO: logged"
        case "DUNNO", "OK": return "\(word): stop checking this line"
        case "PREPEND": return "PREPEND: \"\(rest)\" is inserted before the line"
        case "REPLACE": return "REPLACE: the line becomes \"\(rest)\""
        case "REDIRECT": return "REDIRECT: all recipients replaced with \(rest)"
        case "BCC": return "BCC: \(rest) is added as a recipient"
        case "FILTER": return "FILTER: the message goes to \(rest)"
        case "STRIP": return "STRIP: the line is removed and logged"
        default:
            if word.count == 3, let f = word.first, f == "4" || f == "5" { return "\(word): rejected with \"\(text)\"" }
            return "unknown action \(text): cleanup logs a warning and ignores it"
        }
    }
}
