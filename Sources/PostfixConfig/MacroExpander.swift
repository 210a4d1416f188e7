import PostfixText

/// Postfix's `mac_parse()` and `mac_expand()`: `$name`, `${name}`, `$(name)`, `${name?text}`,
/// `${name:text}`, `${name?{a}:{b}}`, the relational form `${{a} OP {b} ? {t} : {f}}` with
/// `== != < <= >= >` (numeric when both sides are all digits) and the compatibility-level variants
/// `==level` etc. that postconf and the daemons register.
///
/// The algorithm follows Postfix step by step where that is observable: the nesting counter that is not
/// unwound after an error (so a `$a`/`$b` loop gives exactly Postfix's number of
/// `unreasonable macro call nesting` warnings), `%.20s` excerpts in syntax warnings, and scan mode, in
/// which both branches of a conditional are visited and nothing is produced.
public struct MacroExpander {
    /// How a name is used: as a value, or only to test whether it is empty (`?`, `:`).
    public enum LookupMode: Sendable { case use, test }

    /// What an expansion found.
    public struct Status: OptionSet, Sendable {
        public let rawValue: Int
        public init(rawValue: Int) { self.rawValue = rawValue }
        /// A syntax error (Postfix's `MAC_PARSE_ERROR`); Postfix's callers make it fatal.
        public static let error = Status(rawValue: 1)
        /// A name had no value (`MAC_PARSE_UNDEF`).
        public static let undefined = Status(rawValue: 2)
    }

    /// Expansion options.
    public struct Options: OptionSet, Sendable {
        public let rawValue: Int
        public init(rawValue: Int) { self.rawValue = rawValue }
        /// Expand the values of names again (`MAC_EXP_FLAG_RECURSE`).
        public static let recurse = Options(rawValue: 1)
        /// Only visit names, produce nothing (`MAC_EXP_FLAG_SCAN`).
        public static let scan = Options(rawValue: 2)
        /// Stop at the first syntax error. Postfix goes on after one and warns again for every reference
        /// still to come (for `e = $e$e...` that is about 101 warnings per reference), which postconf's
        /// display must reproduce; a lint needs only the first, and so stays linear in its input.
        public static let stopAtError = Options(rawValue: 4)
    }

    /// The value of a name, or `nil` when it has none.
    public typealias Lookup = ([UInt8], LookupMode) -> [UInt8]?

    private let options: Options
    private let lookup: Lookup
    private let warn: (String) -> Void
    private var result: [UInt8] = []
    private var status: Status = []
    private var level = 0
    /// The nesting of the expansions this one is an operand of (`${{$a} == {b}...}` expands its operands
    /// with a fresh counter, as Postfix does). Postfix has no bound on it, and `a = ${{$a} == {x}?y}`
    /// overflows its stack; past `totalNestingLimit` that counts as unreasonable nesting here.
    private var outerLevel = 0
    private static let totalNestingLimit = 1000
    /// The last `unreasonable macro call nesting` message and the name it was made for: past the limit
    /// Postfix repeats it for every remaining reference, and formatting it once keeps that flood cheap.
    private var nestingName: [UInt8] = []
    private var nestingMessage = ""

    private init(options: Options, lookup: @escaping Lookup, warn: @escaping (String) -> Void) {
        self.options = options
        self.lookup = lookup
        self.warn = warn
    }

    /// The outcome of an expansion.
    public struct Outcome {
        /// The expanded text (empty in scan mode).
        public var text: [UInt8]
        /// Syntax errors and undefined names found.
        public var status: Status
        /// A condition Postfix treats as fatal inside the expander itself (`mac_exp_eval: bad conversion`).
        public var fatal: String?
    }

    /// Expand `pattern`; warnings go to `warn`.
    public static func expand(_ pattern: [UInt8], options: Options, lookup: @escaping Lookup,
                              warn: @escaping (String) -> Void) -> Outcome {
        expand(pattern, options: options, outerLevel: 0, lookup: lookup, warn: warn)
    }

    private static func expand(_ pattern: [UInt8], options: Options, outerLevel: Int, lookup: @escaping Lookup,
                               warn: @escaping (String) -> Void) -> Outcome {
        var expander = MacroExpander(options: options, lookup: lookup, warn: warn)
        expander.outerLevel = outerLevel
        var status = expander.parse(pattern)
        if expander.fatal != nil { status.insert(.error) }
        return Outcome(text: expander.result, status: status, fatal: expander.fatal)
    }

    private var fatal: String?

    // MARK: mac_parse

    private enum Token { case literal, expression }

    private static let dollar: UInt8 = 0x24

