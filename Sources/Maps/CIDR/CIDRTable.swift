import PostfixText
/// A `cidr` table (Postfix's `dict_cidr`): rules `[!]PATTERN RESULT`, `if [!]PATTERN` and `endif`, read
/// from a file or the inline form `cidr:{ {rule}, ... }` when the table is opened. A lookup key is an
/// IPv4 or IPv6 address in `inet_pton` form; the first rule in file order that matches gives the result.
///
/// Postfix walks the rules one by one for every key. Here the rules are compiled once per address
/// family into a short program in which each run of consecutive positive rules (with no `if`, `endif`
/// or negated rule between them) is one step. A long run is flattened into address ranges that each
/// carry the earliest matching rule, so a table of thousands of plain rules answers with one binary
/// search while the first match in file order still wins. Rules and `if` blocks of the other family are left out of a family's program: Postfix never
/// lets them match, and an `if` of the other family skips its whole block.
public final class CIDRTable: LookupTable {
    public let type = "cidr"
    public let name: String

    /// The results of the rules that were accepted, in file order.
    private let values: [[UInt8]]
    /// The line of each accepted rule, and the source's name, for traces.
    private let ruleLines: [Int]
    private let path: String
    /// The compiled rules for IPv4 and for IPv6 keys.
    private let ipv4: Program
    private let ipv6: Program

    /// Read and compile the rules of `name` (a file or `{...}`), warning about each rejected rule as
    /// Postfix does; a rejected rule is skipped and the rest of the table works.
    /// The compiled rules never change after opening.
    public var concurrentLookups: Bool { true }
    public var sourceFiles: [String] { name.hasPrefix("{") ? [] : [name] }

    /// With `fileValues` (`postmap -F`) each result names files, and the rule answers their contents,
    /// base64-encoded.
    public init(name: String, diagnostics: Diagnostics, fileValues: Bool = false) throws(MapError) {
        self.name = name
        let source: RuleSource
        do {
            source = try RuleSource.load(type: "cidr", name: name, diagnostics: diagnostics)
        } catch where error.message.hasPrefix("read ") {
            // Postfix notices a read error (a directory, say) only when it closes the file, in its own words.
            throw .temporary("cidr map \(name): read error: \(systemErrorText(error.errno))", errno: error.errno)
        }
        var statements: [Statement] = []
        var values: [[UInt8]] = []
        var ruleLines: [Int] = []
        var open: [(statement: Int, line: Int)] = []
        for line in source.lines {
            source.replayWarnings(of: line, to: diagnostics)
            let text = KeyCodec.cString(line.text)
            switch Self.parse(text, nesting: open.count) {
            case .failure(let error):
                diagnostics.warning("\(source.location("cidr", line.lineNumber)): \(error.message): skipping this rule")
            case .success(.rule(let pattern, let negated, var value)):
                if fileValues {
                    switch ValueFiles.encodedContents(of: value) {
                    case .failure(let failure):
                        diagnostics.warning("\(source.location("cidr", line.lineNumber)): \(failure.message): skipping this rule")
                        continue
                    case .success(let encoded):
                        value = encoded
                    }
                }
                statements.append(.rule(pattern, negated: negated, value: values.count))
                values.append(value)
                ruleLines.append(line.lineNumber)
            case .success(.condition(let pattern, let negated)):
                open.append((statements.count, line.lineNumber))
                statements.append(.condition(pattern, negated: negated, end: nil))
            case .success(.end):
                if let top = open.popLast(), case .condition(let pattern, let negated, _) = statements[top.statement] {
                    statements[top.statement] = .condition(pattern, negated: negated, end: statements.count)
                }
                statements.append(.end)
            }
        }
        source.replayTrailingWarnings(to: diagnostics)
        // Postfix reports unclosed IFs from the innermost out.
        for unclosed in open.reversed() {
            diagnostics.warning("\(source.location("cidr", unclosed.line)): IF has no matching ENDIF")
        }
        self.values = values
        self.ruleLines = ruleLines
        self.path = source.path
        self.ipv4 = Program(statements, family: .ipv4)
        self.ipv6 = Program(statements, family: .ipv6)
    }

    public func lookup(_ key: [UInt8]) throws(MapError) -> [UInt8]? {
        guard let (family, address) = CIDRPattern.address(key) else { return nil }
        let program = family == .ipv4 ? ipv4 : ipv6
        return program.run(address).map { values[$0] }
    }

    public func lookupTraced(_ key: [UInt8]) throws(MapError) -> (value: [UInt8]?, detail: LookupDetail) {
        guard let (family, address) = CIDRPattern.address(key) else {
            return (nil, LookupDetail(keys: [key], notes: ["not an IPv4 or IPv6 address"]))
        }
        let program = family == .ipv4 ? ipv4 : ipv6
        guard let rule = program.run(address) else { return (nil, LookupDetail(keys: [key])) }
        return (values[rule], LookupDetail(keys: [key], rule: RuleLocation(file: path, line: ruleLines[rule])))
    }

    // MARK: - Rules

    /// One accepted line of the table.
    enum Statement {
        /// `[!]PATTERN RESULT`; `value` indexes `values`.
        case rule(CIDRPattern, negated: Bool, value: Int)
        /// `if [!]PATTERN`; `end` is the index of the matching `endif`, `nil` when there is none.
        case condition(CIDRPattern, negated: Bool, end: Int?)
        /// `endif`.
        case end
    }

    /// What one line says, before it is numbered into the table.
    enum ParsedLine: Equatable {
        case rule(CIDRPattern, negated: Bool, value: [UInt8])
        case condition(CIDRPattern, negated: Bool)
        case end
    }

