import PostfixText
/// The rule language shared by `regexp:` and `pcre:` tables (Postfix's `dict_regexp.c` and `dict_pcre.c`):
/// `[!]/pattern/flags replacement`, `if [!]/pattern/flags` ... `endif`, `$n`/`${n}`/`$(n)`/`$$` in
/// replacements, and the exact warnings for bad rules. The regular-expression engine is pluggable.
/// A compiled expression. Pattern tables call it through this protocol, so their lookup loop is not
/// generic over the dialect.
public protocol PatternMatcher: AnyObject {
    /// Match `subject` (the key's bytes followed by a NUL that `count` excludes); returns capture ranges
    /// (index 0 = whole match) up to `captures`, `nil` for no match. An engine error (such as a
    /// backtracking limit) is thrown with its warning text.
    func match(_ subject: UnsafeBufferPointer<UInt8>, captures: Int) throws(PatternMatchError) -> [Range<Int>?]?
}

public protocol PatternDialect {
    /// A compiled pattern.
    associatedtype Compiled: PatternMatcher
    /// Pattern options (flag letters toggle them).
    associatedtype Options

    /// `regexp` or `pcre`: the word in `TYPE map FILE, line N:` messages.
    static var mapType: String { get }
    /// The options before any flag letter.
    static var defaultOptions: Options { get }
    /// Apply one flag letter; `.failure(text)` skips the rule with that warning, `.success(warning?)`
    /// continues (with an optional warning such as pcre's obsolete `X`).
    static func apply(flag: UInt8, to options: inout Options) -> Result<String?, PatternRuleWarning>
    /// Whether `/a/!/b/` (a second, negated pattern) is allowed.
    static var allowsSecondPattern: Bool { get }
    /// The word in "no closing regexp delimiter" warnings: `skipping` or `ignoring`.
    static var unterminatedVerb: String { get }
    /// `out-of-range` (regexp) or `out of range` (pcre) for `$0`.
    static var zeroIndexWording: String { get }
    /// Compile; on failure the warning text after `TYPE map FILE, line N: `.
    static func compile(_ pattern: [UInt8], options: Options, captures: Bool) -> Result<Compiled, PatternRuleWarning>
    /// The number of capture groups of a compiled pattern.
    static func captureCount(_ compiled: Compiled) -> Int
    /// The case-insensitive and extended-syntax state of `options`, for literal extraction.
    static func literalSyntax(_ options: Options) -> LiteralSyntax?
}

/// A warning that skips a rule, without the `TYPE map FILE, line N: ` prefix.
public struct PatternRuleWarning: Error, Sendable {
    public var text: String
    public init(_ text: String) { self.text = text }
}

/// A matching error (e.g. PCRE's backtracking limit), without the location prefix.
public struct PatternMatchError: Error, Sendable {
    public var text: String
    public init(_ text: String) { self.text = text }
}

/// One pattern of a rule with its negation.
struct CompiledPattern<D: PatternDialect> {
    let compiled: D.Compiled
    let positive: Bool
    /// A literal that every match contains (ASCII-lowercased when `caseless`), for the prefilter.
    let literal: [UInt8]?
    let caseless: Bool
}

/// A piece of a replacement: literal text or `$n`.
enum ReplacementPart {
    case text([UInt8])
    case group(Int)
}

/// A rule of the table program.
enum PatternRule<D: PatternDialect> {
    case match(first: CompiledPattern<D>, second: CompiledPattern<D>?, replacement: [ReplacementPart], maxGroup: Int, line: Int)
    /// `endIndex` is the index of the matching `endif`, or nil when the file ended first.
    case ifRule(CompiledPattern<D>, endIndex: Int?, line: Int)
    case endif
}

/// A parsed pattern table: its rules and a literal prefilter over them.
struct PatternProgram<D: PatternDialect> {
    var rules: [PatternRule<D>] = []
    var filter = LiteralFilter()

