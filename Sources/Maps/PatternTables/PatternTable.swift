import PostfixText
/// A `regexp:` or `pcre:` table: rules tried in file order, the first match wins; `if`/`endif` blocks
/// are skipped when their condition fails. A literal prefilter decides most non-matching rules without
/// running their expression, so only rules whose required text occurs in the key are executed.
public final class PatternTable: LookupTable {
    public let type: String
    public let name: String
    private let mapType: String
    private let diagnostics: Diagnostics
    private let source: RuleSource
    private let filter: LiteralFilter

    // The program in plain arrays, so the per-key loop does no reference counting or generic dispatch;
    // the dialect is called only to run an expression.
    private let kinds: [UInt8]          // 0 match, 1 if, 2 endif
    private let positive: [Bool]
    private let hasLiteral: [Bool]
    private let jump: [Int32]           // if: index of its endif, or -1
    private let lines: [Int32]
    private let maxGroups: [Int32]
    private let firsts: [(any PatternMatcher)?]
    private let seconds: [((any PatternMatcher), Bool)?]
    private let replacements: [[ReplacementPart]]
    /// The number of 64-bit words of a bit set with one bit per rule.
    private let words: Int
    /// Rules that must be visited whatever the key: no literal, negated, or an `if`.
    private let always: [UInt64]

    private static var kindMatch: UInt8 { 0 }
    private static var kindIf: UInt8 { 1 }

    /// Both engines match from several threads at once, and a lookup keeps its state on its own stack.
    public var concurrentLookups: Bool { true }
    public var sourceFiles: [String] { source.isInline ? [] : [name] }

    /// Open a table of dialect `D`.
    public init<D: PatternDialect>(_ dialect: D.Type, name: String, request: OpenRequest) throws(MapError) {
        if request.mode != .readOnly {
            throw .usage("\(D.mapType):\(name) map requires O_RDONLY access mode")
        }
        self.type = D.mapType
        self.mapType = D.mapType
        self.name = name
        self.diagnostics = request.diagnostics
        let source = try RuleSource.load(type: D.mapType, name: name, diagnostics: request.diagnostics)
        self.source = source
        let program = PatternProgram<D>(source: source, diagnostics: request.diagnostics,
                                        fileValues: request.flags.contains(.sourceValueIsFile))
        filter = program.filter
        var kinds: [UInt8] = [], positive: [Bool] = [], hasLiteral: [Bool] = [], jump: [Int32] = []
        var lines: [Int32] = [], maxGroups: [Int32] = []
        var firsts: [(any PatternMatcher)?] = [], seconds: [((any PatternMatcher), Bool)?] = []
        var replacements: [[ReplacementPart]] = []
        for rule in program.rules {
            switch rule {
            case .match(let first, let second, let replacement, let maxGroup, let line):
                kinds.append(0); positive.append(first.positive); hasLiteral.append(first.literal != nil)
                jump.append(-1); lines.append(Int32(line)); maxGroups.append(Int32(maxGroup))
                firsts.append(first.compiled); seconds.append(second.map { ($0.compiled, $0.positive) })
                replacements.append(replacement)
            case .ifRule(let pattern, let endIndex, let line):
                kinds.append(1); positive.append(pattern.positive); hasLiteral.append(pattern.literal != nil)
                jump.append(Int32(endIndex ?? -1)); lines.append(Int32(line)); maxGroups.append(0)
                firsts.append(pattern.compiled); seconds.append(nil); replacements.append([])
            case .endif:
                kinds.append(2); positive.append(true); hasLiteral.append(false)
                jump.append(-1); lines.append(0); maxGroups.append(0)
                firsts.append(nil); seconds.append(nil); replacements.append([])
            }
        }
        self.kinds = kinds; self.positive = positive; self.hasLiteral = hasLiteral; self.jump = jump
        self.lines = lines; self.maxGroups = maxGroups; self.firsts = firsts; self.seconds = seconds
        self.replacements = replacements
        self.words = (kinds.count + 63) / 64
        var always = [UInt64](repeating: 0, count: (kinds.count + 63) / 64)
        for i in kinds.indices where kinds[i] == 1 || (kinds[i] == 0 && (!hasLiteral[i] || !positive[i])) {
            always[i >> 6] |= 1 << UInt64(i & 63)
        }
        self.always = always
    }

    /// The first rule at or after `from` that needs a visit for this key (a positive match rule whose
    /// literal is absent cannot match and is passed over), or `count`.
    @inline(__always)
    private func nextCandidate(from: Int, _ present: UnsafeMutableBufferPointer<UInt64>) -> Int {
        var word = from >> 6
        guard word < present.count else { return kinds.count }
        var bits = (present[word] | always[word]) & (~0 << UInt64(from & 63))
        while bits == 0 {
            word += 1
            guard word < present.count else { return kinds.count }
            bits = present[word] | always[word]
        }
        return min(word << 6 + bits.trailingZeroBitCount, kinds.count)
    }

