import Maps
import PostfixConfig
import PostfixText

/// cleanup(8)'s header and body checks: primary headers through header_checks, MIME headers and the
/// headers of multipart parts through mime_header_checks, headers of attached messages through
/// nested_header_checks, and body lines through body_checks, each with the rule and action.
extension Explainer {
    /// Whose header and body checks: cleanup(8)'s on input, or the smtp(8) or lmtp(8) client's on output.
    /// What differs between them (Postfix's cleanup_message.c against smtp_proto.c and
    /// header_body_checks.c): the parameters, whether the MIME and nested checks default to the
    /// primary ones and whether body_checks_size_limit applies are here; the actions are in
    /// `headerAction` (cleanup, where REJECT, DISCARD and REDIRECT end the checks) and `clientAction`.
    public enum CheckStage: String, CaseIterable, Sendable {
        case cleanup, smtp, lmtp

        /// The parameter for primary headers, MIME headers, headers of attached messages, and body lines.
        func parameter(_ origin: MessageKeys.Origin, mime: Bool) -> String {
            let prefix = self == .cleanup ? "" : rawValue + "_"
            if mime { return prefix + "mime_header_checks" }
            switch origin {
            case .primaryHeader: return prefix + "header_checks"
            case .partHeader: return prefix + "mime_header_checks"
            case .nestedHeader: return prefix + "nested_header_checks"
            case .body: return prefix + "body_checks"
            }
        }

        /// cleanup's mime_header_checks and nested_header_checks default to $header_checks; the smtp and
        /// lmtp clients' default to empty, so MIME headers go unchecked unless set.
        var mimeDefaultsToPrimary: Bool { self == .cleanup }
        /// Only cleanup stops checking body lines past body_checks_size_limit.
        var bodySizeLimit: Bool { self == .cleanup }
        /// The program named in the trace.
        var program: String { self == .cleanup ? "cleanup" : rawValue }
    }

    /// The headers Postfix's `header_opts` marks as MIME headers: cleanup sends them to
    /// mime_header_checks wherever they appear.
    static let mimeHeaders: Set<String> = ["content-description", "content-disposition", "content-id",
                                           "content-transfer-encoding", "content-type", "mime-version"]

    /// The parameter cleanup(8) checks a header with: primary headers go to header_checks, headers of
    /// multipart parts and every MIME header to mime_header_checks, headers of attached messages to
    /// nested_header_checks (`cleanup_header_callback`).
    /// The smtp and lmtp clients do the same with their own parameters (`hbc_header_checks`).
    static func checksParameter(for header: [UInt8], origin: MessageKeys.Origin, stage: CheckStage = .cleanup) -> String {
        let mime = origin != .body && headerName(header).map(mimeHeaders.contains) == true
        return stage.parameter(origin, mime: mime)
    }

    /// Explain `message` (a whole message, or header lines only when `headersOnly`). A whole message is
    /// split as cleanup's MIME parser splits it (the parser postmap's `-hbm` uses): primary headers,
    /// part headers, headers of attached messages, and body lines.
    public func headerChecks(_ message: [UInt8], headersOnly: Bool, stage: CheckStage = .cleanup) throws(ExplainError) -> Explanation {
        var lines = FileText.lines(message).makeIterator()
        return try headerChecks(headersOnly: headersOnly, stage: stage) { lines.next()?.text }
    }

