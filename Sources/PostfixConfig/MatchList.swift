import PostfixText
import Maps
#if canImport(Glibc)
import Glibc
#endif

/// Postfix's match lists (`match_list.c`, `match_ops.c`): `mydestination` and the `domain` setting of
/// the database clients (strings), `relay_domains` and the other domain lists (host names and parent
/// domains), `mynetworks` (host names and addresses). Patterns are split on commas and blanks outside
/// `{}`; a leading `!` negates; `/file` reads more patterns from a file; `type:table` is looked up.
/// The first pattern that matches decides.
///
/// `Table` is what a `type:table` pattern opens to (a `LookupTable`, or a traced `MapList`): the list
/// asks its owner to look keys up in it, so each owner keeps its own error handling and traces.
public final class MatchList<Table> {
    public enum Kind: Sendable {
        /// `string_list`: exact, case-insensitive (mydestination, database clients' `domain`).
        case string
        /// `domain_list`: exact, and parent domains (`.example.com`, or `example.com` with `parent`).
        case hostname
        /// `namadr_list`: host name patterns, then address patterns (mynetworks).
        case hostnameAndAddress
    }

    /// What to do with a pattern that cannot be used: `!` alone, a table that does not open, a `/file`
    /// that cannot be read.
    public enum Errors: Sendable {
        /// Stop parsing: `failure` says why (Postfix's programs: a fatal error).
        case stop
        /// Keep the error as a pattern and go on: matching fails when it reaches it (explain shows it).
        case whenMatched
    }

    /// One parsed pattern.
    public struct Pattern {
        public let negated: Bool
        /// The pattern as written (literals case-folded).
        public let text: [UInt8]
        public let table: Table?
        /// Whether the table has fixed keys: only then are parent domains of a host name looked up.
        public let fixedKeys: Bool
        /// A pattern that cannot be used (`Errors.whenMatched`): every match attempt that reaches it fails.
        public let error: String?

        /// The pattern as shown in results: `!` and the text.
        public var shown: String { (negated ? "!" : "") + ByteText.string(text) }
    }

    /// The answer of one table lookup.
    public enum TableAnswer {
        case found
        case notFound
        /// The lookup failed: the match fails with this text.
        case failed(String)
    }

    /// The result of matching: whether it matched, the pattern that decided, or why it failed.
    public struct Result {
        public var matched: Bool
        public var pattern: String?
        public var error: String?
    }

    /// The list's name (the parameter or table), which prefixes warnings and errors.
    public let title: String
    public let kind: Kind
    /// `parent_domain_matches_subdomains` lists this list: `example.com` matches its subdomains too.
    public let parent: Bool
    public private(set) var patterns: [Pattern] = []
    /// With `Errors.stop`: the error that stopped parsing (the patterns before it are kept).
    public private(set) var failure: MapError?
    private let unicodeFold: Bool
    private let errors: Errors
    private let warn: (String) -> Void
    private let openTable: (String) throws(MapError) -> (table: Table, fixedKeys: Bool)

    /// Parse `text`. `openTable` opens a `type:name` pattern; `warn` gets Postfix's parse warnings;
    /// `unicodeFold` folds case as `smtputf8_enable = yes` does (else ASCII only); `errors` says what a
    /// pattern that cannot be used does.
    public init(title: String, text: [UInt8], kind: Kind, parent: Bool = false, unicodeFold: Bool = false,
                errors: Errors, warn: @escaping (String) -> Void = { _ in },
                openTable: @escaping (String) throws(MapError) -> (table: Table, fixedKeys: Bool)) {
        self.title = title
        self.kind = kind
        self.parent = parent
        self.unicodeFold = unicodeFold
        self.errors = errors
        self.warn = warn
        self.openTable = openTable
        do {
            try parse(text, negated: false)
        } catch {
            failure = error
        }
    }

    /// A pattern that cannot be used: with `.stop` parsing ends with `error`, else it becomes a pattern.
    private func unusable(_ text: [UInt8], negated: Bool, _ error: MapError) throws(MapError) {
        switch errors {
        case .stop: throw error
        case .whenMatched:
            patterns.append(Pattern(negated: negated, text: text, table: nil, fixedKeys: false, error: error.message))
        }
    }

    /// Case folding of patterns and subjects.
    public func fold(_ bytes: [UInt8]) -> [UInt8] {
        unicodeFold ? CaseFolding.unicodeFolded(bytes) : CaseFolding.asciiLowercased(bytes)
    }

