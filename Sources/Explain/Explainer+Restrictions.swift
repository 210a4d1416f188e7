import Maps
import PostfixConfig
import PostfixText

/// The SMTP envelope whose restrictions are evaluated. A missing part is "not given": restrictions
/// that need it are not evaluated.
public struct Envelope: Sendable {
    public var clientName: [UInt8] = Array("unknown".utf8)
    public var clientAddress: [UInt8]?
    public var helo: [UInt8]?
    /// The sender; empty for the null sender `<>`.
    public var sender: [UInt8]?
    public var recipient: [UInt8]?
    public var saslUser: [UInt8]?
    public init() {}
}

/// smtpd's restriction lists (smtpd/smtpd_check.c `generic_checks()` and the `smtpd_check_*` stages).
extension Explainer {
    enum Status {
        case dunno
        case permit
        /// Rejected (or deferred) with this reply.
        case reject(String)
        /// Depends on something not evaluated offline.
        case undetermined(String)
    }

    final class CheckState {
        var envelope: Envelope
        var recursion = 0
        var warnIfReject = 0
        var deferIfPermit: String?
        var deferIfReject: String?
        var stage = ""
        init(_ envelope: Envelope) { self.envelope = envelope }
        var namaddr: String { ByteText.string(envelope.clientName) + "[" + ByteText.string(envelope.clientAddress ?? []) + "]" }
    }

    /// Evaluate the restriction lists for `envelope`, as smtpd does at RCPT TO (with smtpd_delay_reject)
    /// or at each command.
    public func restrictions(_ envelope: Envelope) throws(ExplainError) -> Explanation {
        guard envelope.clientAddress != nil else { throw ExplainError(.input, "restrictions need a client (--client name[address])") }
        let state = CheckState(envelope)
        var nodes: [ExplainNode] = []
        let classes = Set(ConfigText.tokens(Array(context.value("smtpd_restriction_classes").utf8), ConfigText.isCommaOrBlank).map { ByteText.string($0) })
        let relay = lists("smtpd_relay_restrictions"), rcpt = lists("smtpd_recipient_restrictions")
        let required = SMTPDRestrictions.relayRequired
        func hasRequired(_ list: [String], depth: Int = 0) -> Bool {
            var i = 0
            while i < list.count {
                let r = list[i].lowercased()
                if r == "warn_if_reject" && i + 1 < list.count { i += 2; continue }
                if r == "permit" { return false }
                if required.contains(r) { return true }
                if classes.contains(list[i]), depth < 100, hasRequired(lists(list[i]), depth: depth + 1) { return true }
                i += 1
            }
            return false
        }
        let subject = "restrictions for client \(state.namaddr)" + (envelope.helo.map { ", helo \(ExplainRenderer.show($0))" } ?? "")
            + (envelope.sender.map { ", sender <\(ByteText.string($0))>" } ?? "") + (envelope.recipient.map { ", recipient <\(ByteText.string($0))>" } ?? "")
            + (envelope.saslUser.map { ", SASL user \(ByteText.string($0))" } ?? "")
        if !hasRequired(rcpt) && !hasRequired(relay) {
            let text = "in parameter smtpd_relay_restrictions or smtpd_recipient_restrictions, specify at least one working instance of: \(SMTPDRestrictions.relayRequiredText)"
            var e = Explanation(subject: subject, verdict: .configurationError,
                                summary: "smtpd refuses to start (fatal: \(text)): this configuration would be an open relay", nodes: [ExplainNode(.error, text)])
            e.warnings += context.drainWarnings()
            return e
        }
        let delay = context.config.bool("smtpd_delay_reject", default: true)
        var stages: [(String, String, [UInt8]?, String, String)] = [
            ("smtpd_client_restrictions", delay ? "RCPT TO (smtpd_delay_reject = yes)" : "CONNECT", envelope.clientAddress, "Client host", "check_client_access"),
            ("smtpd_helo_restrictions", delay ? "RCPT TO (smtpd_delay_reject = yes)" : "HELO", envelope.helo, "Helo command", "check_helo_access"),
            ("smtpd_sender_restrictions", delay ? "RCPT TO (smtpd_delay_reject = yes)" : "MAIL FROM", envelope.sender, "Sender address", "check_sender_access"),
        ]
        let relayFirst = context.config.bool("smtpd_relay_before_recipient_restrictions", default: true)
        let rcptStages = [("smtpd_relay_restrictions", "RCPT TO", envelope.recipient, "Recipient address", "check_recipient_access"),
                          ("smtpd_recipient_restrictions", "RCPT TO", envelope.recipient, "Recipient address", "check_recipient_access")]
        stages += relayFirst ? rcptStages : rcptStages.reversed()
        // smtpd's extract_addr() and smtpd_check_addr(): a malformed address is refused at MAIL FROM or
        // RCPT TO, before the restrictions of that command (with smtpd_delay_reject = yes, before all).
        func syntaxRefusal(_ address: [UInt8]?, sender isSender: Bool) -> Explanation? {
            guard let address, let problem = addressSyntaxProblem(address, sender: isSender) else { return nil }
            let reply = isSender ? "501 5.1.7 Bad sender address syntax" : "501 5.1.3 Bad recipient address syntax"
            var e = Explanation(subject: subject, verdict: .decided,
                                summary: "refused at \(isSender ? "MAIL FROM" : "RCPT TO") before \(delay ? "any restriction" : "its restrictions"): \(reply)",
                                nodes: nodes + [ExplainNode(.decision, "\(problem): smtpd replies \"\(reply)\" (Illegal address syntax)")])
            e.value = Array(reply.utf8)
            e.warnings += context.drainWarnings()
            return e
        }
        if let refused = syntaxRefusal(envelope.sender, sender: true) { return refused }
        if delay, let refused = syntaxRefusal(envelope.recipient, sender: false) { return refused }
        let barePostmaster = envelope.recipient.map { AddressSearch.lowerASCII($0) == Array("postmaster".utf8) } ?? false
        if barePostmaster && delay {
            var e = Explanation(subject: subject, verdict: .decided, summary: "250 2.1.5 Ok (smtpd never checks the bare recipient postmaster)",
                                nodes: [ExplainNode(.decision, "RFC 5321 section 4.5.1: smtpd accepts the bare recipient postmaster before any restriction")])
            e.value = Array("250 2.1.5 Ok".utf8)
            return e
        }
        var final: Status = .dunno
        var decidedBy = ""
        var checkedRecipientSyntax = false
        for (parameter, stage, subjectPart, replyClass, defACL) in stages {
            if !delay, stage == "RCPT TO", !checkedRecipientSyntax {
                checkedRecipientSyntax = true
                if let refused = syntaxRefusal(envelope.recipient, sender: false) { return refused }
            }
            if barePostmaster && stage == "RCPT TO" {
                nodes.append(ExplainNode(.note, "\(parameter): not evaluated: smtpd accepts the bare recipient postmaster before its recipient restrictions"))
                continue
            }
            guard let subjectPart else {
                if parameter.hasPrefix("smtpd_helo") && envelope.helo == nil {
                    nodes.append(ExplainNode(.note, "\(parameter): no HELO given: smtpd skips these restrictions before HELO"))
                    continue
                }
                nodes.append(ExplainNode(.notEvaluated, "\(parameter): no \(replyClass.lowercased()) given"))
                if case .dunno = final { final = .undetermined("no \(replyClass.lowercased()) given") }
                break
            }
            let list = lists(parameter)
            var node = ExplainNode(.restriction, "\(parameter) at \(stage)" + (list.isEmpty ? ": empty" : "") + context.origin(of: parameter))
            state.stage = stage
            state.recursion = 0
            state.warnIfReject = 0
            let replyName: String
            switch replyClass {
            case "Client host": replyName = state.namaddr
            default: replyName = ByteText.string(subjectPart)
            }
            let status = generic(state, list, replyName: replyName, replyClass: replyClass, defACL: defACL, into: &node.children)
            nodes.append(node)
            switch status {
            case .reject:
                final = status
                decidedBy = parameter
            case .undetermined:
                final = status
                decidedBy = parameter
            case .permit, .dunno:
                if case .permit = status, final.isDunno { decidedBy = parameter }
                if case .permit = status { final = .permit }
                continue
            }
            if !delay, case .reject(let reply) = status { nodes.append(afterEarlyReject(reply, stage: stage, namaddr: state.namaddr)) }
            let later = stages.drop(while: { $0.0 != parameter }).dropFirst().map(\.0).filter { !lists($0).isEmpty }
            if !later.isEmpty {
                nodes.append(ExplainNode(.note, "not evaluated: \(later.joined(separator: ", ")): decided earlier by \(parameter)"))
            }
            break
        }
        // smtpd_check_rcpt(): whatever did not reject becomes the deferral DEFER_IF_PERMIT asked for.
        if !final.isRejectOrUndetermined, envelope.recipient != nil, let deferred = state.deferIfPermit {
            final = .reject(deferred)
            if decidedBy.isEmpty { decidedBy = "defer_if_permit" }
            nodes.append(ExplainNode(.decision, "defer_if_permit was set earlier and nothing rejected: deferred"))
        }
        if !final.isRejectOrUndetermined, !barePostmaster, let r = envelope.recipient, context.config.bool("smtpd_reject_unlisted_recipient", default: true) {
            var node = ExplainNode(.restriction, "smtpd_reject_unlisted_recipient = yes: is the recipient known?")
            let status = recipientMaps(r, into: &node.children)
            nodes.append(node)
            if !status.isDunno { final = status; decidedBy = "smtpd_reject_unlisted_recipient" }
        }
        var e: Explanation
        switch final {
        case .reject(let reply):
            e = Explanation(subject: subject, verdict: .decided, summary: "rejected by \(decidedBy): \(reply)", nodes: nodes)
            e.value = Array(reply.utf8)
        case .permit, .dunno:
            let text = envelope.recipient == nil ? "250 2.1.0 Ok" : "250 2.1.5 Ok"
            e = Explanation(subject: subject, verdict: .decided, summary: (decidedBy.isEmpty ? "no restriction rejected: " : "permitted by \(decidedBy): ") + text, nodes: nodes)
            e.value = Array(text.utf8)
        case .undetermined(let why):
            e = Explanation(subject: subject, verdict: .undetermined, summary: "not evaluated offline: \(why)", nodes: nodes)
        }
        e.warnings += context.drainWarnings()
        return e
    }