    /// Parse `source` with Postfix's rules and warnings.
    /// With `fileValues` (`postmap -F`) each replacement names files, and the rule answers their
    /// contents base64-encoded (the `$n` syntax then applies to that text, as in Postfix).
    init(source: RuleSource, diagnostics: Diagnostics, fileValues: Bool = false) {
        var stack: [Int] = []
        for line in source.lines {
            source.replayWarnings(of: line, to: diagnostics)
            let location = source.location(D.mapType, line.lineNumber)
            var text = KeyCodec.cString(line.text)
            while let last = text.last, isCSpace(last) { text.removeLast() }
            let warn = { (message: String) in diagnostics.warning("\(location): \(message)") }
            guard let rule = Self.parse(text, line: line.lineNumber, nesting: stack.count, warn: warn,
                                        plain: { diagnostics.warning($0) }, fileValues: fileValues) else { continue }
            switch rule {
            case .ifRule:
                stack.append(rules.count)
                rules.append(rule)
            case .endif:
                if let open = stack.popLast(), case .ifRule(let pattern, _, let l) = rules[open] {
                    rules[open] = .ifRule(pattern, endIndex: rules.count, line: l)
                }
                rules.append(rule)
            case .match:
                rules.append(rule)
            }
        }
        source.replayTrailingWarnings(to: diagnostics)
        for open in stack.reversed() {
            if case .ifRule(_, _, let l) = rules[open] {
                diagnostics.warning("\(source.location(D.mapType, l)): IF has no matching ENDIF")
            }
        }
        filter = LiteralFilter(rules.map { rule -> (literal: [UInt8], caseless: Bool)? in
            switch rule {
            case .match(let first, _, _, _, _): return first.literal.map { ($0, first.caseless) }
            case .ifRule(let p, _, _): return p.literal.map { ($0, p.caseless) }
            case .endif: return nil
            }
        })
    }

    /// `[!]DELIM pattern DELIM flags`: the pattern, its negation and options; `p` moves past the flags.
    static func parsePattern(_ text: [UInt8], _ p: inout Int, warn: (String) -> Void) -> (pattern: [UInt8], positive: Bool, options: D.Options)? {
        var positive = true
        while p < text.count {
            if text[p] == 0x21 { positive.toggle() } else if !isCSpace(text[p]) { break }
            p += 1
        }
        guard p < text.count else {
            warn("no regexp: skipping this rule")
            return nil
        }
        let delimiter = text[p]
        p += 1
        let start = p
        while p < text.count {
            if text[p] == 0x5C {
                if p + 1 < text.count { p += 1 } else { break }
            } else if text[p] == delimiter {
                break
            }
            p += 1
        }
        guard p < text.count, text[p] == delimiter else {
            warn("no closing regexp delimiter \"\(ByteText.string([delimiter]))\": \(D.unterminatedVerb) this rule")
            return nil
        }
        let pattern = Array(text[start..<p])
        p += 1
        var options = D.defaultOptions
        while p < text.count, !isCSpace(text[p]), !(D.allowsSecondPattern && text[p] == 0x21) {
            switch D.apply(flag: text[p], to: &options) {
            case .failure(let w):
                warn(w.text)
                return nil
            case .success(let note):
                if let note { warn(note) }
            }
            p += 1
        }
        return (pattern, positive, options)
    }

    static func compilePattern(_ parsed: (pattern: [UInt8], positive: Bool, options: D.Options), captures: Bool,
                               warn: (String) -> Void) -> CompiledPattern<D>? {
        switch D.compile(parsed.pattern, options: parsed.options, captures: captures) {
        case .failure(let w):
            warn(w.text)
            return nil
        case .success(let compiled):
            var literal: [UInt8]? = nil
            var caseless = false
            if let syntax = D.literalSyntax(parsed.options) {
                caseless = syntax.caseless
                literal = RequiredLiteral.extract(parsed.pattern, syntax: syntax)
            }
            return CompiledPattern(compiled: compiled, positive: parsed.positive, literal: literal, caseless: caseless)
        }
    }

