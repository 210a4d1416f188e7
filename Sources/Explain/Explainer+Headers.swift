import Maps
import PostfixConfig
import PostfixText

/// cleanup(8)'s header and body checks: primary headers through header_checks, MIME headers and the
/// headers of multipart parts through mime_header_checks, headers of attached messages through
/// nested_header_checks, and body lines through body_checks, each with the rule and action.
extension Explainer {
    /// The headers Postfix's `header_opts` marks as MIME headers: cleanup sends them to
    /// mime_header_checks wherever they appear.
    static let mimeHeaders: Set<String> = ["content-description", "content-disposition", "content-id",
                                           "content-transfer-encoding", "content-type", "mime-version"]

    /// The parameter cleanup(8) checks a header with: primary headers go to header_checks, headers of
    /// multipart parts and every MIME header to mime_header_checks, headers of attached messages to
    /// nested_header_checks (`cleanup_header_callback`).
    static func checksParameter(for header: [UInt8], origin: MessageKeys.Origin) -> String {
        if let name = headerName(header), mimeHeaders.contains(name) { return "mime_header_checks" }
        switch origin {
        case .primaryHeader: return "header_checks"
        case .partHeader: return "mime_header_checks"
        case .nestedHeader: return "nested_header_checks"
        case .body: return "body_checks"
        }
    }

    /// Explain `message` (a whole message, or header lines only when `headersOnly`). A whole message is
    /// split as cleanup's MIME parser splits it (the parser postmap's `-hbm` uses): primary headers,
    /// part headers, headers of attached messages, and body lines.
    public func headerChecks(_ message: [UInt8], headersOnly: Bool) throws(ExplainError) -> Explanation {
        var keys: [(key: [UInt8], origin: MessageKeys.Origin)] = []
        var limits = MessageKeys.Limits()
        limits.headerSize = context.int("header_size_limit", 102400)
        limits.nestingDepth = context.int("mime_nesting_limit", 100)
        limits.boundaryLength = context.int("mime_boundary_length_limit", 2048)
        var splitter = MessageKeys(mode: MessageKeys.Mode(headers: true, body: !headersOnly, mime: true), limits: limits)
        for line in FileText.lines(message) {
            var text = line.text
            if text.last == 0x0D { text.removeLast() }
            if headersOnly, !text.isEmpty, text.first != 0x20, text.first != 0x09, Self.headerName(text) == nil {
                throw ExplainError(.input, "not a header line: \(ExplainRenderer.show(text)) (want Name: value)")
            }
            splitter.feed(text) { key, origin in keys.append((key, origin)) }
            if headersOnly, splitter.isDone { break }
        }
        splitter.finish { key, origin in keys.append((key, origin)) }
        if headersOnly { keys.removeAll { $0.origin != .primaryHeader } }
        var nodes: [ExplainNode] = []
        var decided = false
        var summary: [String] = []
        for (key, origin) in keys {
            let parameter = Self.checksParameter(for: key, origin: origin)
            let (node, action) = check(key, parameter: parameter)
            nodes.append(node)
            if let action { decided = true; summary.append(action) }
        }
        let headerCount = keys.filter { $0.origin != .body }.count
        var verdict: Explanation.Verdict = decided ? .found : .notFound
        if nodes.contains(where: { $0.children.contains { $0.kind == .error } }) { verdict = .temporaryError }
        var e = Explanation(subject: "header and body checks: \(headerCount) header(s), \(keys.count - headerCount) body line(s)",
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
