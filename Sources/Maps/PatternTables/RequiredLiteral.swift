import PostfixText
/// How a pattern's text is to be read when looking for literals.
public struct LiteralSyntax: Sendable {
    /// Matching ignores ASCII case.
    public var caseless: Bool
    /// PCRE syntax (escapes such as `\d`); otherwise POSIX extended syntax as glibc reads it.
    public var pcre: Bool
    public init(caseless: Bool, pcre: Bool) {
        self.caseless = caseless
        self.pcre = pcre
    }
}

/// Finds a literal byte string that every match of a regular expression must contain, so a table can
/// skip rules whose literal is absent from the key without running their expression.
///
/// The analysis is conservative: it reads only the top level of the pattern (no alternation there),
/// collects runs of plain characters, and ends a run at anything that is not a single plain character
/// (classes, groups, wildcards, anchors, escapes with a meaning); a character followed by a quantifier
/// that allows zero is dropped. When in doubt it returns nil, and the rule is always evaluated.
public enum RequiredLiteral {
    /// The longest required literal of `pattern`, ASCII-lowercased when `syntax.caseless`; nil if none
    /// of at least 2 bytes can be proven.
    public static func extract(_ pattern: [UInt8], syntax: LiteralSyntax) -> [UInt8]? {
        var runs: [[UInt8]] = []
        var run: [UInt8] = []
        var i = 0
        let n = pattern.count
        func endRun() {
            if !run.isEmpty { runs.append(run); run = [] }
        }
        /// The atom just appended to `run` is quantified: drop it (it may repeat or vanish).
        func quantified(minimumZero: Bool) {
            if !run.isEmpty { run.removeLast() }
            endRun()
            _ = minimumZero
        }
        var lastWasAtom = false
        while i < n {
            let c = pattern[i]
            switch c {
            case 0x7C: // | at top level: give up
                return nil
            case 0x28: // ( group: skip to its end; it breaks runs
                var level = 1
                var j = i + 1
                while j < n, level > 0 {
                    if pattern[j] == 0x5C { j += 2; continue }
                    if pattern[j] == 0x5B { j = skipClass(pattern, j, pcre: syntax.pcre) ?? n; continue }
                    if pattern[j] == 0x28 { level += 1 } else if pattern[j] == 0x29 { level -= 1 }
                    j += 1
                }
                if level != 0 { return nil }
                if syntax.pcre, i + 1 < n, pattern[i + 1] == 0x3F { return nil } // (?...) may change options
                endRun()
                i = j
                lastWasAtom = true
            case 0x29:
                return nil
            case 0x5B:
                guard let j = skipClass(pattern, i, pcre: syntax.pcre) else { return nil }
                endRun()
                i = j
                lastWasAtom = true
            case 0x2E, 0x5E, 0x24: // . ^ $
                endRun()
                i += 1
                lastWasAtom = c == 0x2E
            case 0x2A, 0x3F: // * ?
                guard lastWasAtom else { return nil }
                quantified(minimumZero: true)
                i += 1
                if syntax.pcre, i < n, pattern[i] == 0x3F || pattern[i] == 0x2B { i += 1 } // lazy/possessive
                lastWasAtom = false
            case 0x2B: // +
                guard lastWasAtom else { return nil }
                quantified(minimumZero: false)
                i += 1
                if syntax.pcre, i < n, pattern[i] == 0x3F || pattern[i] == 0x2B { i += 1 }
                lastWasAtom = false
            case 0x7B: // {n,m}
                guard lastWasAtom, let j = skipInterval(pattern, i) else { return nil }
                quantified(minimumZero: true)
                i = j
                if syntax.pcre, i < n, pattern[i] == 0x3F || pattern[i] == 0x2B { i += 1 }
                lastWasAtom = false
            case 0x5C: // escape
                guard i + 1 < n else { return nil }
                let e = pattern[i + 1]
                let isAlnum = (e >= 0x30 && e <= 0x39) || (e >= 0x41 && e <= 0x5A) || (e >= 0x61 && e <= 0x7A)
                if !isAlnum {
                    run.append(syntax.caseless ? lower(e) : e)
                    i += 2
                    lastWasAtom = true
                } else if syntax.pcre {
                    // Escapes without arguments break a run; anything else (\Q, \x{..}, \p{..}, backreferences, ...)
                    // is beyond this analysis.
                    guard Array("dDwWsShHvVRbBAzZGKN".utf8).contains(e), !(e == 0x4E && i + 2 < n && pattern[i + 2] == 0x7B) else { return nil }
                    endRun()
                    i += 2
                    lastWasAtom = !"bBAzZGK".utf8.contains(e)
                } else {
                    endRun() // glibc: \w \s \b \< \> \` \' and back-references
                    i += 2
                    lastWasAtom = true
                }
            default:
                if syntax.pcre, c == 0x23 || c == 0x20 { /* only special with x, which disables extraction */ }
                run.append(syntax.caseless ? lower(c) : c)
                i += 1
                lastWasAtom = true
            }
        }
        endRun()
        let best = runs.max(by: { $0.count < $1.count })
        guard let best, best.count >= 2 else { return nil }
        return best
    }

    @inline(__always)
    static func lower(_ c: UInt8) -> UInt8 { c &- 0x41 < 26 ? c | 0x20 : c }

    /// The index after a bracket expression starting at `i`, or nil if it does not end.
    static func skipClass(_ p: [UInt8], _ i: Int, pcre: Bool) -> Int? {
        var j = i + 1
        if j < p.count, p[j] == 0x5E { j += 1 }
        if j < p.count, p[j] == 0x5D { j += 1 } // a leading ] is literal
        while j < p.count {
            let c = p[j]
            if c == 0x5D { return j + 1 }
            if c == 0x5B, j + 1 < p.count, p[j + 1] == 0x3A || p[j + 1] == 0x2E || p[j + 1] == 0x3D {
                // [:class:], [.coll.], [=equiv=]
                let close = p[j + 1]
                var k = j + 2
                while k + 1 < p.count, !(p[k] == close && p[k + 1] == 0x5D) { k += 1 }
                guard k + 1 < p.count else { return nil }
                j = k + 2
                continue
            }
            if pcre, c == 0x5C { j += 2; continue }
            j += 1
        }
        return nil
    }

    /// The index after `{n}`, `{n,}` or `{n,m}` at `i`, or nil if it is not a well-formed interval.
    static func skipInterval(_ p: [UInt8], _ i: Int) -> Int? {
        var j = i + 1
        var digits = 0
        while j < p.count, p[j] >= 0x30, p[j] <= 0x39 { j += 1; digits += 1 }
        guard digits > 0, j < p.count else { return nil }
        if p[j] == 0x2C {
            j += 1
            while j < p.count, p[j] >= 0x30, p[j] <= 0x39 { j += 1 }
        }
        guard j < p.count, p[j] == 0x7D else { return nil }
        return j + 1
    }
}
