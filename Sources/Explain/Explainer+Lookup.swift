import Maps
import PostfixConfig
import PostfixText

/// `postexplain lookup ROLE KEY`: one role's search, with the expansions that follow it.
extension Explainer {
    /// Explain a lookup. `table` replaces the parameter's value (and is required for access roles).
    public func lookup(role: Role, subject: [UInt8], table: String?) throws(ExplainError) -> Explanation {
        let list: MapList
        if let table {
            list = context.mapList(title: role.rawValue, value: table)
        } else if role.isAccess {
            throw ExplainError(.input, "\(role.rawValue) needs --table type:name (the table named after it in a restriction list)")
        } else {
            list = try context.mapList(parameter: role.rawValue)
        }
        let tables = list.specs.map(\.description).joined(separator: ", ")
        let subjectLine = "\(role.rawValue) (\(tables.isEmpty ? "no tables" : tables)): \(ExplainRenderer.show(subject))"
        if list.specs.isEmpty && !role.isAccess {
            return Explanation(subject: subjectLine, verdict: .notFound, summary: "\(role.rawValue) is empty", nodes: [])
        }
        for spec in list.specs where spec.type.isEmpty {
            throw ExplainError(.configuration, "\(role.rawValue): expecting \"type:name\" form instead of \"\(spec.name)\"")
        }
        var explanation: Explanation
        switch role {
        case .virtualAliasMaps:
            try validateAddress(subject, what: role.rawValue)
            explanation = virtualExpansion(subject, list: list)
        case .canonicalMaps, .senderCanonicalMaps, .recipientCanonicalMaps:
            try validateAddress(subject, what: role.rawValue)
            explanation = canonicalRewrite(subject, role: role, list: list)
        case .aliasMaps:
            explanation = aliasExpansion(subject, list: list)
        case .transportMaps:
            try validateAddress(subject, what: role.rawValue)
            let (outcome, nodes) = search(subject, role: role, list: list)
            explanation = finish(outcome.result, nodes)
            if case .notFound = outcome.result {
                let (wild, trace) = list.find(Array("*".utf8))
                var node = ExplainNode(.key, "wildcard entry, after every other key", key: Array("*".utf8))
                node.children = trace.map(ExplainNode.step)
                explanation.nodes.append(node)
                if case .found(let v) = wild { explanation = finish(.found(v), explanation.nodes) }
                if case .failed(_, let e, _) = wild { explanation = finish(.failed(e), explanation.nodes) }
            }
            if let value = explanation.value { explanation.summary = transportSummary(value, subject) }
        case .senderDependentRelayhostMaps:
            var key = subject
            if subject == Array("<>".utf8) || subject.isEmpty {
                key = Array((context.config.value("empty_address_relayhost_maps_lookup_key") ?? "<>").utf8)
            } else {
                try validateAddress(subject, what: role.rawValue)
            }
            let (outcome, nodes) = search(key, role: role, list: list)
            explanation = finish(outcome.result, nodes)
        case .relocatedMaps, .virtualMailboxMaps, .relayRecipientMaps:
            try validateAddress(subject, what: role.rawValue)
            let (outcome, nodes) = search(subject, role: role, list: list)
            explanation = finish(outcome.result, nodes)
            if role == .relocatedMaps, let v = explanation.value {
                explanation.summary = "550 5.1.6 <\(ByteText.string(subject))>: Recipient address rejected: User has moved to \(ByteText.string(v))"
            }
        case .checkClientAccess, .checkReverseClientAccess:
            let (name, address) = try Self.parseClient(subject)
            let out = clientAccess(list, name: name, address: address)
            explanation = finish(out.result, out.nodes)
        case .checkHeloAccess:
            if subject.isEmpty { throw ExplainError(.input, "check_helo_access: empty HELO name") }
            let out = domainAccess(list, AddressSearch.lowerASCII(subject), full: true)
            explanation = finish(out.result, out.nodes)
        case .checkSenderAccess, .checkRecipientAccess:
            let address = subject == Array("<>".utf8) ? [] : subject
            if !address.isEmpty { try validateAddress(address, what: role.rawValue) }
            let out = mailAccess(list, address, role: role)
            explanation = finish(out.result, out.nodes)
        case .checkClientMXAccess, .checkClientNSAccess, .checkHeloMXAccess, .checkHeloNSAccess,
             .checkSenderMXAccess, .checkSenderNSAccess, .checkRecipientMXAccess, .checkRecipientNSAccess:
            let kind = role.rawValue.hasSuffix("_mx_access") ? "MX" : "NS"
            explanation = Explanation(subject: subjectLine, verdict: .undetermined,
                                      summary: "needs DNS: the \(kind) hosts of the domain and their addresses",
                                      nodes: [ExplainNode(.notEvaluated, "\(role.rawValue) looks up the \(kind) hosts of the domain in DNS, then each host name and address in \(tables)")])
        }
        explanation.subject = subjectLine
        if role.isAccess, let value = explanation.value {
            explanation.nodes.append(ExplainNode(.decision, "action: " + describeAction(value)))
        }
        explanation.warnings += context.drainWarnings()
        return explanation
    }