    /// Split `value` into literal text and macro references, handing each to `callback`.
    private mutating func parse(_ value: [UInt8]) -> Status {
        var parseStatus: Status = []
        var buf: [UInt8] = []
        var vp = 0
        let n = value.count
        func at(_ i: Int) -> UInt8 { i < n ? value[i] : 0 }
        while vp < n {
            if options.contains(.stopAtError), status.contains(.error) || fatal != nil { return status }
            let c = value[vp]
            if c != Self.dollar {
                buf.append(c)
                vp += 1
            } else if at(vp + 1) == Self.dollar {
                buf.append(c)
                vp += 2
            } else {
                if !buf.isEmpty {
                    parseStatus.formUnion(callback(.literal, buf))
                    buf.removeAll(keepingCapacity: true)
                }
                vp += 1
                let open = at(vp)
                if open == 0x28 || open == 0x7B {
                    let close: UInt8 = open == 0x28 ? 0x29 : 0x7D
                    var depth = 1
                    vp += 1
                    var ep = vp
                    var truncated = false
                    while depth > 0 {
                        let e = at(ep)
                        if e == 0 {
                            warn("truncated macro reference: \"\(Self.text(value))\"")
                            parseStatus.insert(.error)
                            truncated = true
                            break
                        }
                        if e == open { depth += 1 }
                        if e == close { depth -= 1 }
                        ep += 1
                    }
                    if truncated { break }
                    buf.append(contentsOf: value[vp..<(ep - 1)])
                    vp = ep
                } else {
                    var ep = vp
                    while ep < n, Self.isNameChar(value[ep]) { ep += 1 }
                    buf.append(contentsOf: value[vp..<ep])
                    vp = ep
                }
                if buf.isEmpty {
                    parseStatus.insert(.error)
                    warn("empty macro name: \"\(Self.text(value))\"")
                    break
                }
                parseStatus.formUnion(callback(.expression, buf))
                buf.removeAll(keepingCapacity: true)
            }
        }
        if !buf.isEmpty, !parseStatus.contains(.error) {
            parseStatus.formUnion(callback(.literal, buf))
        }
        return parseStatus
    }

    // MARK: mac_expand

    /// Report a syntax error: warn, remember it, and return the status.
    @discardableResult
    private mutating func parseError(_ message: String) -> Status {
        warn(message)
        status.insert(.error)
        return status
    }

    private mutating func callback(_ type: Token, _ buf: [UInt8]) -> Status {
        if level > 100 || outerLevel + level > Self.totalNestingLimit {
            level += 1
            if nestingMessage.isEmpty || buf != nestingName {
                nestingName = buf
                nestingMessage = "unreasonable macro call nesting: \"\(Self.text(buf))\""
            }
            parseError(nestingMessage)
        } else {
            level += 1
        }
        if status.contains(.error) { return status }

        if type == .expression {
            var cp = buf[...]
            var found: [UInt8]?
            var op: UInt8 = 0
            if let start = Self.leftCurly(cp) {
                cp = cp[start...]
                guard case .success(let value) = relational(&cp) else { return status }
                found = value
                if let c = cp.first {
                    if c != 0x3F && c != 0x3A {
                        return parseError("\"?\" or \":\" expected at: \"...}>>>\(Self.excerpt(cp))\"")
                    }
                    op = c
                    cp = cp.dropFirst()
                }
            } else {
                let start = Self.skipSpace(cp)
                var i = start
                var mode = LookupMode.use
                var nameEnd = i
                while true {
                    let ws = Self.spaceRun(cp, from: i)
                    let c: UInt8 = i + ws < cp.endIndex ? cp[i + ws] : 0
                    if c == 0 {
                        nameEnd = i
                        i = cp.endIndex
                        break
                    }
                    if c == 0x3F || c == 0x3A {
                        nameEnd = i
                        op = c
                        mode = .test
                        i = i + ws + 1
                        break
                    }
                    let ch = cp[i]
                    if !Self.isNameChar(ch) {
                        return parseError("attribute name syntax error at: \"...\(Self.text(buf[buf.startIndex..<i]))>>>\(Self.excerpt(cp[i...]))\"")
                    }
                    i += 1
                }
                found = lookup(Array(cp[start..<nameEnd]), mode)
                cp = cp[i...]
            }

            switch op {
            case 0x3F, 0x3A:
                var next = op
                if next == 0x3F {
                    let ifTrue: ArraySlice<UInt8>
                    if let start = Self.leftCurly(cp) {
                        cp = cp[start...]
                        guard let payload = curlyPayload(&cp) else { return status }
                        ifTrue = payload
                    } else {
                        ifTrue = cp
                        cp = cp[cp.endIndex...]
                    }
                    if (found.map { !$0.isEmpty } ?? false) || options.contains(.scan) {
                        status.formUnion(parse(Array(ifTrue)))
                    }
                    if cp.isEmpty { break }
                    if cp.first != 0x3A {
                        return parseError("\":\" expected at: \"...\(Self.text(ifTrue))}>>>\(Self.excerpt(cp))\"")
                    }
                    cp = cp.dropFirst()
                    next = 0x3A
                }
                if next == 0x3A {
                    let ifFalse: ArraySlice<UInt8>
                    if let start = Self.leftCurly(cp) {
                        cp = cp[start...]
                        guard let payload = curlyPayload(&cp) else { return status }
                        ifFalse = payload
                    } else {
                        ifFalse = cp
                        cp = cp[cp.endIndex...]
                    }
                    if (found.map { $0.isEmpty } ?? true) || options.contains(.scan) {
                        status.formUnion(parse(Array(ifFalse)))
                    }
                    if !cp.isEmpty {
                        return parseError("unexpected input at: \"...\(Self.text(ifFalse))}>>>\(Self.excerpt(cp))\"")
                    }
                }
            default:
                if let value = found {
                    if value.isEmpty || options.contains(.scan) {
                        // nothing to add
                    } else if options.contains(.recurse) {
                        status.formUnion(parse(value))
                    } else {
                        result.append(contentsOf: value)
                    }
                } else {
                    status.insert(.undefined)
                }
            }
        } else if !options.contains(.scan) {
            result.append(contentsOf: buf)
        }
        level -= 1
        return status
    }