    /// With smtpd_delay_reject = no, what smtpd answers after a reject at CONNECT, HELO or MAIL FROM
    /// (smtpd.c): a client rejected at CONNECT gets the reject instead of the 220 greeting, and every
    /// later command but QUIT gets "503 5.7.0 Error: access denied for name[addr]" (after a 421 or 521
    /// reply smtpd disconnects); after a rejected MAIL FROM the RCPT TO gets "503 5.5.1 Error: need MAIL
    /// command"; a rejected HELO leaves the session as it was.
    func afterEarlyReject(_ reply: String, stage: String, namaddr: String) -> ExplainNode {
        switch stage {
        case "CONNECT":
            if reply.dropFirst().hasPrefix("21") {
                return ExplainNode(.decision, "smtpd_delay_reject = no: smtpd sends \"\(reply)\" instead of its 220 greeting and disconnects (a 421 or 521 reply ends the session)")
            }
            return ExplainNode(.decision, "smtpd_delay_reject = no: smtpd sends \"\(reply)\" instead of its 220 greeting, then answers every later command but QUIT (EHLO, MAIL FROM, RCPT TO) with \"503 5.7.0 Error: access denied for \(namaddr)\"")
        case "MAIL FROM":
            return ExplainNode(.decision, "smtpd_delay_reject = no: MAIL FROM is refused with \"\(reply)\", so a RCPT TO that follows gets \"503 5.5.1 Error: need MAIL command\"")
        default:
            return ExplainNode(.note, "smtpd_delay_reject = no: HELO is refused with \"\(reply)\"; the session goes on without a HELO name (MAIL FROM is still accepted unless smtpd_helo_required = yes)")
        }
    }

    /// A restriction list parameter (or class) split as smtpd splits it.
    func lists(_ name: String) -> [String] {
        ConfigText.quotedTokens(Array(context.value(name).utf8), ConfigText.isCommaOrBlank).map { ByteText.string($0) }
    }