    /// An explanation from a search result.
    func finish(_ result: ProbeResult, _ nodes: [ExplainNode]) -> Explanation {
        switch result {
        case .found(let v):
            return Explanation(subject: "", verdict: .found, summary: ExplainRenderer.show(v), value: v, nodes: nodes)
        case .notFound:
            return Explanation(subject: "", verdict: .notFound, summary: "no key matched", nodes: nodes)
        case .failed(let e):
            return Explanation(subject: "", verdict: e.code == .temporary ? .temporaryError : .configurationError,
                               summary: e.message, nodes: nodes)
        }
    }

    /// transport(5): `transport:nexthop`, an empty part keeping the default.
    func transportSummary(_ value: [UInt8], _ address: [UInt8]) -> String {
        let text = ByteText.string(value)
        guard let colon = text.firstIndex(of: ":") else { return "transport \(text), next hop unchanged" }
        let transport = String(text[..<colon]), nexthop = String(text[text.index(after: colon)...])
        return "transport \(transport.isEmpty ? "(unchanged)" : transport), next hop \(nexthop.isEmpty ? "(the recipient domain)" : nexthop)"
    }

    // MARK: virtual and canonical

    /// Split a lookup result into addresses (`mail_addr_crunch`): commas outside quotes and `<>`.
    func crunch(_ value: [UInt8], extensionPart: [UInt8]?) -> [[UInt8]] {
        var out: [[UInt8]] = []
        var current: [UInt8] = []
        var quoted = false
        for c in value {
            if c == 0x22 { quoted.toggle() }
            if !quoted && (c == 0x2C || c == 0x20 || c == 0x09) {
                if !current.isEmpty { out.append(current) }
                current = []
            } else {
                current.append(c)
            }
        }
        if !current.isEmpty { out.append(current) }
        return out.map { raw in
            var a = raw
            if a.first == 0x3C, a.last == 0x3E { a = Array(a.dropFirst().dropLast()) }
            a = canonicalize(AddressSearch.unquoteLocal(a))
            if let ext = extensionPart, let at = a.lastIndex(of: 0x40) { a.insert(contentsOf: ext, at: at) }
            return a
        }
    }

    /// `mail_addr_map`: one search, `@domain` results prefixed with the user, the result split.
    func mapAddress(_ address: [UInt8], role: Role, list: MapList, propagate: Bool) -> (ProbeResult, [[UInt8]], [ExplainNode]) {
        var (outcome, nodes) = search(address, role: role, list: list)
        guard case .found(var value) = outcome.result else { return (outcome.result, [], nodes) }
        if let ext = outcome.extensionPart {
            let setting = context.value("propagate_unmatched_extensions")
            let what = role == .virtualAliasMaps ? "virtual" : "canonical"
            nodes.append(ExplainNode(.note, "the unmatched extension \(ByteText.string(ext)) is \(propagate ? "" : "not ")added to the result: "
                + "\(what) is \(propagate ? "" : "not ")in propagate_unmatched_extensions (= \(setting.isEmpty ? "empty" : setting))"))
        }
        if value.first == 0x40 {
            var user = Array(address[..<(address.lastIndex(of: 0x40) ?? address.count)])
            if let ext = outcome.extensionPart { user.removeLast(min(ext.count, user.count)) }
            value = user + value
        }
        return (outcome.result, crunch(value, extensionPart: propagate ? outcome.extensionPart : nil), nodes)
    }

    func propagates(_ what: String) -> Bool {
        ConfigText.tokens(Array(context.value("propagate_unmatched_extensions").utf8), ConfigText.isCommaOrBlank)
            .contains { ByteText.string($0) == what }
    }