    /// The text of a `{...}` operand starting at `cp` (which is at `{`); advances past it and the blanks
    /// after it. `nil` (with a warning) when the braces do not balance.
    private mutating func curlyPayload(_ cp: inout ArraySlice<UInt8>) -> ArraySlice<UInt8>? {
        var depth = 1
        var i = cp.startIndex + 1
        while true {
            guard i < cp.endIndex else {
                parseError("unbalanced {} in attribute expression: \"\(Self.text(cp))\"")
                return nil
            }
            let ch = cp[i]
            if ch == 0x7B {
                depth += 1
            } else if ch == 0x7D {
                depth -= 1
                if depth <= 0 { break }
            }
            i += 1
        }
        let payload = cp[(cp.startIndex + 1)..<i]
        var rest = cp[(i + 1)...]
        rest = rest[Self.skipSpace(rest)...]
        cp = rest
        return payload
    }

    private enum Relation: Int { case eq, ne, lt, le, ge, gt }

    /// `{left} OP {right}`: the fake lookup result (`true` or empty; `nil` in scan mode), or `.failure`
    /// after a syntax error.
    private mutating func relational(_ cp: inout ArraySlice<UInt8>) -> Result<[UInt8]?, RelationalFailure> {
        guard let left = curlyPayload(&cp) else { return .failure(RelationalFailure()) }
        let opStart = cp.startIndex
        var opEnd = opStart
        while opEnd < cp.endIndex, Self.operatorChars.contains(cp[opEnd]) { opEnd += 1 }
        let opText = cp[opStart..<opEnd]
        guard let relation = Self.relation(opText) else {
            parseError("\(Self.anyOperator) expected at: \"...\(Self.text(left))}>>>\(Self.excerpt(cp))\"")
            return .failure(RelationalFailure())
        }
        var rest = cp[opEnd...]
        var levelCompare = false
        if let first = rest.first, Self.isAlnum(first) {
            var typeEnd = rest.startIndex
            while typeEnd < rest.endIndex, Self.isAlnum(rest[typeEnd]) { typeEnd += 1 }
            let suffix = rest[rest.startIndex..<typeEnd]
            guard Array(suffix) == Array("level".utf8) else {
                parseError("bad operator suffix at: \"...\(Self.text(opText))>>>\(Self.text(suffix))\"")
                return .failure(RelationalFailure())
            }
            levelCompare = true
            rest = rest[typeEnd...]
        }
        guard let rightStart = Self.leftCurly(rest) else {
            parseError("\"{expression}\" expected at: \"...{\(Self.text(left))} \(Self.text(opText))>>>\(Self.excerpt(rest))\"")
            return .failure(RelationalFailure())
        }
        rest = rest[rightStart...]
        guard let right = curlyPayload(&rest) else { return .failure(RelationalFailure()) }

        let l = Self.expand(Array(left), options: options, outerLevel: outerLevel + level, lookup: lookup, warn: warn)
        status.formUnion(l.status)
        if let f = l.fatal { fatal = f; return .failure(RelationalFailure()) }
        let r = Self.expand(Array(right), options: options, outerLevel: outerLevel + level, lookup: lookup, warn: warn)
        status.formUnion(r.status)
        if let f = r.fatal { fatal = f; return .failure(RelationalFailure()) }
        var outcome: Bool?
        if !options.contains(.scan) {
            if levelCompare {
                outcome = compareLevels(l.text, relation, r.text)
            } else {
                switch Self.compare(l.text, relation, r.text) {
                case .success(let b): outcome = b
                case .failure(let text):
                    fatal = "mac_exp_eval: bad conversion: \(Self.text(text.bytes))"
                    status.insert(.error)
                    return .failure(RelationalFailure())
                }
            }
            if outcome == nil { status.insert(.error) }
        }
        if status.contains(.error) { return .failure(RelationalFailure()) }
        cp = rest
        if options.contains(.scan) { return .success(nil) }
        return .success(outcome == true ? Array("true".utf8) : [])
    }