    /// Run an expression; an engine error is a warning and a temporary lookup error.
    private func run(_ compiled: any PatternMatcher, _ subject: UnsafeBufferPointer<UInt8>, captures: Int, line: Int32) throws(MapError) -> [Range<Int>?]? {
        do {
            return try compiled.match(subject, captures: captures)
        } catch {
            let text = "\(source.location(mapType, Int(line))): \(error.text)"
            diagnostics.warning(text)
            throw .temporary(text)
        }
    }

    public func lookup(_ key: [UInt8]) throws(MapError) -> [UInt8]? {
        try matchingRule(key)?.value
    }

    public func lookupTraced(_ key: [UInt8]) throws(MapError) -> (value: [UInt8]?, detail: LookupDetail) {
        let hit = try matchingRule(key)
        let rule = hit.map { RuleLocation(file: source.path, line: Int($0.line)) }
        return (hit?.value, LookupDetail(keys: [KeyCodec.cString(key)], rule: rule))
    }

    /// The value of the first rule that matches, with that rule's line.
    private func matchingRule(_ key: [UInt8]) throws(MapError) -> (value: [UInt8], line: Int32)? {
        let key = KeyCodec.cString(key)
        var subject = key
        subject.append(0)
        return try subject.withUnsafeBufferPointer { (raw) throws(MapError) -> (value: [UInt8], line: Int32)? in
            try lookup(key, subject: UnsafeBufferPointer(rebasing: raw[0..<key.count]))
        }
    }

    private func lookup(_ key: [UInt8], subject: UnsafeBufferPointer<UInt8>) throws(MapError) -> (value: [UInt8], line: Int32)? {
        // The bit set of rules whose literal the key contains belongs to this call (on the stack when
        // small), so lookups may run on several threads at once.
        try withUnsafeTemporaryAllocation(of: UInt64.self, capacity: max(words, 1)) { (present) throws(MapError) -> (value: [UInt8], line: Int32)? in
            present.initialize(repeating: 0)
            return try lookup(key, subject: subject, present: present)
        }
    }

    private func lookup(_ key: [UInt8], subject: UnsafeBufferPointer<UInt8>,
                        present: UnsafeMutableBufferPointer<UInt64>) throws(MapError) -> (value: [UInt8], line: Int32)? {
        let present = UnsafeMutableBufferPointer(rebasing: present[0..<words])
        let filtering = filter.isUseful
        if filtering {
            // The lowercased key lives on the stack (or in one temporary allocation when long): no
            // array per lookup.
            let keyBytes = UnsafeRawBufferPointer(subject)
            if filter.needsLowered {
                withUnsafeTemporaryAllocation(of: UInt8.self, capacity: max(subject.count, 1)) { lowered in
                    for i in 0..<subject.count {
                        let b = subject[i]
                        lowered[i] = b &- 0x41 < 26 ? b | 0x20 : b
                    }
                    filter.mark(keyBytes, lowered: UnsafeRawBufferPointer(rebasing: UnsafeMutableRawBufferPointer(lowered)[0..<subject.count]), into: present)
                }
            } else {
                filter.mark(keyBytes, lowered: UnsafeRawBufferPointer(start: nil, count: 0), into: present)
            }
        }
        let count = kinds.count
        var index = filtering ? nextCandidate(from: 0, present) : 0
        while index < count {
            let kind = kinds[index]
            if kind == 2 { index += 1; continue }
            // A rule whose required literal is absent cannot match: its outcome is known.
            var outcome: Bool
            var groups: [Range<Int>?] = []
            if filtering, hasLiteral[index], present[index >> 6] & (1 << UInt64(index & 63)) == 0 {
                outcome = !positive[index]
            } else if let compiled = firsts[index] {
                let captures = kind == 0 ? Int(maxGroups[index]) : 0
                if let m = try run(compiled, subject, captures: captures, line: lines[index]) {
                    groups = m
                    outcome = positive[index]
                } else {
                    outcome = !positive[index]
                }
            } else {
                outcome = false
            }
            var next = index + 1
            if kind == 1 {
                if !outcome {
                    guard jump[index] >= 0 else { return nil }
                    next = Int(jump[index]) + 1
                }
            } else {
                if outcome, let (second, secondPositive) = seconds[index] {
                    let matched = try run(second, subject, captures: 0, line: lines[index]) != nil
                    outcome = matched == secondPositive
                }
                if outcome { return (expand(replacements[index], key: key, groups: groups), lines[index]) }
            }
            index = filtering ? nextCandidate(from: next, present) : next
        }
        return nil
    }

    private func expand(_ parts: [ReplacementPart], key: [UInt8], groups: [Range<Int>?]) -> [UInt8] {
        var out: [UInt8] = []
        for part in parts {
            switch part {
            case .text(let t): out.append(contentsOf: t)
            case .group(let n):
                if n < groups.count, let r = groups[n], !r.isEmpty { out.append(contentsOf: key[r]) }
            }
        }
        return out
    }
}