    /// Postfix's replacement pre-scan (`mac_parse` + `dict_*_prescan`): the parts and the highest `$n`.
    /// `plain` gets `mac_parse`'s own warnings, which carry no location.
    static func parseReplacement(_ text: [UInt8], warn: (String) -> Void, plain: (String) -> Void) -> (parts: [ReplacementPart], maxGroup: Int)? {
        var parts: [ReplacementPart] = []
        var literal: [UInt8] = []
        var maxGroup = 0
        var i = 0
        let n = text.count
        func isNameByte(_ c: UInt8) -> Bool {
            (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || c == 0x5F
        }
        while i < n {
            let c = text[i]
            if c != 0x24 { literal.append(c); i += 1; continue }
            if i + 1 < n, text[i + 1] == 0x24 { literal.append(0x24); i += 2; continue }
            if !literal.isEmpty { parts.append(.text(literal)); literal = [] }
            i += 1
            var name: [UInt8] = []
            if i < n, text[i] == 0x7B || text[i] == 0x28 {
                let open = text[i], close: UInt8 = open == 0x7B ? 0x7D : 0x29
                var level = 1
                var e = i + 1
                while level > 0 {
                    if e >= n {
                        plain("truncated macro reference: \"\(ByteText.string(text))\"")
                        return nil
                    }
                    if text[e] == open { level += 1 }
                    if text[e] == close { level -= 1 }
                    e += 1
                }
                name = Array(text[(i + 1)..<(e - 1)])
                i = e
            } else {
                var e = i
                while e < n, isNameByte(text[e]) { e += 1 }
                name = Array(text[i..<e])
                i = e
            }
            if name.isEmpty {
                plain("empty macro name: \"\(ByteText.string(text))\"")
                return nil
            }
            guard name.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else {
                warn("non-numeric replacement index \"\(ByteText.string(name))\"")
                return nil
            }
            let number = name.reduce(0) { min($0 &* 10 &+ Int($1 - 0x30), Int(Int32.max)) }
            if number < 1 {
                warn("\(D.zeroIndexWording) replacement index \"\(ByteText.string(name))\"")
                return nil
            }
            maxGroup = max(maxGroup, number)
            parts.append(.group(number))
        }
        if !literal.isEmpty { parts.append(.text(literal)) }
        return (parts, maxGroup)
    }

    /// One logical line as a rule, or nil (with Postfix's warning) when it is skipped.
    static func parse(_ text: [UInt8], line: Int, nesting: Int, warn: (String) -> Void,
                      plain: (String) -> Void, fileValues: Bool = false) -> PatternRule<D>? {
        guard let first = text.first else { return nil }
        let isAlnum = { (c: UInt8) in (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) }
        func keyword(_ word: String) -> Bool {
            let w = Array(word.utf8)
            guard text.count >= w.count else { return false }
            for (a, b) in zip(text, w) where (a | 0x20) != (b | 0x20) { return false }
            return text.count == w.count || !isAlnum(text[w.count])
        }
        if !isAlnum(first) {
            var p = 0
            guard let primary = parsePattern(text, &p, warn: warn) else { return nil }
            var secondary: (pattern: [UInt8], positive: Bool, options: D.Options)? = nil
            if D.allowsSecondPattern, p < text.count, text[p] == 0x21 {
                guard let s = parsePattern(text, &p, warn: warn) else { return nil }
                secondary = s
            }
            while p < text.count, isCSpace(text[p]) { p += 1 }
            if p >= text.count { warn("no replacement text: using empty string") }
            var replacementText = Array(text[p...])
            if fileValues {
                switch ValueFiles.encodedContents(of: replacementText) {
                case .failure(let failure):
                    warn("\(failure.message): skipping this rule")
                    return nil
                case .success(let encoded):
                    replacementText = encoded
                }
            }
            guard let (parts, maxGroup) = parseReplacement(replacementText, warn: { warn($0) }, plain: plain) else {
                warn("bad replacement syntax: skipping this rule")
                return nil
            }
            if maxGroup > 0, !primary.positive {
                warn("$number found in negative match replacement text: skipping this rule")
                return nil
            }
            guard let firstCompiled = compilePattern(primary, captures: maxGroup > 0, warn: warn) else { return nil }
            if maxGroup > D.captureCount(firstCompiled.compiled) {
                warn("out of range replacement index \"\(maxGroup)\": skipping this rule")
                return nil
            }
            var secondCompiled: CompiledPattern<D>? = nil
            if let secondary {
                guard let c = compilePattern(secondary, captures: false, warn: warn) else { return nil }
                secondCompiled = c
            }
            return .match(first: firstCompiled, second: secondCompiled, replacement: parts, maxGroup: maxGroup, line: line)
        }
        if keyword("if") {
            var p = 2
            while p < text.count, isCSpace(text[p]) { p += 1 }
            guard let pattern = parsePattern(text, &p, warn: warn) else { return nil }
            while p < text.count, isCSpace(text[p]) { p += 1 }
            if p < text.count {
                warn("ignoring extra text after IF statement: \"\(ByteText.string(Array(text[p...])))\"")
                warn("do not prepend whitespace to statements between IF and ENDIF")
            }
            guard let compiled = compilePattern(pattern, captures: false, warn: warn) else { return nil }
            return .ifRule(compiled, endIndex: nil, line: line)
        }
        if keyword("endif") {
            if nesting == 0 {
                warn("ignoring ENDIF without matching IF")
                return nil
            }
            var p = 5
            while p < text.count, isCSpace(text[p]) { p += 1 }
            if p < text.count { warn("ignoring extra text after ENDIF") }
            return .endif
        }
        warn("ignoring unrecognized request")
        return nil
    }
}