    private struct RelationalFailure: Error {}

    private static let operatorChars: Set<UInt8> = Set("<>!=?+-*/~&|%".utf8)
    private static let anyOperator = #""==" or "!="" or "<"" or "<="" or ">="" or ">""#

    private static func relation(_ op: ArraySlice<UInt8>) -> Relation? {
        switch Array(op) {
        case Array("==".utf8): return .eq
        case Array("!=".utf8): return .ne
        case Array("<".utf8): return .lt
        case Array("<=".utf8): return .le
        case Array(">=".utf8): return .ge
        case Array(">".utf8): return .gt
        default: return nil
        }
    }

    private static func holds(_ delta: Int, _ relation: Relation) -> Bool {
        switch relation {
        case .eq: return delta == 0
        case .ne: return delta != 0
        case .lt: return delta < 0
        case .le: return delta <= 0
        case .ge: return delta >= 0
        case .gt: return delta > 0
        }
    }

    private struct BadNumber: Error { var bytes: [UInt8] }

    /// `mac_exp_eval`: numeric when both sides are all digits, else byte-wise. A number that does not fit
    /// in a long is Postfix's fatal `bad conversion`.
    private static func compare(_ left: [UInt8], _ relation: Relation, _ right: [UInt8]) -> Result<Bool, BadNumber> {
        let delta: Int
        if allDigits(left), allDigits(right) {
            let a = CInteger.strtol(left[...])
            if a.overflow { return .failure(BadNumber(bytes: left)) }
            let b = CInteger.strtol(right[...])
            if b.overflow { return .failure(BadNumber(bytes: right)) }
            delta = a.value.subtractingReportingOverflow(b.value).partialValue.signum()
        } else {
            delta = byteCompare(left, right)
        }
        return .success(holds(delta, relation))
    }

    /// `compat_relop_eval`: compare two compatibility levels, warning about malformed ones.
    private func compareLevels(_ left: [UInt8], _ relation: Relation, _ right: [UInt8]) -> Bool? {
        guard let a = CompatibilityLevel.encode(left, warn: warn), let b = CompatibilityLevel.encode(right, warn: warn) else {
            return nil
        }
        return Self.holds(a < b ? -1 : (a > b ? 1 : 0), relation)
    }

    // MARK: helpers

    public static func isAlnum(_ c: UInt8) -> Bool {
        (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A)
    }

    public static func isNameChar(_ c: UInt8) -> Bool { isAlnum(c) || c == 0x5F }

    public static func isSpace(_ c: UInt8) -> Bool { c == 0x20 || c == 0x09 || c == 0x0D || c == 0x0A }

    public static func allDigits(_ s: [UInt8]) -> Bool {
        !s.isEmpty && s.allSatisfy { $0 >= 0x30 && $0 <= 0x39 }
    }

    public static func byteCompare(_ a: [UInt8], _ b: [UInt8]) -> Int {
        for (x, y) in zip(a, b) where x != y { return x < y ? -1 : 1 }
        return a.count == b.count ? 0 : (a.count < b.count ? -1 : 1)
    }

    /// Index of the first non-blank at or after the start.
    private static func skipSpace(_ s: ArraySlice<UInt8>) -> Int {
        var i = s.startIndex
        while i < s.endIndex, isSpace(s[i]) { i += 1 }
        return i
    }

    private static func spaceRun(_ s: ArraySlice<UInt8>, from: Int) -> Int {
        var i = from
        while i < s.endIndex, isSpace(s[i]) { i += 1 }
        return i - from
    }

    /// `MAC_EXP_FIND_LEFT_CURLY`: the index of a `{` after optional blanks, or `nil`.
    private static func leftCurly(_ s: ArraySlice<UInt8>) -> Int? {
        let i = skipSpace(s)
        return i < s.endIndex && s[i] == 0x7B ? i : nil
    }

    public static func text<C: Collection>(_ bytes: C) -> String where C.Element == UInt8 {
        ByteText.string(Array(bytes))
    }

    /// `%.20s`.
    private static func excerpt(_ bytes: ArraySlice<UInt8>) -> String { text(bytes.prefix(20)) }
}