    /// cleanup's `cleanup_map1n_internal()`: recursive virtual alias expansion with its limits.
    func virtualExpansion(_ address: [UInt8], list: MapList) -> Explanation {
        let recursionLimit = context.int("virtual_alias_recursion_limit", 1000)
        let expansionLimit = context.int("virtual_alias_expansion_limit", 1000)
        let propagate = propagates("virtual")
        var beenHere = Set<[UInt8]>()
        var count = 0
        var failure: ProbeResult?
        var problem: String?
        func lower(_ a: [UInt8]) -> [UInt8] { AddressSearch.lowerASCII(a) }
        // Returns the node for `addr` and the final addresses it expands to.
        func expand(_ addr: [UInt8], depth: Int, path: [[UInt8]]) -> (ExplainNode, [[UInt8]]) {
            var node = ExplainNode(.address, ExplainRenderer.show(addr), key: addr)
            if failure != nil || problem != nil { return (node, [addr]) }
            if beenHere.contains(lower(addr)) {
                node.children.append(ExplainNode(.note, "already expanded into itself: delivered as is"))
                return (node, [addr])
            }
            if depth >= recursionLimit {
                problem = "unreasonable virtual_alias_maps map nesting for \(ByteText.string(address)) -- message not accepted, try again later"
                node.children.append(ExplainNode(.warning, problem ?? ""))
                return (node, [addr])
            }
            if path.contains(lower(addr)) {
                node.children.append(ExplainNode(.warning, "loop: \(ExplainRenderer.show(addr)) expands back into itself through \(path.map { ExplainRenderer.show($0) }.joined(separator: " -> ")); Postfix follows it until virtual_alias_recursion_limit (\(recursionLimit))"))
                problem = "unreasonable virtual_alias_maps map nesting for \(ByteText.string(address)) -- message not accepted, try again later"
                return (node, [addr])
            }
            let (result, results, nodes) = mapAddress(addr, role: .virtualAliasMaps, list: list, propagate: propagate)
            node.children += nodes
            switch result {
            case .failed:
                failure = result
                node.children.append(ExplainNode(.warning, "virtual_alias_maps map lookup problem for \(ByteText.string(address)) -- message not accepted, try again later"))
                return (node, [addr])
            case .notFound:
                return (node, [addr])
            case .found:
                var finals: [[UInt8]] = []
                for r in results {
                    if lower(r) == lower(addr) { beenHere.insert(lower(addr)) }
                    count += 1
                    if count > expansionLimit {
                        problem = "unreasonable virtual_alias_maps map expansion size for \(ByteText.string(address)) -- message not accepted, try again later"
                        node.children.append(ExplainNode(.warning, problem ?? ""))
                        return (node, finals)
                    }
                    let (child, f) = lower(r) == lower(addr) ? (ExplainNode(.address, ExplainRenderer.show(r) + "  (itself: not expanded again)", key: r), [r])
                                                              : expand(r, depth: depth + 1, path: path + [lower(addr)])
                    node.children.append(child)
                    finals += f
                }
                return (node, finals)
            }
        }
        let (root, finals) = expand(address, depth: 0, path: [])
        if let failure { return finish(failure, [root]) }
        if let problem {
            var e = Explanation(subject: "", verdict: .temporaryError, summary: "4.6.0 Alias expansion error: " + problem, nodes: [root])
            e.warnings.append(problem)
            return e
        }
        let rewritten = finals != [address]
        // An identity entry (john@example.org -> john@example.org) is found: the address stays as it is.
        let identity = !rewritten && beenHere.contains(lower(address))
        var e = Explanation(subject: "", verdict: rewritten || identity ? .found : .notFound,
                            summary: rewritten ? "rewritten to " + finals.map { ExplainRenderer.show($0) }.joined(separator: ", ")
                                : identity ? "found: \(ExplainRenderer.show(address)) maps to itself and is kept as it is" : "not rewritten",
                            value: rewritten || identity ? Array(finals.map { ByteText.string($0) }.joined(separator: ", ").utf8) : nil, nodes: [root])
        if rewritten { e.nodes.append(ExplainNode(.decision, "\(finals.count) final address(es)")) }
        return e
    }

    /// cleanup's `cleanup_map11_external()`: canonical rewriting, repeated until the address is stable.
    func canonicalRewrite(_ address: [UInt8], role: Role, list: MapList) -> Explanation {
        var addr = address
        var nodes: [ExplainNode] = []
        let propagate = propagates("canonical")
        for round in 0..<10 {
            let (result, results, found) = mapAddress(addr, role: role, list: list, propagate: propagate)
            var node = ExplainNode(.address, "round \(round + 1): " + ExplainRenderer.show(addr), key: addr)
            node.children = found
            nodes.append(node)
            switch result {
            case .failed: return finish(result, nodes)
            case .notFound:
                let rewritten = addr != address
                return Explanation(subject: "", verdict: rewritten ? .found : .notFound,
                                   summary: rewritten ? "rewritten to " + ExplainRenderer.show(addr) : "not rewritten",
                                   value: rewritten ? addr : nil, nodes: nodes)
            case .found:
                guard let first = results.first else {
                    return Explanation(subject: "", verdict: .temporaryError, summary: "\(role.rawValue) lookup of \(ByteText.string(addr)) returns non-address result", nodes: nodes)
                }
                if results.count > 1 { nodes.append(ExplainNode(.warning, "multi-valued \(role.rawValue) entry for \(ByteText.string(addr)): only the first is used")) }
                let same = AddressSearch.lowerASCII(first) == AddressSearch.lowerASCII(addr)
                addr = first
                if same {
                    return Explanation(subject: "", verdict: .found, summary: "rewritten to " + ExplainRenderer.show(addr), value: addr, nodes: nodes)
                }
            }
        }
        // cleanup_map11_external() logs the warning and goes on: the message is accepted with the
        // address reached after the last round (the warning's "not accepted" notwithstanding).
        let warning = "unreasonable \(role.rawValue) map nesting for \(ByteText.string(addr)) -- message not accepted, try again later"
        nodes.append(ExplainNode(.warning, warning + " (cleanup logs this after 10 rounds, yet accepts the message with the address reached)"))
        var e = Explanation(subject: "", verdict: .found, summary: "rewritten to " + ExplainRenderer.show(addr) + " (unreasonable \(role.rawValue) map nesting: stopped after 10 rounds)",
                            value: addr, nodes: nodes)
        e.warnings.append(warning)
        return e
    }
}