    func reject(_ state: CheckState, code: Int, dsn: String, _ text: String, into nodes: inout [ExplainNode]) -> Status {
        var code = code, dsn = dsn
        if code < 400 || code > 599 {
            nodes.append(ExplainNode(.warning, "SMTP reply code configuration error: \(code) \(dsn) \(text)"))
            code = 450; dsn = "4.7.1"
            return finishReject(state, "450 4.7.1 Service unavailable", into: &nodes)
        }
        if context.config.bool("soft_bounce", default: false), code >= 500 {
            code -= 100
            nodes.append(ExplainNode(.note, "soft_bounce = yes turns 5xx into 4xx"))
        }
        let first = String(code).prefix(1)
        dsn = String(first) + String(dsn.dropFirst())
        return finishReject(state, "\(code) \(dsn) \(text)", into: &nodes)
    }

    private func finishReject(_ state: CheckState, _ reply: String, into nodes: inout [ExplainNode]) -> Status {
        if state.warnIfReject > 0 {
            nodes.append(ExplainNode(.decision, "reject_warning (warn_if_reject): would reply \"\(reply)\"; smtpd only logs it and goes on"))
            return .dunno
        }
        if let deferred = state.deferIfReject, reply.hasPrefix("5") {
            nodes.append(ExplainNode(.decision, "defer_if_reject was set earlier: \"\(reply)\" becomes the deferral"))
            return .reject(deferred)
        }
        nodes.append(ExplainNode(.decision, "reply: \(reply)"))
        return .reject(reply)
    }

    /// `dsn_split`: a leading `X.Y.Z` in the text replaces the default DSN.
    func splitDSN(_ text: String, default def: String) -> (String, String) {
        let parts = text.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
        if let first = parts.first {
            let fields = first.split(separator: ".", omittingEmptySubsequences: false)
            if fields.count == 3, let c = fields[0].first, c == "2" || c == "4" || c == "5", fields[0].count == 1,
               fields[1].allSatisfy(\.isNumber), fields[2].allSatisfy(\.isNumber), (1...3).contains(fields[1].count), (1...3).contains(fields[2].count) {
                return (String(first), parts.count > 1 ? String(parts[1]) : "")
            }
        }
        return (def, text)
    }

    /// `check_table_result()`: what an access table's value does.
    func tableResult(_ state: CheckState, table: String, value: [UInt8], replyName: String, replyClass: String,
                     defACL: String, into nodes: inout [ExplainNode]) -> Status {
        let text = ByteText.string(value)
        let word = String(text.prefix(while: { $0 != " " && $0 != "\t" }))
        let rest = String(text.dropFirst(word.count).drop(while: { $0 == " " || $0 == "\t" }))
        let upper = word.uppercased()
        let rejectCode = context.int("access_map_reject_code", 554), deferCode = context.int("access_map_defer_code", 450)
        switch upper {
        case "DUNNO": nodes.append(ExplainNode(.decision, "DUNNO: go on with the next restriction")); return .dunno
        case "REJECT":
            let (dsn, t) = splitDSN(rest, default: "5.7.1")
            return reject(state, code: rejectCode, dsn: dsn, "<\(replyName)>: \(replyClass) rejected: \(t.isEmpty ? "Access denied" : t)", into: &nodes)
        case "DEFER":
            let (dsn, t) = splitDSN(rest, default: "4.7.1")
            return reject(state, code: deferCode, dsn: dsn, "<\(replyName)>: \(replyClass) rejected: \(t.isEmpty ? "Access denied" : t)", into: &nodes)
        case "DEFER_IF_PERMIT":
            let (dsn, t) = splitDSN(rest, default: "4.7.1")
            if state.deferIfPermit == nil { state.deferIfPermit = "\(deferCode) \(dsn) <\(replyName)>: \(replyClass) rejected: \(t.isEmpty ? "Service unavailable" : t)" }
            nodes.append(ExplainNode(.decision, "DEFER_IF_PERMIT: a later permit becomes a deferral")); return .dunno
        case "DEFER_IF_REJECT":
            let (dsn, t) = splitDSN(rest, default: "4.7.1")
            if state.deferIfReject == nil { state.deferIfReject = "\(deferCode) \(dsn) <\(replyName)>: \(replyClass) rejected: \(t.isEmpty ? "Service unavailable" : t)" }
            nodes.append(ExplainNode(.decision, "DEFER_IF_REJECT: a later reject becomes a deferral")); return .dunno
        case "HANGUP":
            nodes.append(ExplainNode(.decision, "HANGUP: smtpd closes the connection without a reply")); return .reject("(connection closed without a reply: HANGUP)")
        case "INFO", "WARN":
            nodes.append(ExplainNode(.decision, "\(upper): logged \"\(rest)\", go on")); return .dunno
        case "FILTER", "HOLD", "DELAY", "DISCARD", "REDIRECT", "BCC", "PREPEND":
            if state.envelope.sender == nil || (state.stage == "CONNECT" || state.stage == "HELO") && !context.config.bool("smtpd_delay_reject", default: true) {
                nodes.append(ExplainNode(.warning, "access table \(table): action \(upper) is always skipped in client or helo restrictions with smtpd_delay_reject=no"))
                return .dunno
            }
            if upper == "DISCARD" {
                nodes.append(ExplainNode(.decision, "DISCARD: accepted and silently discarded; no further restrictions"))
                return .permit
            }
            nodes.append(ExplainNode(.decision, "\(upper) \(rest): remembered for the message, go on"))
            return .dunno
        default: break
        }
        if !text.isEmpty, text.allSatisfy(\.isNumber) {
            nodes.append(ExplainNode(.decision, "all digits: permit (OK)")); return .permit
        }
        if word.count == 3, !rest.isEmpty, let f = word.first, f == "4" || f == "5", word.dropFirst().allSatisfy(\.isNumber), let code = Int(word) {
            let (dsn, t) = splitDSN(rest, default: "\(f).7.1")
            return reject(state, code: code, dsn: dsn, "<\(replyName)>: \(replyClass) rejected: \(t)", into: &nodes)
        }
        if upper == "OK" || upper == "RELAY" {
            nodes.append(ExplainNode(.decision, "\(upper): permit")); return .permit
        }
        if text.contains(":") {
            nodes.append(ExplainNode(.warning, "access table \(table) has entry with lookup table: \(text); define a restriction class and specify its name instead"))
            return reject(state, code: 451, dsn: "4.3.5", "Server configuration error", into: &nodes)
        }
        if state.recursion > 100 {
            nodes.append(ExplainNode(.warning, "access table \(table) entry \(text) causes unreasonable recursion"))
            return reject(state, code: 451, dsn: "4.3.5", "Server configuration error", into: &nodes)
        }
        let list = ConfigText.quotedTokens(value, ConfigText.isCommaOrBlank).map { ByteText.string($0) }
        if list.isEmpty { nodes.append(ExplainNode(.warning, "access table \(table) entry \(text) has empty value")); return .permit }
        var node = ExplainNode(.restriction, "the value is a restriction list: \(text)")
        let status = generic(state, list, replyName: replyName, replyClass: replyClass, defACL: defACL, into: &node.children)
        nodes.append(node)
        return status
    }

