import Maps
import PostfixConfig
import PostfixText

/// Postfix's match lists (`match_list.c`, `match_ops.c`): `mydestination` (strings), `relay_domains`
/// and the other domain lists (host names, parent domains), `mynetworks` (names and addresses).
/// Patterns are split on commas and blanks outside `{}`; `!` negates; `/file` reads patterns from a
/// file; `type:table` is looked up. The first pattern that matches decides.
final class MatchList {
    enum Kind {
        /// `string_list`: exact, case-insensitive (mydestination).
        case string
        /// `domain_list`: exact, parent domains (`.example.com`, or `example.com` with parent style).
        case hostname
        /// `namadr_list`: host name patterns and address patterns (mynetworks).
        case hostnameAndAddress
    }

    /// One parsed pattern.
    struct Pattern {
        var negated: Bool
        var text: [UInt8]
        var table: MapList?
        /// A `/file` that could not be opened: every match attempt is an error, as in Postfix.
        var missingFile: String?
    }

    let title: String
    let kind: Kind
    let parent: Bool
    private(set) var patterns: [Pattern] = []

    init(title: String, value: String, kind: Kind, parent: Bool, context: ExplainContext) {
        self.title = title
        self.kind = kind
        self.parent = parent
        parse(ByteText.bytes(of: value), negated: false, context: context)
    }

    private func parse(_ text: [UInt8], negated initial: Bool, context: ExplainContext) {
        for token in ConfigText.quotedTokens(text, ConfigText.isCommaOrBlank) {
            if token.first == 0x23 { break }
            var negated = initial
            var item = token[...]
            while item.first == 0x21 { negated.toggle(); item = item.dropFirst() }
            if item.isEmpty { continue }
            let itemText = Array(item)
            if item.first == 0x2F {
                let path = ByteText.string(itemText)
                switch FileText.read(path) {
                case .success(let bytes):
                    for line in FileText.lines(bytes) where line.text.first != 0x23 {
                        parse(line.text, negated: negated, context: context)
                    }
                case .failure(let e):
                    patterns.append(Pattern(negated: negated, text: itemText, table: nil, missingFile: "open file \(path): \(e.text)"))
                }
            } else if item.first != 0x5B, item.contains(0x3A) {
                let spec = ByteText.string(itemText)
                patterns.append(Pattern(negated: negated, text: itemText, table: context.mapList(title: title, value: spec)))
            } else {
                patterns.append(Pattern(negated: negated, text: Self.lower(itemText), table: nil))
            }
        }
    }

    static func lower(_ s: [UInt8]) -> [UInt8] { s.map { $0 >= 0x41 && $0 <= 0x5A ? $0 + 32 : $0 } }

    /// The result of matching: whether it matched, the pattern that decided, and the table lookups made.
    struct Result {
        var matched: Bool
        var pattern: String?
        var error: String?
        var nodes: [ExplainNode]
    }

    /// Match one string (a domain for string and hostname lists), or a name and an address.
    func match(_ subject: [UInt8], address: [UInt8]? = nil) -> Result {
        var nodes: [ExplainNode] = []
        let name = Self.lower(subject)
        let addr = address.map(Self.lower)
        for pattern in patterns {
            let shown = (pattern.negated ? "!" : "") + ByteText.string(pattern.text)
            if let missing = pattern.missingFile {
                return Result(matched: false, pattern: shown, error: missing, nodes: nodes)
            }
            var args: [([UInt8], Bool)] = []
            switch kind {
            case .string, .hostname: args = [(name, false)]
            case .hostnameAndAddress:
                args = [(name, false)]
                if let addr { args.append((addr, true)) }
            }
            for (arg, isAddress) in args {
                let outcome: (Bool, String?)
                if isAddress {
                    outcome = matchAddress(arg, pattern, &nodes)
                } else if kind == .string {
                    outcome = matchString(arg, pattern, &nodes)
                } else {
                    outcome = matchHost(arg, pattern, &nodes)
                }
                if let error = outcome.1 { return Result(matched: false, pattern: shown, error: error, nodes: nodes) }
                if outcome.0 { return Result(matched: !pattern.negated, pattern: shown, error: nil, nodes: nodes) }
            }
        }
        return Result(matched: false, pattern: nil, error: nil, nodes: nodes)
    }

    private func lookup(_ table: MapList, _ key: [UInt8], _ nodes: inout [ExplainNode]) -> (Bool, String?) {
        let (outcome, trace) = table.find(key)
        var node = ExplainNode(.key, "\(title) pattern \(table.specs.map(\.description).joined(separator: ","))", key: key)
        node.children = trace.map(ExplainNode.step)
        nodes.append(node)
        switch outcome {
        case .found: return (true, nil)
        case .notFound: return (false, nil)
        case .failed(let spec, let error, _): return (false, "\(spec): table lookup problem: \(error.message)")
        }
    }

    private func matchString(_ s: [UInt8], _ p: Pattern, _ nodes: inout [ExplainNode]) -> (Bool, String?) {
        if let table = p.table { return lookup(table, s, &nodes) }
        return (s == p.text, nil)
    }

    private func matchHost(_ name: [UInt8], _ p: Pattern, _ nodes: inout [ExplainNode]) -> (Bool, String?) {
        if let table = p.table {
            var start = 0
            var first = true
            while start < name.count {
                // Postfix looks up parent domains only in tables with fixed keys.
                let fixed = table.specs.allSatisfy { MapCatalog.entry(named: $0.type)?.keys == .fixed }
                if first || fixed {
                    let r = lookup(table, Array(name[start...]), &nodes)
                    if r.0 || r.1 != nil { return r }
                }
                first = false
                guard let dot = name[(start + 1)...].firstIndex(of: 0x2E) else { break }
                start = parent ? dot + 1 : dot
            }
            return (false, nil)
        }
        if name == p.text { return (true, nil) }
        if p.text.count < name.count {
            let tail = Array(name[(name.count - p.text.count)...])
            if parent {
                if tail == p.text, name[name.count - p.text.count - 1] == 0x2E { return (true, nil) }
            } else if p.text.first == 0x2E, tail == p.text {
                return (true, nil)
            }
        }
        return (false, nil)
    }

    private func matchAddress(_ addr: [UInt8], _ p: Pattern, _ nodes: inout [ExplainNode]) -> (Bool, String?) {
        let addrChars = Set(Array("0123456789.abcdefABCDEF:".utf8))
        if addr.contains(where: { !addrChars.contains($0) }) { return (false, nil) }
        if let table = p.table { return lookup(table, addr, &nodes) }
        if p.text.first != 0x5B {
            if addr == p.text { return (true, nil) }
        } else if p.text == [0x5B] + addr + [0x5D] {
            return (true, nil)
        }
        let v4 = Set(Array("01234567890.".utf8))
        let v6 = v4.union(Array("abcdefABCDEF:[]/".utf8))
        if addr.contains(0x3A) != p.text.contains(0x3A) { return (false, nil) }
        if !p.text.contains(0x3A) && !p.text.contains(0x2F) { return (false, nil) }
        if p.text.allSatisfy({ v4.contains($0) }) { return (false, nil) }
        if p.text.contains(where: { !v6.contains($0) }) { return (false, nil) }
        switch CIDRPattern.parse(p.text) {
        case .failure(let e): return (false, e.message)
        case .success(let cidr):
            guard let (family, value) = CIDRPattern.address(addr), family == cidr.family else { return (false, nil) }
            return (cidr.contains(value), nil)
        }
    }
}