    private func parse(_ text: [UInt8], negated initial: Bool) throws(MapError) {
        // Items as Postfix's mystrtokq() splits them: delimiters inside `{ }` do not split.
        for range in ConfigText.quotedTokenRanges(text, ConfigText.isCommaOrBlank) {
            let token = text[range]
            if token.first == 0x23 {
                var rest = text[min(range.upperBound + 1, text.count)...]
                let clients = PostfixRelease.current.clients
                if let limit = clients.commentAfterTextLimit { rest = rest.prefix(limit) }
                let message = clients.commentAfterText.replacing("{token}", with: ByteText.string(Array(token)))
                    .replacing("{rest}", with: ByteText.string(Array(rest)))
                warn("\(title): \(message)")
                break
            }
            var negated = initial
            var item = token
            while item.first == 0x21 { negated.toggle(); item = item.dropFirst() }
            if item.isEmpty {
                try unusable(Array(token), negated: negated, .configuration("\(title): no pattern after '!'"))
                continue
            }
            let itemText = Array(item)
            if item.first == 0x2F {
                try parseFile(itemText, negated: negated)
            } else if item.first != 0x5B, item.contains(0x3A) {
                do {
                    let opened = try openTable(ByteText.string(itemText))
                    patterns.append(Pattern(negated: negated, text: itemText, table: opened.table, fixedKeys: opened.fixedKeys, error: nil))
                } catch {
                    try unusable(itemText, negated: negated, error)
                }
            } else {
                patterns.append(Pattern(negated: negated, text: fold(itemText), table: nil, fixedKeys: false, error: nil))
            }
        }
    }

    private func parseFile(_ pathBytes: [UInt8], negated: Bool) throws(MapError) {
        let path = ByteText.string(pathBytes)
        func failed(_ text: String) throws(MapError) {
            try unusable(pathBytes, negated: negated, .configuration(text))
        }
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return try failed("open file \(path): \(systemErrorText(errno))") }
        defer { Glibc.close(fd) }
        let reader = ByteReader(fd: fd, path: path)
        var line: [UInt8] = []
        while reader.nextLine(into: &line) {
            if line.first == 0x23 { continue }
            try parse(line, negated: negated)
        }
        if reader.readError != 0 {
            try failed("match_list_parse: read file \(path): \(systemErrorText(reader.readError))")
        }
    }

    /// Whether the list holds literal patterns only, so matching it has no side effects.
    public var isLiteral: Bool { patterns.allSatisfy { $0.table == nil && $0.error == nil } }

    /// Match one string (a domain or host name), or for `hostnameAndAddress` a name and an address.
    /// `lookup` looks a key up in a pattern's table.
    public func match(_ subject: [UInt8], address: [UInt8]? = nil,
                      lookup: (Table, [UInt8]) -> TableAnswer) -> Result {
        let name = fold(subject)
        let addr = address.map(CaseFolding.asciiLowercased)
        for pattern in patterns {
            if let error = pattern.error { return Result(matched: false, pattern: pattern.shown, error: error) }
            var args: [([UInt8], Bool)] = [(name, false)]
            if kind == .hostnameAndAddress, let addr { args.append((addr, true)) }
            for (arg, isAddress) in args {
                let outcome: (Bool, String?)
                if isAddress {
                    outcome = matchAddress(arg, pattern, lookup)
                } else if kind == .string {
                    outcome = matchString(arg, pattern, lookup)
                } else {
                    outcome = matchHost(arg, pattern, lookup)
                }
                if let error = outcome.1 { return Result(matched: false, pattern: pattern.shown, error: error) }
                if outcome.0 { return Result(matched: !pattern.negated, pattern: pattern.shown, error: nil) }
            }
        }
        return Result(matched: false, pattern: nil, error: nil)
    }

    private func ask(_ table: Table, _ key: [UInt8], _ lookup: (Table, [UInt8]) -> TableAnswer) -> (Bool, String?) {
        switch lookup(table, key) {
        case .found: return (true, nil)
        case .notFound: return (false, nil)
        case .failed(let text): return (false, text)
        }
    }

    /// `match_string`.
    private func matchString(_ s: [UInt8], _ p: Pattern, _ lookup: (Table, [UInt8]) -> TableAnswer) -> (Bool, String?) {
        if let table = p.table { return ask(table, s, lookup) }
        return (s == p.text, nil)
    }

    /// `match_hostname`: the name, then (tables with fixed keys only) its parent domains.
    private func matchHost(_ name: [UInt8], _ p: Pattern, _ lookup: (Table, [UInt8]) -> TableAnswer) -> (Bool, String?) {
        if let table = p.table {
            var start = 0
            var first = true
            while start < name.count {
                if first || p.fixedKeys {
                    let r = ask(table, Array(name[start...]), lookup)
                    if r.0 || r.1 != nil { return r }
                }
                first = false
                guard start + 1 < name.count, let dot = name[(start + 1)...].firstIndex(of: 0x2E) else { break }
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

    /// `match_hostaddr`: the address, `[address]`, or a network/mask.
    private func matchAddress(_ addr: [UInt8], _ p: Pattern, _ lookup: (Table, [UInt8]) -> TableAnswer) -> (Bool, String?) {
        let addrChars = Set(Array("0123456789.abcdefABCDEF:".utf8))
        if addr.contains(where: { !addrChars.contains($0) }) { return (false, nil) }
        if let table = p.table { return ask(table, addr, lookup) }
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