    @inline(__always)
    static func isSpace(_ c: UInt8) -> Bool { c == 0x20 || (c >= 0x09 && c <= 0x0D) }

    @inline(__always)
    static func isAlnum(_ c: UInt8) -> Bool {
        (c >= 0x30 && c <= 0x39) || (c | 0x20 >= 0x61 && c | 0x20 <= 0x7A)
    }

    /// Whether `text` starts with `word` (ASCII, any case) not followed by a letter or digit.
    static func startsWithKeyword(_ text: [UInt8], _ word: String) -> Bool {
        let w = Array(word.utf8)
        guard text.count >= w.count else { return false }
        for (n, c) in w.enumerated() where text[n] | 0x20 != c { return false }
        return text.count == w.count || !isAlnum(text[w.count])
    }

    /// Parse one logical line (already cut at its first NUL) as `dict_cidr_parse_rule` does; `nesting`
    /// is the number of open `if`s. Errors are Postfix's reasons, without `: skipping this rule`.
    static func parse(_ text: [UInt8], nesting: Int) -> Result<ParsedLine, CIDRPattern.SyntaxError> {
        var p = 0
        var negated = false
        // `!` toggles and blanks are skipped until the pattern starts.
        func skipNegation() {
            while p < text.count {
                if text[p] == UInt8(ascii: "!") { negated.toggle() } else if !isSpace(text[p]) { break }
                p += 1
            }
        }
        var end = text.count
        while end > 0, isSpace(text[end - 1]) { end -= 1 }

        if startsWithKeyword(text, "if") {
            p = 2
            skipNegation()
            // Everything to the end of the line is the pattern, blanks inside included.
            guard p < end else { return .failure(.init(message: "no address pattern")) }
            return CIDRPattern.parse(text[p..<end]).map { .condition($0, negated: negated) }
        }
        if startsWithKeyword(text, "endif") {
            p = 5
            while p < text.count, isSpace(text[p]) { p += 1 }
            guard p == text.count else { return .failure(.init(message: "garbage after ENDIF")) }
            guard nesting > 0 else { return .failure(.init(message: "ENDIF without IF")) }
            return .success(.end)
        }
        skipNegation()
        let start = p
        while p < text.count, !isSpace(text[p]) { p += 1 }
        let pattern = text[start..<p]
        while p < end, isSpace(text[p]) { p += 1 }
        let value = p < end ? Array(text[p..<end]) : []
        guard !pattern.isEmpty else { return .failure(.init(message: "no address pattern")) }
        switch CIDRPattern.parse(pattern) {
        case .failure(let error):
            return .failure(error)
        case .success(let parsed):
            guard !value.isEmpty else { return .failure(.init(message: "no lookup result")) }
            return .success(.rule(parsed, negated: negated, value: value))
        }
    }

    // MARK: - Compiled form

    /// The rules that can match keys of one family, as steps executed in order.
    struct Program {
        enum Step {
            /// Consecutive positive rules (`runs[n]`): the first that contains the key gives the result.
            case run(Int)
            /// A negated rule: it gives its result when the key is outside its network.
            case negated(CIDRPattern, value: Int)
            /// An `if`: on failure continue at `skip`, or end the lookup with no result when the `if`
            /// has no `endif` (`skip == nil`).
            case condition(CIDRPattern, negated: Bool, skip: Int?)
        }

        var steps: [Step] = []
        /// Kept apart from `steps` so a step is plain data and stepping through them retains nothing.
        var runs: [CIDRRuleRun] = []

        init(_ statements: [Statement], family: CIDRPattern.Family) {
            var pending = CIDRRuleRun.Builder()
            // For each open `if` of this family: its step and the statement index of its `endif`.
            var open: [(step: Int, end: Int?)] = []
            func flush() {
                if !pending.isEmpty {
                    steps.append(.run(runs.count))
                    runs.append(pending.build())
                }
                pending = CIDRRuleRun.Builder()
            }
            var i = 0
            walk: while i < statements.count {
                switch statements[i] {
                case .rule(let pattern, let negated, let value):
                    guard pattern.family == family else { break }
                    if negated {
                        flush()
                        steps.append(.negated(pattern, value: value))
                    } else {
                        pending.append(pattern, value: value)
                    }
                case .condition(let pattern, let negated, let end):
                    guard pattern.family == family else {
                        // Never true for this family: its block is dead, and without an endif nothing
                        // after it can match.
                        guard let end else { break walk }
                        i = end + 1
                        continue walk
                    }
                    flush()
                    open.append((steps.count, end))
                    steps.append(.condition(pattern, negated: negated, skip: nil))
                case .end:
                    flush()
                    if let top = open.last, top.end == i {
                        open.removeLast()
                        if case .condition(let pattern, let negated, _) = steps[top.step] {
                            steps[top.step] = .condition(pattern, negated: negated, skip: steps.count)
                        }
                    }
                }
                i += 1
            }
            flush()
        }

        /// The value index of the first rule that matches `address`, in Postfix's order.
        func run(_ address: UInt128) -> Int? {
            var pc = 0
            while pc < steps.count {
                switch steps[pc] {
                case .run(let n):
                    if let value = runs[n].firstMatch(address) { return value }
                    pc += 1
                case .negated(let pattern, let value):
                    if !pattern.contains(address) { return value }
                    pc += 1
                case .condition(let pattern, let negated, let skip):
                    if pattern.contains(address) != negated {
                        pc += 1
                    } else if let skip {
                        pc = skip
                    } else {
                        return nil
                    }
                }
            }
            return nil
        }
    }
}
