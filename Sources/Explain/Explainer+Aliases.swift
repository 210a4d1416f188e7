import Maps
import PostfixText

/// local(8)'s alias expansion (local/alias.c, token.c, include.c): every alias, `:include:` file,
/// `|command`, `/file` and `owner-` alias, as a tree.
extension Explainer {
    func aliasExpansion(_ subject: [UInt8], list: MapList) -> Explanation {
        let limit = context.int("expansion_limit", 1000)
        var recipients = 0
        var problems: [String] = []
        var failure: ProbeResult?
        var included: Set<[UInt8]> = []
        var includeStack: [(folded: [UInt8], name: String)] = []
        var loops: [String] = []
        var permanent = false
        // The local part: `user@local.domain` and `user` both name the local user.
        func localPart(_ a: [UInt8]) -> [UInt8]? {
            guard let at = a.lastIndex(of: 0x40) else { return a }
            let domain = Array(a[(at + 1)...])
            if resolveLocal(domain) > 0 || AddressSearch.lowerASCII(domain) == AddressSearch.lowerASCII(Array(context.value("myorigin").utf8)) {
                return Array(a[..<at])
            }
            return nil
        }
        func lookupAlias(_ name: [UInt8], _ why: String, _ node: inout ExplainNode) -> ProbeResult {
            // local(8) asks each table itself (dict_get), full keys.
            let (outcome, trace) = list.find(name)
            var k = ExplainNode(.key, why, key: name)
            k.children = trace.map(ExplainNode.step)
            node.children.append(k)
            switch outcome {
            case .found(let v): return .found(v)
            case .notFound: return .notFound
            case .failed(_, let e, _): return .failed(e)
            }
        }
        func expandName(_ address: [UInt8], level: Int, path: [[UInt8]]) -> ExplainNode {
            var node = ExplainNode(.address, ExplainRenderer.show(address), key: address)
            guard failure == nil else { return node }
            guard let local = localPart(address) else {
                node.children.append(ExplainNode(.note, "not a local address: forwarded as is"))
                recipients += 1
                return node
            }
            let name = AddressSearch.lowerASCII(local)
            if path.contains(name) {
                let text = "alias database loop for \(ByteText.string(name)) (through \(path.map { ByteText.string($0) }.joined(separator: " -> ")))"
                node.children.append(ExplainNode(.warning, text + "; local(8) delivers to the user instead when the name is expanded from itself, otherwise bounces with 5.4.6 after 100 levels"))
                problems.append(text)
                return node
            }
            if level > 100 {
                problems.append("alias database loop for \(ByteText.string(name))")
                return node
            }
            var search = addressSearch()
            search.delimiters = Array(context.value("recipient_delimiter").utf8)
            var keys = [(name, "local part")]
            let (bare, ext) = search.stripExtension(name)
            if let bare, let ext {
                keys.append((bare, "local part without the extension \(ByteText.string(ext))"))
            }
            for (key, why) in keys {
                let r = lookupAlias(key, why, &node)
                if case .failed = r { failure = r; return node }
                guard case .found(let value) = r else { continue }
                // The owner- alias sets the envelope sender for errors.
                let owner = Array("owner-".utf8) + key
                var o = ExplainNode(.note, "owner alias")
                let ownerResult = lookupAlias(owner, "owner-\(ByteText.string(key)): where errors go", &o)
                if case .found(let ov) = ownerResult {
                    o.text = "errors go to owner-\(ByteText.string(key)) (\(ExplainRenderer.show(ov)))"
                } else {
                    o.text = "no owner-\(ByteText.string(key)) alias: errors go to the original sender"
                }
                node.children.append(o)
                for token in tokens(value) {
                    node.children.append(expandToken(token, level: level + 1, path: path + [name], origin: nil))
                }
                return node
            }
            node.children.append(ExplainNode(.note, "no alias: delivered to the local user \(ByteText.string(keys.last?.0 ?? name))"))
            recipients += 1
            return node
        }
        func expandToken(_ token: [UInt8], level: Int, path: [[UInt8]], origin: RuleLocation?) -> ExplainNode {
            var token = token
            if token.first == 0x22, token.last == 0x22, token.count >= 2 { token = Array(token.dropFirst().dropLast()) }
            let lower = AddressSearch.lowerASCII(token)
            if recipients >= limit {
                let text = "expansion_limit (\(limit)) reached: Postfix defers with \"unreasonable number of recipients\""
                if !problems.contains(text) { problems.append(text) }
                return ExplainNode(.warning, text)
            }
            if token.first == 0x7C {
                recipients += 1
                var n = ExplainNode(.delivery, "command: " + ByteText.string(Array(token.dropFirst())), rule: origin)
                n.children.append(ExplainNode(.note, "run by local(8) as the owner of the alias table (allow_mail_to_commands = \(context.value("allow_mail_to_commands")))"))
                return n
            }
            if token.first == 0x2F {
                recipients += 1
                return ExplainNode(.delivery, "file: " + ByteText.string(token), rule: origin)
            }
            if lower.starts(with: Array(":include:".utf8)) {
                let file = ByteText.string(Array(token.dropFirst(9)))
                var n = ExplainNode(.delivery, ":include: " + file, rule: origin)
                // local(8)'s duplicate elimination (been_here "include uid path", case-folded): a file
                // already expanded for this recipient is skipped, which is what ends include loops.
                let folded = AddressSearch.lowerASCII(Array(file.utf8))
                if included.contains(folded) {
                    if let start = includeStack.firstIndex(where: { $0.folded == folded }) {
                        let chain = (includeStack[start...].map(\.name) + [file]).joined(separator: " -> ")
                        let text = "include loop: \(chain)"
                        n.children.append(ExplainNode(.warning, text + "; local(8) expands each :include: file once per recipient and ignores the repeat"))
                        if !loops.contains(text) { loops.append(text) }
                    } else {
                        n.children.append(ExplainNode(.note, "already expanded for this recipient: local(8) ignores the repeat (duplicate elimination)"))
                    }
                    return n
                }
                included.insert(folded)
                if includeStack.count >= 1000 {
                    let text = ":include: files nested deeper than 1000 levels: postexplain stops expanding here"
                    n.children.append(ExplainNode(.warning, text))
                    if !problems.contains(text) { problems.append(text) }
                    return n
                }
                switch FileText.includeFile(file, limit: Self.includeSizeLimit) {
                case .failure(let e):
                    n.children.append(ExplainNode(.warning, e.warning + " (local(8) bounces the recipient: 5.3.5 mail system configuration error)"))
                    problems.append(e.warning)
                    permanent = true
                case .success(let (bytes, truncated)):
                    includeStack.append((folded, file))
                    defer { includeStack.removeLast() }
                    if truncated {
                        let text = "include file \(file) is larger than \(Self.includeSizeLimit) bytes: postexplain expands only its first \(Self.includeSizeLimit) bytes"
                        n.children.append(ExplainNode(.warning, text))
                        if !problems.contains(text) { problems.append(text) }
                    }
                    for line in FileText.lines(bytes) {
                        let trimmed = line.text.drop(while: { $0 == 0x20 || $0 == 0x09 })
                        if trimmed.isEmpty || trimmed.first == 0x23 { continue }
                        for t in tokens(Array(trimmed)) {
                            n.children.append(expandToken(t, level: level + 1, path: path, origin: RuleLocation(file: file, line: line.number)))
                        }
                    }
                }
                return n
            }
            var child = expandName(token, level: level, path: path)
            child.rule = origin
            return child
        }
        let root = expandName(subject, level: 0, path: [])
        if let failure { return finish(failure, [root]) }
        if !problems.isEmpty {
            var e = Explanation(subject: "", verdict: permanent ? .configurationError : .temporaryError,
                                summary: (problems + loops).joined(separator: "; "), nodes: [root])
            e.warnings += problems + loops
            return e
        }
        let expanded = root.children.contains { $0.kind == .key && $0.children.contains { $0.outcome == "found" } }
        var e = Explanation(subject: "", verdict: expanded ? .found : .notFound,
                            summary: (expanded ? "\(recipients) destination(s)" : "no alias") + loops.map { "; " + $0 }.joined(), nodes: [root])
        e.warnings += loops
        return e
    }

    /// How much of an `:include:` file postexplain reads (local(8) streams it, without a bound).
    static let includeSizeLimit = 8 << 20

    /// The tokens of an alias value or include line: commas and blanks outside quotes.
    func tokens(_ value: [UInt8]) -> [[UInt8]] {
        var out: [[UInt8]] = []
        var current: [UInt8] = []
        var quoted = false
        for c in value {
            if c == 0x22 { quoted.toggle() }
            if !quoted && (c == 0x2C || c == 0x20 || c == 0x09 || c == 0x0A) {
                if !current.isEmpty { out.append(current) }
                current = []
            } else {
                current.append(c)
            }
        }
        if !current.isEmpty { out.append(current) }
        return out
    }
}