    /// `generic_checks()`.
    func generic(_ state: CheckState, _ list: [String], replyName: String, replyClass: String, defACL: String,
                 into nodes: inout [ExplainNode]) -> Status {
        let saved = state.recursion
        state.recursion += 1
        defer {
            state.recursion = saved
            if state.warnIfReject >= state.recursion { state.warnIfReject = 0 }
        }
        let classes = Set(ConfigText.tokens(Array(context.value("smtpd_restriction_classes").utf8), ConfigText.isCommaOrBlank).map { ByteText.string($0) })
        var i = 0
        var status: Status = .dunno
        let env = state.envelope
        func notOffline(_ why: String, _ node: inout ExplainNode) -> Status {
            node.children.append(ExplainNode(.notEvaluated, why))
            return .undetermined("\(node.text): \(why)")
        }
        while i < list.count {
            var name = list[i]
            var tableArg: String?
            let lower = name.lowercased()
            if lower == "warn_if_reject" {
                if state.warnIfReject == 0 { state.warnIfReject = state.recursion }
                nodes.append(ExplainNode(.restriction, "warn_if_reject: the next restriction only warns"))
                i += 1
                continue
            }
            if name.contains(":") && !lower.hasPrefix("check_") {
                tableArg = name
                name = defACL
            }
            let lname = name.lowercased()
            let known = SMTPDRestrictions.restriction(lname, release: context.release)
            if known?.argument == .table, tableArg == nil {
                guard i + 1 < list.count else {
                    nodes.append(ExplainNode(.warning, "restriction \(name) requires table argument"))
                    return reject(state, code: 451, dsn: "4.3.5", "Server configuration error", into: &nodes)
                }
                tableArg = list[i + 1]
                i += 1
            }
            var node = ExplainNode(.restriction, tableArg.map { "\(name) \($0)" } ?? name)
            if state.recursion > 100 {
                node.children.append(ExplainNode(.warning, "unreasonable restriction class recursion"))
                nodes.append(node)
                return reject(state, code: 451, dsn: "4.3.5", "Server configuration error", into: &nodes)
            }
            if let warning = known?.deprecation?.smtpdWarning {
                node.children.append(ExplainNode(.warning, warning))
            }
            switch lname {
            case _ where known?.isRemoved == true:
                // Removed in this release (3.9 on): smtpd logs so and answers with a server configuration
                // error; check_relay_domains only once the recipient is known.
                if lname != "check_relay_domains" || env.recipient != nil {
                    status = reject(state, code: 451, dsn: "4.3.5", "Server configuration error", into: &node.children)
                } else if i + 1 < list.count, state.warnIfReject == 0 {
                    node.children.append(ExplainNode(.warning, "restriction `\(list[i + 1])' after `check_relay_domains' is ignored"))
                }
            case "permit":
                node.children.append(ExplainNode(.decision, "permit")); status = .permit
            case "reject":
                status = reject(state, code: context.int("reject_code", 554), dsn: "5.7.1", "<\(replyName)>: \(replyClass) rejected: Access denied", into: &node.children)
            case "defer":
                status = reject(state, code: context.int("defer_code", 450), dsn: "4.3.2", "<\(replyName)>: \(replyClass) rejected: Try again later", into: &node.children)
            case "defer_if_permit":
                if state.deferIfPermit == nil { state.deferIfPermit = "450 4.7.0 <\(replyName)>: \(replyClass) rejected: defer_if_permit requested" }
            case "defer_if_reject":
                if state.deferIfReject == nil { state.deferIfReject = "450 4.7.0 <\(replyName)>: \(replyClass) rejected: defer_if_reject requested" }
            case "permit_mynetworks":
                let r = mynetworks().explain(env.clientName, address: env.clientAddress)
                node.children += r.nodes
                if let e = r.error { node.children.append(ExplainNode(.error, e)); status = reject(state, code: 451, dsn: "4.3.0", "<\(replyName)>: Temporary lookup failure", into: &node.children) }
                else if r.matched { node.children.append(ExplainNode(.decision, "the client matches mynetworks (\(r.pattern ?? "")): permit")); status = .permit }
                else { node.children.append(ExplainNode(.note, "the client is not in mynetworks = \(mynetworksValue())")) }
            case "permit_inet_interfaces":
                if let a = env.clientAddress, isOwnAddress(a) { status = .permit; node.children.append(ExplainNode(.decision, "permit")) }
            case "permit_sasl_authenticated":
                if let user = env.saslUser { node.children.append(ExplainNode(.decision, "authenticated as \(ByteText.string(user)): permit")); status = .permit }
                else { node.children.append(ExplainNode(.note, "no SASL user given: not authenticated")) }
            case "reject_unauth_destination", "defer_unauth_destination", "permit_auth_destination":
                guard let rcpt = env.recipient else { break }
                let (auth, why) = authDestination(rcpt, into: &node.children)
                if let undetermined = why { status = notOffline(undetermined, &node); break }
                if lname == "permit_auth_destination" {
                    if auth { status = .permit; node.children.append(ExplainNode(.decision, "permit")) }
                } else if !auth {
                    let defer_ = lname == "defer_unauth_destination"
                    let relayCode = context.int("relay_domains_reject_code", 554)
                    status = reject(state, code: defer_ ? relayCode - 100 : relayCode,
                                    dsn: defer_ ? "4.7.1" : "5.7.1", "<\(ByteText.string(rcpt))>: Relay access denied", into: &node.children)
                }
            case "check_client_access", "check_reverse_client_hostname_access":
                let list = context.mapList(title: tableArg ?? "", value: tableArg ?? "")
                let out = clientAccess(list, name: env.clientName, address: env.clientAddress ?? [])
                status = accessResult(state, out, table: tableArg ?? "", replyName: replyName, replyClass: replyClass, defACL: defACL, node: &node)
            case "check_helo_access":
                guard let helo = env.helo else { break }
                let list = context.mapList(title: tableArg ?? "", value: tableArg ?? "")
                let out = domainAccess(list, AddressSearch.lowerASCII(helo), full: true)
                status = accessResult(state, out, table: tableArg ?? "", replyName: replyName, replyClass: replyClass, defACL: defACL, node: &node)
            case "check_sender_access", "check_recipient_access":
                let who = lname == "check_sender_access" ? env.sender : env.recipient
                guard let who else { break }
                let list = context.mapList(title: tableArg ?? "", value: tableArg ?? "")
                let out = mailAccess(list, who, role: lname == "check_sender_access" ? .checkSenderAccess : .checkRecipientAccess)
                status = accessResult(state, out, table: tableArg ?? "", replyName: replyName, replyClass: replyClass, defACL: defACL, node: &node)
            case "reject_non_fqdn_sender", "reject_non_fqdn_recipient":
                let who = lname == "reject_non_fqdn_sender" ? env.sender : env.recipient
                if let who, !who.isEmpty {
                    let domain = who.lastIndex(of: 0x40).map { Array(who[($0 + 1)...]) } ?? []
                    if !domain.contains(0x2E) && domain.first != 0x5B {
                        status = reject(state, code: context.int("non_fqdn_reject_code", 504), dsn: "5.5.2",
                                        "<\(ByteText.string(who))>: \(lname.hasSuffix("sender") ? "Sender" : "Recipient") address rejected: need fully-qualified address", into: &node.children)
                    }
                }
            case "reject_non_fqdn_helo_hostname", "reject_non_fqdn_hostname":
                if let helo = env.helo, !helo.contains(0x2E), helo.first != 0x5B {
                    status = reject(state, code: context.int("non_fqdn_reject_code", 504), dsn: "5.5.2",
                                    "<\(ByteText.string(helo))>: Helo command rejected: need fully-qualified hostname", into: &node.children)
                }
            case "reject_multi_recipient_bounce":
                node.children.append(ExplainNode(.note, "one recipient: not a multi-recipient bounce"))
            case "reject_unlisted_recipient", "check_recipient_maps":
                if let r = env.recipient { status = recipientMaps(r, into: &node.children) }
            case "check_policy_service":
                i += 1
                status = notOffline("a policy service answers at run time", &node)
            case "sleep":
                i += 1
                node.children.append(ExplainNode(.note, "sleeps, then goes on"))
            case "reject_rbl_client", "reject_rhsbl_client", "reject_rhsbl_reverse_client", "reject_rhsbl_helo", "reject_rhsbl_sender",
                 "reject_rhsbl_recipient", "permit_dnswl_client", "permit_rhswl_client", "reject_rbl":
                i += 1
                status = notOffline("a DNS blocklist or allowlist query", &node)
            case "reject_unknown_client_hostname", "reject_unknown_client", "reject_unknown_reverse_client_hostname",
                 "reject_unknown_helo_hostname", "reject_unknown_hostname", "reject_unknown_sender_domain", "reject_unknown_recipient_domain",
                 "permit_mx_backup":
                status = notOffline("needs DNS", &node)
            case "reject_maps_rbl":
                // 3.7.11: reject_rbl_client with each domain of maps_rbl_domains (empty by default).
                let domains = ConfigText.tokens(Array(context.value("maps_rbl_domains").utf8), ConfigText.isCommaOrBlank)
                if domains.isEmpty {
                    node.children.append(ExplainNode(.note, "maps_rbl_domains is empty: nothing to query"))
                } else {
                    status = notOffline("a DNS blocklist query (maps_rbl_domains)", &node)
                }
            case "check_relay_domains":
                if let rcpt = env.recipient { status = checkRelayDomains(state, rcpt, into: &node.children) }
                if i + 1 < list.count, state.warnIfReject == 0 {
                    node.children.append(ExplainNode(.warning, "restriction `\(list[i + 1])' after `check_relay_domains' is ignored"))
                }
            case "check_client_mx_access", "check_client_ns_access", "check_client_a_access", "check_reverse_client_hostname_mx_access",
                 "check_reverse_client_hostname_ns_access", "check_reverse_client_hostname_a_access", "check_helo_mx_access", "check_helo_ns_access",
                 "check_helo_a_access", "check_sender_mx_access", "check_sender_ns_access", "check_sender_a_access",
                 "check_recipient_mx_access", "check_recipient_ns_access", "check_recipient_a_access":
                status = notOffline("needs DNS (MX, NS or A records)", &node)
            case "reject_unlisted_sender":
                status = notOffline("needs the sender checked against the recipient tables (smtpd_reject_unlisted_sender)", &node)
            case "reject_unverified_sender", "reject_unverified_recipient":
                status = notOffline("needs the verify(8) service's cache", &node)
            case "permit_tls_clientcerts", "permit_tls_all_clientcerts", "check_ccert_access", "reject_plaintext_session",
                 "reject_unauth_pipelining", "reject_sender_login_mismatch", "reject_authenticated_sender_login_mismatch",
                 "reject_known_sender_login_mismatch", "reject_unauthenticated_sender_login_mismatch", "check_sasl_access", "check_etrn_access":
                status = notOffline("needs data of a live SMTP session (TLS, pipelining, login maps)", &node)
            case "reject_invalid_helo_hostname", "reject_invalid_hostname":
                if let helo = env.helo, !validHostname(helo) {
                    status = reject(state, code: context.int("invalid_hostname_reject_code", 501), dsn: "5.5.2",
                                    "<\(ByteText.string(helo))>: Helo command rejected: Invalid name", into: &node.children)
                }
            case "permit_naked_ip_address":
                // 3.7.11: a HELO name of digits, dots and colons is permitted when it is a valid IPv4
                // address, and rejected as an invalid address otherwise.
                if let helo = env.helo, !helo.isEmpty, helo.allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2E || $0 == 0x3A }) {
                    if !helo.contains(0x3A), CIDRPattern.address(helo) != nil {
                        status = .permit
                        node.children.append(ExplainNode(.decision, "the HELO name is an IP address: permit"))
                    } else {
                        status = reject(state, code: context.int("invalid_hostname_reject_code", 501), dsn: "5.5.2",
                                        "<\(ByteText.string(helo))>: Helo command rejected: invalid ip address", into: &node.children)
                    }
                }
            default:
                if classes.contains(name) {
                    let members = lists(name)
                    node.text = "restriction class \(name) = \(members.joined(separator: ", "))"
                    status = generic(state, members, replyName: replyName, replyClass: replyClass, defACL: defACL, into: &node.children)
                } else if known != nil {
                    status = notOffline("\(lname) is not reproduced offline", &node)
                } else {
                    node.children.append(ExplainNode(.warning, "unknown smtpd restriction: \"\(name)\""))
                    status = reject(state, code: 451, dsn: "4.3.5", "Server configuration error", into: &node.children)
                }
            }
            if state.warnIfReject >= state.recursion { state.warnIfReject = 0 }
            nodes.append(node)
            i += 1
            if !status.isDunno || (state.deferIfPermit != nil && state.deferIfReject != nil) {
                let decider = tableArg.map { "\(name) \($0)" } ?? name
                // The restrictions left, each with its argument (a table, a DNS list, a policy service).
                var rest: [String] = []
                var j = i
                while j < list.count {
                    var item = list[j]
                    if let argument = SMTPDRestrictions.restriction(item.lowercased())?.argument, argument != .none, j + 1 < list.count {
                        item += " " + list[j + 1]
                        j += 1
                    }
                    rest.append(item)
                    j += 1
                }
                if !rest.isEmpty {
                    nodes.append(ExplainNode(.note, "not evaluated: \(rest.joined(separator: ", ")): decided earlier by \(decider)"))
                }
                break
            }
        }
        return status
    }

    func accessResult(_ state: CheckState, _ out: AccessOutcome, table: String, replyName: String, replyClass: String,
                      defACL: String, node: inout ExplainNode) -> Status {
        node.children += out.nodes
        switch out.result {
        case .notFound: return .dunno
        case .failed(let e):
            // check_access(): a table that fails (or cannot be opened) answers as if it had returned
            // "451 4.3.5 Server configuration error", with the address and the reply class.
            node.children.append(ExplainNode(.error, e.message))
            return tableResult(state, table: table, value: Array("451 4.3.5 Server configuration error".utf8), replyName: replyName,
                               replyClass: replyClass, defACL: defACL, into: &node.children)
        case .found(let v):
            return tableResult(state, table: table, value: v, replyName: replyName, replyClass: replyClass, defACL: defACL, into: &node.children)
        }
    }

    func mynetworksValue() -> String {
        if let explicit = context.config.explicit["mynetworks"] { return context.config.value("mynetworks") ?? explicit }
        let networks = try? HostNetworks.networks(style: Array(context.value("mynetworks_style").utf8),
                                                  inetInterfaces: Array(context.value("inet_interfaces").utf8),
                                                  protocols: Array(context.value("inet_protocols").utf8), warn: { _ in })
        return ByteText.string(networks ?? [])
    }

    func mynetworks() -> MatchList<MapList> { context.matchList("mynetworks", kind: .hostnameAndAddress, value: mynetworksValue()) }

    /// `check_relay_domains` as Postfix 3.7.11 still implements it: permit when the client's name
    /// matches relay_domains or the destination is authorized (`permit_auth_destination`); otherwise
    /// reject with `relay_domains_reject_code` and "Relay access denied".
    func checkRelayDomains(_ state: CheckState, _ rcpt: [UInt8], into nodes: inout [ExplainNode]) -> Status {
        let client = context.matchList("relay_domains", kind: .hostname).explain(state.envelope.clientName)
        nodes += client.nodes
        // smtpd does not check the list's error here: a failed lookup is no match.
        if let e = client.error { nodes.append(ExplainNode(.error, "relay_domains: \(e)")) }
        if client.matched {
            nodes.append(ExplainNode(.decision, "the client name matches relay_domains (\(client.pattern ?? "")): permit"))
            return .permit
        }
        let (auth, why) = authDestination(rcpt, into: &nodes)
        if let why {
            nodes.append(ExplainNode(.notEvaluated, why))
            return .undetermined("check_relay_domains: \(why)")
        }
        if auth {
            nodes.append(ExplainNode(.decision, "authorized destination: permit"))
            return .permit
        }
        return reject(state, code: context.int("relay_domains_reject_code", 554), dsn: "5.7.1",
                      "<\(ByteText.string(rcpt))>: Recipient address rejected: Relay access denied", into: &nodes)
    }

    /// `permit_auth_destination()` over trivial-rewrite's address classes: local (mydestination,
    /// interfaces), virtual alias and virtual mailbox domains, relay_domains. Returns whether the
    /// destination is authorized, or why that is not known offline.
    func authDestination(_ recipient: [UInt8], into nodes: inout [ExplainNode]) -> (Bool, String?) {
        let rcpt = canonicalize(recipient)
        guard let at = rcpt.lastIndex(of: 0x40) else { return (true, nil) }
        let local = rcpt[..<at]
        if local.contains(where: { $0 == 0x21 || $0 == 0x25 || $0 == 0x40 }) {
            return (false, "the local part has routing characters (! % @): trivial-rewrite's source-route handling is not reproduced")
        }
        let domain = AddressSearch.lowerASCII(Array(rcpt[(at + 1)...]))
        let cls = addressClass(domain, into: &nodes)
        if let error = cls.error { return (false, error) }
        nodes.append(ExplainNode(.note, "\(ByteText.string(domain)): \(cls.name)"))
        if cls.name == AddressClass.defaultClass { virtualAliasOutsideItsDomains(rcpt, domain: domain, into: &nodes) }
        return (cls.name != AddressClass.defaultClass, nil)
    }

    /// The parameters trivial-rewrite reads to classify a domain.
    static let addressClassParameters = ["mydestination", "inet_interfaces", "proxy_interfaces", "virtual_alias_domains",
                                         "virtual_mailbox_domains", "relay_domains", "parent_domain_matches_subdomains"]

    struct AddressClass {
        var name: String
        var error: String?
        static let defaultClass = "default class: not in mydestination, inet_interfaces, virtual_alias_domains, virtual_mailbox_domains or relay_domains"
    }

    /// trivial-rewrite's address class of a domain.
    func addressClass(_ domain: [UInt8], into nodes: inout [ExplainNode]) -> AddressClass {
        // trivial-rewrite decides the class from main.cf: a service's -o does not reach it.
        let rewrite = context.trivialRewrite
        for parameter in Self.addressClassParameters where context.serviceSettings[parameter] != nil {
            nodes.append(ExplainNode(.note, "\(parameter)\(context.origin(of: parameter)) does not decide the address class: trivial-rewrite does, with main.cf's \(parameter)" + (rewrite.value(parameter).trimmingBlanks().isEmpty ? " (empty)" : " = \(rewrite.value(parameter))")))
        }
        let local = resolveLocal(domain)
        if local < 0 { return AddressClass(name: "", error: "mydestination lookup failed") }
        if local > 0 {
            var d = domain
            if d.last == 0x2E { d.removeLast() }
            // resolve.c: a local domain wins over the virtual domain lists, and with
            // helpful_warnings trivial-rewrite says so.
            if rewrite.config.bool("helpful_warnings", default: true) {
                for parameter in ["virtual_alias_domains", "virtual_mailbox_domains"] where rewrite.matchList(parameter, kind: .hostname).explain(domain).matched {
                    nodes.append(ExplainNode(.warning, "do not list domain \(ByteText.string(domain)) in BOTH mydestination and \(parameter) (trivial-rewrite logs this; mydestination wins: the domain is local, \(parameter) is not used for it)"))
                }
            }
            let r = rewrite.matchList("mydestination", kind: .string).explain(d)
            if r.matched { return AddressClass(name: "local domain (mydestination\(rewrite.origin(of: "mydestination")) pattern \(r.pattern ?? ""))") }
            return AddressClass(name: "local domain (an address literal of inet_interfaces or proxy_interfaces)")
        }
        for (parameter, name) in [("virtual_alias_domains", "virtual alias domain"), ("virtual_mailbox_domains", "virtual mailbox domain"), ("relay_domains", "relay domain")] {
            let r = rewrite.matchList(parameter, kind: .hostname).explain(domain)
            nodes += r.nodes
            if let e = r.error { return AddressClass(name: "", error: "\(parameter): \(e)") }
            if r.matched {
                if rewrite.config.bool("helpful_warnings", default: true) {
                    let others = parameter == "virtual_alias_domains" ? ["virtual_mailbox_domains", "relay_domains"] : parameter == "virtual_mailbox_domains" ? ["relay_domains"] : []
                    for other in others where rewrite.matchList(other, kind: .hostname).explain(domain).matched {
                        nodes.append(ExplainNode(.warning, "do not list domain \(ByteText.string(domain)) in BOTH \(parameter) and \(other) (trivial-rewrite logs this; \(parameter) wins)"))
                    }
                }
                let parent = rewrite.parentMatchesSubdomains(parameter) ? "; \(parameter) is in parent_domain_matches_subdomains, so example.com also matches its subdomains" : ""
                return AddressClass(name: "\(name) (\(parameter)\(context.origin(of: parameter)) pattern \(r.pattern ?? "")\(parent))")
            }
        }
        if !rewrite.value("relay_domains").trimmingBlanks().isEmpty, !rewrite.parentMatchesSubdomains("relay_domains") {
            nodes.append(ExplainNode(.note, "relay_domains is not in parent_domain_matches_subdomains: its domains do not match their subdomains (only .domain patterns do)"))
        }
        return AddressClass(name: AddressClass.defaultClass)
    }


    /// A virtual_alias_maps entry for an address whose domain is not a virtual alias domain: cleanup
    /// still rewrites it, but smtpd decides by the domain's class (relay access, recipient tables), so
    /// the entry does not make the domain acceptable.
    func virtualAliasOutsideItsDomains(_ rcpt: [UInt8], domain: [UInt8], into nodes: inout [ExplainNode]) {
        guard !context.value("virtual_alias_maps").trimmingBlanks().isEmpty else { return }
        let list = context.mapList(title: "virtual_alias_maps", value: context.value("virtual_alias_maps"))
        let (outcome, _) = search(rcpt, role: .virtualAliasMaps, list: list)
        guard case .found = outcome.result else { return }
        let setting = context.config.explicit["virtual_alias_domains"] == nil
            ? "virtual_alias_domains is $virtual_alias_maps by default: a domain is a virtual alias domain only when the table has the domain itself as a key"
            : "virtual_alias_domains = \(context.value("virtual_alias_domains"))\(context.origin(of: "virtual_alias_domains"))"
        nodes.append(ExplainNode(.note, "<\(ByteText.string(rcpt))> is in virtual_alias_maps, but \(ByteText.string(domain)) is not a virtual alias domain (\(setting)): smtpd decides by the domain's class, and cleanup rewrites the address only once smtpd accepts it"))
    }

    /// `check_rcpt_maps()`: the recipient must be known in the table of its address class.
    func recipientMaps(_ recipient: [UInt8], into nodes: inout [ExplainNode]) -> Status {
        let rcpt = canonicalize(recipient)
        guard let at = rcpt.lastIndex(of: 0x40) else { return .dunno }
        let domain = AddressSearch.lowerASCII(Array(rcpt[(at + 1)...]))
        let cls = addressClass(domain, into: &nodes)
        if let e = cls.error { return .undetermined(e) }
        let maps: String, table: String
        if cls.name.hasPrefix("local") { (maps, table) = ("local_recipient_maps", "local recipient table") }
        else if cls.name.hasPrefix("virtual alias") { (maps, table) = ("virtual_alias_maps", "virtual alias table") }
        else if cls.name.hasPrefix("virtual mailbox") { (maps, table) = ("virtual_mailbox_maps", "virtual mailbox table") }
        else if cls.name.hasPrefix("relay") { (maps, table) = ("relay_recipient_maps", "relay recipient table") }
        else {
            nodes.append(ExplainNode(.note, "\(cls.name): no recipient table applies"))
            virtualAliasOutsideItsDomains(rcpt, domain: domain, into: &nodes)
            return .dunno
        }
        nodes.append(ExplainNode(.note, "\(ByteText.string(domain)): \(cls.name): the recipient must be in canonical_maps, recipient_canonical_maps, virtual_alias_maps or \(maps)"))
        if context.value(maps).trimmingBlanks().isEmpty && maps != "virtual_alias_maps" {
            nodes.append(ExplainNode(.note, "\(maps) is empty: every recipient is accepted")); return .dunno
        }
        for parameter in ["recipient_canonical_maps", "canonical_maps", "virtual_alias_maps", maps] where !context.value(parameter).trimmingBlanks().isEmpty {
            let list = context.mapList(title: parameter, value: context.value(parameter))
            let (outcome, found) = search(rcpt, role: parameter == maps ? .relayRecipientMaps : .virtualMailboxMaps, list: list)
            var node = ExplainNode(.key, parameter, key: rcpt)
            node.children = found
            nodes.append(node)
            switch outcome.result {
            case .found: nodes.append(ExplainNode(.decision, "known in \(parameter)")); return .dunno
            case .failed(let e): return .undetermined("\(parameter): \(e.message)")
            case .notFound: continue
            }
        }
        let code = context.int(maps == "local_recipient_maps" ? "unknown_local_recipient_reject_code" : maps == "relay_recipient_maps" ? "unknown_relay_recipient_reject_code" : maps == "virtual_alias_maps" ? "unknown_virtual_alias_reject_code" : "unknown_virtual_mailbox_reject_code", 550)
        // show_user_unknown_table_name = no leaves the table's name out of the reply.
        // (for a virtual alias domain the text is trivial-rewrite's error next-hop, from main.cf).
        let textContext = maps == "virtual_alias_maps" ? context.trivialRewrite : context
        let shown = textContext.config.bool("show_user_unknown_table_name", default: true) ? " in \(table)" : ""
        // smtpd_dsn_fix(): the DSN's class follows the reply code (450 gives 4.1.1).
        let dsn = code >= 400 && code < 500 ? "4.1.1" : "5.1.1"
        let reply = "\(code) \(dsn) <\(ByteText.string(recipient))>: Recipient address rejected: User unknown\(shown)"
        nodes.append(ExplainNode(.decision, "reply: \(reply)"))
        return .reject(reply)
    }

    /// Why smtpd would refuse `address` as malformed (extract_addr(), then trivial-rewrite's resolve
    /// flagging a domain that is neither a valid hostname nor a valid address literal), or nil. An
    /// address without a domain is fine: it gets `@$myorigin`.
    func addressSyntaxProblem(_ address: [UInt8], sender: Bool) -> String? {
        var a = address
        if a.first == 0x3C, a.last == 0x3E, a.count >= 2 { a = Array(a.dropFirst().dropLast()) }
        if a.isEmpty { return sender ? nil : "an empty recipient address" }
        var quoted = false, atOutsideQuotes: Int?
        for (i, c) in a.enumerated() {
            if c == 0x22 { quoted.toggle() }
            if !quoted && c == 0x2C { return "more than one address" }
            if !quoted && c == 0x40 { atOutsideQuotes = i }
        }
        let canonical = canonicalize(a)
        guard atOutsideQuotes != nil || canonical != a, let at = canonical.lastIndex(of: 0x40) else { return nil }
        let domain = Array(canonical[(at + 1)...])
        if domain.first == 0x5B {
            guard domain.last == 0x5D else { return "domain \(ExplainRenderer.show(domain)): not a valid address literal" }
            var inner = Array(domain.dropFirst().dropLast())
            let v6 = inner.count > 5 && AddressSearch.lowerASCII(Array(inner.prefix(5))) == Array("ipv6:".utf8)
            if v6 { inner = Array(inner.dropFirst(5)) }
            guard let (family, _) = CIDRPattern.address(inner), (family == .ipv6) == v6 else {
                return "domain \(ExplainRenderer.show(domain)): not a valid address literal"
            }
            return nil
        }
        if domain.contains(where: { $0 >= 0x80 }), context.config.bool("smtputf8_enable", default: false) { return nil }
        return Self.validHostnameSyntax(domain) ? nil : "domain \(ExplainRenderer.show(domain)): not a valid hostname"
    }

    /// Postfix's `valid_hostname()`: labels of letters, digits, `_` and inner `-`, at most 63 bytes
    /// each and 255 in all, no empty label, not all digits.
    static func validHostnameSyntax(_ name: [UInt8]) -> Bool {
        if name.isEmpty || name.count > 255 { return false }
        var labelLength = 0, nonNumeric = false
        for (i, c) in name.enumerated() {
            let next: UInt8? = i + 1 < name.count ? name[i + 1] : nil
            if (c >= 0x30 && c <= 0x39) || (c | 0x20 >= 0x61 && c | 0x20 <= 0x7A) || c == 0x5F {
                labelLength += 1
                if labelLength > 63 { return false }
                if !(c >= 0x30 && c <= 0x39) { nonNumeric = true }
            } else if c == 0x2E {
                if labelLength == 0 || next == nil { return false }
                labelLength = 0
            } else if c == 0x2D {
                nonNumeric = true
                labelLength += 1
                if labelLength == 1 || next == nil || next == 0x2E { return false }
            } else {
                return false
            }
        }
        return nonNumeric
    }

    func validHostname(_ name: [UInt8]) -> Bool {
        if CIDRPattern.address(name) != nil { return true }
        if name.first == 0x5B, name.last == 0x5D { return CIDRPattern.address(Array(name.dropFirst().dropLast())) != nil }
        if name.isEmpty || name.count > 255 { return false }
        for label in name.split(separator: 0x2E, omittingEmptySubsequences: false) {
            if label.isEmpty || label.count > 63 || label.first == 0x2D || label.last == 0x2D { return false }
            if !label.allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || ($0 | 0x20 >= 0x61 && $0 | 0x20 <= 0x7A) || $0 == 0x2D || $0 == 0x5F }) { return false }
        }
        return true
    }
}

extension Explainer.Status {
    var isDunno: Bool { if case .dunno = self { return true } else { return false } }
    var isRejectOrUndetermined: Bool {
        switch self { case .reject, .undetermined: return true; default: return false }
    }
}

extension String {
    func trimmingBlanks() -> String {
        String(drop(while: { $0 == " " || $0 == "\t" }).reversed().drop(while: { $0 == " " || $0 == "\t" }).reversed())
    }
}