    /// Explain a message read one line at a time (without its newline) from `nextLine`, in memory
    /// that does not grow with the body: runs of body lines that no rule matches are counted, not kept.
    /// After a REJECT, DISCARD or REDIRECT, cleanup runs no more header or body checks
    /// (`cleanup_act()` clears its filter flags); the lines after it are counted as not checked.
    public func headerChecks(headersOnly: Bool, stage: CheckStage = .cleanup, nextLine: () -> [UInt8]?) throws(ExplainError) -> Explanation {
        var limits = MessageKeys.Limits()
        limits.headerSize = context.int("header_size_limit", 102400)
        limits.nestingDepth = context.int("mime_nesting_limit", 100)
        limits.boundaryLength = context.int("mime_boundary_length_limit", 2048)
        var splitter = MessageKeys(mode: MessageKeys.Mode(headers: true, body: !headersOnly, mime: true), limits: limits)
        var nodes: [ExplainNode] = []
        var summary: [String] = []
        var decided = false, failed = false
        var headerCount = 0, bodyCount = 0
        var stoppedBy: String?
        var unchecked = 0
        var quietBody = 0
        var bodyOffset = 0, beyondLimit = 0
        let bodyLimit = stage.bodySizeLimit ? context.int("body_checks_size_limit", 51200) : 0
        let bodyParameter = stage.parameter(.body, mime: false)
        // Each parameter's table, resolved once (nil: the parameter is empty).
        var tables: [String: MapList?] = [:]
        // body_checks' table, resolved at the first body line (the per-line path does no hashing).
        var bodyList: MapList??
        func flushQuiet() {
            guard quietBody > 0 else { return }
            nodes.append(ExplainNode(.note, "\(quietBody) body line(s): no rule in \(bodyParameter) matched"))
            quietBody = 0
        }
        func handle(_ key: [UInt8], _ origin: MessageKeys.Origin) {
            if headersOnly && origin != .primaryHeader { return }
            if origin == .body { bodyCount += 1 } else { headerCount += 1 }
            if stoppedBy != nil { unchecked += 1; return }
            // cleanup checks a body line only while its offset in the body (the empty line after the
            // headers included) is below body_checks_size_limit.
            if origin != .primaryHeader {
                let offset = bodyOffset
                bodyOffset += key.count + 1
                if origin == .body, bodyLimit > 0, offset >= bodyLimit { beyondLimit += 1; return }
            }
            let parameter = origin == .body ? bodyParameter : Self.checksParameter(for: key, origin: origin, stage: stage)
            let list: MapList?
            if origin == .body, let bodyList {
                list = bodyList
            } else {
                if tables[parameter] == nil {
                    let value = context.value(parameter)
                    tables[parameter] = .some(value.trimmingBlanks().isEmpty ? nil : context.mapList(title: parameter, value: value))
                }
                list = tables[parameter] ?? nil
                if origin == .body { bodyList = .some(list) }
            }
            let (checked, action) = check(key, parameter: parameter, list: list, keepUnmatched: origin != .body, stage: stage)
            guard let node = checked else {
                quietBody += 1
                return
            }
            flushQuiet()
            nodes.append(node)
            if node.children.contains(where: { $0.kind == .error }) { failed = true }
            guard let action else { return }
            decided = true
            summary.append(action.shown)
            if action.stops { stoppedBy = "\(parameter) \(action.word)" }
        }
        while let raw = nextLine() {
            var text = raw
            if text.last == 0x0D { text.removeLast() }
            if headersOnly, !text.isEmpty, text.first != 0x20, text.first != 0x09, Self.headerName(text) == nil {
                throw ExplainError(.input, "not a header line: \(ExplainRenderer.show(text)) (want Name: value)")
            }
            splitter.feed(text, emit: handle)
            if headersOnly, splitter.isDone { break }
        }
        splitter.finish(emit: handle)
        flushQuiet()
        if beyondLimit > 0 {
            nodes.append(ExplainNode(.notEvaluated, "\(beyondLimit) body line(s) not checked: they start beyond body_checks_size_limit (\(bodyLimit) bytes into the body)"))
        }
        if let stoppedBy, unchecked > 0 {
            nodes.append(ExplainNode(.notEvaluated, "\(unchecked) later line(s) not checked: after the \(stoppedBy), cleanup runs no more header or body checks"))
        }
        var verdict: Explanation.Verdict = decided ? .found : .notFound
        if failed { verdict = .temporaryError }
        var e = Explanation(subject: (stage == .cleanup ? "" : "\(stage.rawValue) client's ") + "header and body checks: \(headerCount) header(s), \(bodyCount) body line(s)",
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

    /// A rule's action on a line: how it is shown in the summary, its word, and whether cleanup runs
    /// no further checks after it.
    struct LineAction {
        var shown: String
        var word: String
        var stops: Bool
    }

    /// Check one line against `list` (nil: `parameter` is empty). An unmatched line gets a node only
    /// when `keepUnmatched`: body lines that match nothing are counted by the caller, not kept.
    func check(_ line: [UInt8], parameter: String, list: MapList?, keepUnmatched: Bool, stage: CheckStage = .cleanup) -> (ExplainNode?, LineAction?) {
        guard let list else {
            guard keepUnmatched else { return (nil, nil) }
            var node = ExplainNode(.line, ExplainRenderer.show(line))
            var note = "\(parameter) is empty"
            if !stage.mimeDefaultsToPrimary, parameter.hasSuffix("_mime_header_checks") || parameter.hasSuffix("_nested_header_checks") {
                note += ": \(stage.program) does not check this header (unlike cleanup's, this parameter does not default to $\(stage.parameter(.primaryHeader, mime: false)))"
            }
            node.children.append(ExplainNode(.note, note))
            return (node, nil)
        }
        // A body line that no rule matches is only counted: it is asked without a trace first (no
        // trace steps built and dropped per line), and traced only when a rule matches. A failure
        // keeps the untraced answer, so the table's warning is not given twice.
        var (outcome, trace) = keepUnmatched ? list.find(line) : list.find(line, traced: false)
        if !keepUnmatched {
            switch outcome {
            case .notFound: return (nil, nil)
            case .found: (outcome, trace) = list.find(line)
            case .failed: break
            }
        }
        var node = ExplainNode(.line, ExplainRenderer.show(line))
        var key = ExplainNode(.key, parameter, key: line)
        key.children = trace.map(ExplainNode.step)
        if stage.mimeDefaultsToPrimary, parameter == "mime_header_checks" || parameter == "nested_header_checks", context.config.explicit[parameter] == nil {
            key.text += " (not set in main.cf: it defaults to $header_checks)"
        }
        key.text += context.origin(of: parameter)
        node.children.append(key)
        switch outcome {
        case .notFound: return (node, nil)
        case .failed(_, let e, _):
            node.children.append(ExplainNode(.error, "\(parameter): \(e.message): " + (stage == .cleanup ? "cleanup defers the message"
                : "\(stage.program) logs \"smtp \(isHeaderParameter(parameter) ? "header" : "body") checks lookup error\" and defers the delivery")))
            return (node, LineAction(shown: "temporary error in \(parameter)", word: "", stops: false))
        case .found(let v):
            let rule = trace.last?.detail.rule
            let action = stage == .cleanup ? headerAction(v) : clientAction(v, parameter: parameter, header: isHeaderParameter(parameter), stage: stage)
            var d = ExplainNode(.decision, action, rule: rule)
            d.table = trace.last?.table
            node.children.append(d)
            let shown = (rule.map { "\($0.file):\($0.line) " } ?? "") + ByteText.string(v)
            let word = String(ByteText.string(v).prefix(while: { $0 != " " && $0 != "\t" })).uppercased()
            return (node, LineAction(shown: shown, word: word, stops: stage == .cleanup && ["REJECT", "DISCARD", "REDIRECT"].contains(word)))
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

    /// Whether a checks parameter is for headers (not body lines).
    private func isHeaderParameter(_ parameter: String) -> Bool { !parameter.hasSuffix("body_checks") }

    /// The smtp and lmtp clients' actions (`hbc_action()` with smtp's logger and prepend call-backs):
    /// what each does to the line on its way out, and what the client logs.
    func clientAction(_ value: [UInt8], parameter: String, header: Bool, stage: CheckStage) -> String {
        let text = ByteText.string(value)
        let word = String(text.prefix(while: { $0 != " " && $0 != "\t" })).uppercased()
        let rest = String(text.dropFirst(word.count).drop(while: { $0 == " " || $0 == "\t" }))
        let p = stage.program
        let needsHeader = header && (word == "REPLACE" || word == "PREPEND") && !rest.isEmpty
            && Self.headerName(Array(rest.utf8)) == nil
        switch word {
        case "WARN": return "WARN: \(p) logs \"warning: \(header ? "header" : "body") ...\" and sends the line"
        case "INFO": return "INFO: \(p) logs \"info: \(header ? "header" : "body") ...\" and sends the line"
        case "REPLACE" where rest.isEmpty: return "REPLACE without text: \(p) logs \"warning: REPLACE action without text in \(parameter) map\" and sends the line unchanged"
        case "REPLACE" where needsHeader: return "REPLACE: \(p) logs \"warning: bad REPLACE header text\" (need \"headername: headervalue\") and sends the line unchanged"
        case "REPLACE": return "REPLACE: the line is sent as \"\(rest)\""
        case "PREPEND" where rest.isEmpty: return "PREPEND without text: \(p) logs \"warning: PREPEND action without text in \(parameter) map\" and sends the line"
        case "PREPEND" where needsHeader: return "PREPEND: \(p) logs \"warning: bad PREPEND header text\" (need \"headername: headervalue\") and sends the line"
        case "PREPEND": return "PREPEND: \"\(rest)\" is sent before the line"
        case "STRIP": return "STRIP: the line is not sent, and logged"
        case "IGNORE": return "IGNORE: the line is not sent"
        case "DUNNO", "OK": return "\(word): the line is sent unchanged"
        default:
            return "unsupported action \(word) in \(parameter): \(p) logs \"warning: unsupported command in \(parameter) map: \(text)\" and sends the line unchanged (the \(p) client cannot reject, discard or hold)"
        }
    }
}
