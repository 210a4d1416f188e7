/// Postfix's `mac_expand()` for main.cf values: `$name`, `${name}`, `$(name)`, `${name?text}`,
/// `${name:text}`, `${name?{a}:{b}}`, and the relational form `${{a} OP {b} ? {t} : {f}}` with
/// `== != < <= > >=` (numeric when both sides are digits) and their `level` variants for compatibility levels.
struct Expander {
    let config: MainConfig
    /// Names referenced but defined nowhere.
    var undefined: [String] = []
    static let maxDepth = 100

    init(config: MainConfig) { self.config = config }

    mutating func expand(_ text: String, depth: Int) -> String {
        guard depth < Self.maxDepth, text.contains("$") else { return text }
        let s = Array(text.unicodeScalars)
        var out = String.UnicodeScalarView()
        var i = 0
        while i < s.count {
            let c = s[i]
            guard c == "$", i + 1 < s.count else { out.append(c); i += 1; continue }
            let n = s[i + 1]
            if n == "$" { out.append("$"); i += 2; continue }
            if isNameChar(n) {
                var j = i + 1
                while j < s.count, isNameChar(s[j]) { j += 1 }
                let name = String(String.UnicodeScalarView(s[(i + 1)..<j]))
                out.append(contentsOf: lookup(name, depth: depth).unicodeScalars)
                i = j
                continue
            }
            if n == "{" || n == "(" {
                let close: Unicode.Scalar = n == "{" ? "}" : ")"
                guard let end = matching(s, from: i + 1, open: n, close: close) else {
                    out.append(contentsOf: s[i...]); break
                }
                let inner = Array(s[(i + 2)..<end])
                out.append(contentsOf: evaluate(inner, depth: depth).unicodeScalars)
                i = end + 1
                continue
            }
            out.append(c)
            i += 1
        }
        return String(out)
    }

    private func isNameChar(_ c: Unicode.Scalar) -> Bool {
        (c >= "a" && c <= "z") || (c >= "A" && c <= "Z") || (c >= "0" && c <= "9") || c == "_"
    }

    private func matching(_ s: [Unicode.Scalar], from: Int, open: Unicode.Scalar, close: Unicode.Scalar) -> Int? {
        var level = 0
        var i = from
        while i < s.count {
            if s[i] == open { level += 1 } else if s[i] == close { level -= 1; if level == 0 { return i } }
            i += 1
        }
        return nil
    }

    private mutating func lookup(_ name: String, depth: Int) -> String {
        guard let raw = config.raw(name) else {
            undefined.append(name)
            return ""
        }
        return expand(raw, depth: depth + 1)
    }

    private func trim(_ s: ArraySlice<Unicode.Scalar>) -> ArraySlice<Unicode.Scalar> {
        var a = s
        while let f = a.first, isSpace(f) { a = a.dropFirst() }
        while let l = a.last, isSpace(l) { a = a.dropLast() }
        return a
    }

    /// A `{text}` operand or bare text, with surrounding blanks ignored.
    private mutating func operand(_ s: ArraySlice<Unicode.Scalar>, depth: Int) -> String {
        let t = trim(s)
        if t.first == "{", t.last == "}", t.count >= 2 {
            return expand(String(String.UnicodeScalarView(t.dropFirst().dropLast())), depth: depth)
        }
        return expand(String(String.UnicodeScalarView(t)), depth: depth)
    }

    /// Split at the first `ch` outside braces.
    private func split(_ s: ArraySlice<Unicode.Scalar>, at ch: Unicode.Scalar) -> (ArraySlice<Unicode.Scalar>, ArraySlice<Unicode.Scalar>)? {
        var level = 0
        var i = s.startIndex
        while i < s.endIndex {
            let c = s[i]
            if c == "{" { level += 1 } else if c == "}" { level -= 1 } else if c == ch, level == 0 {
                return (s[s.startIndex..<i], s[(i + 1)...])
            }
            i += 1
        }
        return nil
    }

    private mutating func evaluate(_ inner: [Unicode.Scalar], depth: Int) -> String {
        let body = trim(inner[...])
        if body.first == "{" { return relational(body, depth: depth) }
        var j = body.startIndex
        while j < body.endIndex, isNameChar(body[j]) { j += 1 }
        let name = String(String.UnicodeScalarView(body[body.startIndex..<j]))
        let rest = body[j...]
        let value = lookup(name, depth: depth)
        guard let op = rest.first else { return value }
        let tail = rest.dropFirst()
        switch op {
        case "?":
            if let (t, f) = split(tail, at: ":"), trim(t).first == "{" {
                return operand(value.isEmpty ? f : t, depth: depth)
            }
            return value.isEmpty ? "" : operand(tail, depth: depth)
        case ":":
            return value.isEmpty ? operand(tail, depth: depth) : ""
        default:
            return value
        }
    }

    private mutating func relational(_ body: ArraySlice<Unicode.Scalar>, depth: Int) -> String {
        // {left} OP {right} ? {true} : {false}
        guard let leftEnd = matching(Array(body), from: 0, open: "{", close: "}") else { return "" }
        let all = Array(body)
        let left = operand(all[0...leftEnd][...], depth: depth)
        var rest = trim(all[(leftEnd + 1)...])
        var op = ""
        while let c = rest.first, c != "{", !isSpace(c) { op.unicodeScalars.append(c); rest = rest.dropFirst() }
        rest = trim(rest)
        let r = Array(rest)
        guard r.first == "{", let rightEnd = matching(r, from: 0, open: "{", close: "}") else { return "" }
        let right = operand(r[0...rightEnd][...], depth: depth)
        let after = trim(r[(rightEnd + 1)...])
        guard after.first == "?" else { return "" }
        let branches = after.dropFirst()
        let result = compare(left, op, right)
        if let (t, f) = split(branches, at: ":") {
            return operand(result ? t : f, depth: depth)
        }
        return result ? operand(branches, depth: depth) : ""
    }

    private func compare(_ a: String, _ op: String, _ b: String) -> Bool {
        var op = Substring(op)
        let cmp: Int
        if op.hasSuffix("level") {
            op = op.dropLast(5)
            cmp = Self.compareLevels(a, b)
        } else if let x = Int(a), let y = Int(b), a.allSatisfy(\.isNumber), b.allSatisfy(\.isNumber) {
            cmp = x < y ? -1 : (x > y ? 1 : 0)
        } else {
            cmp = a < b ? -1 : (a > b ? 1 : 0)
        }
        switch op {
        case "==": return cmp == 0
        case "!=": return cmp != 0
        case "<": return cmp < 0
        case "<=": return cmp <= 0
        case ">": return cmp > 0
        case ">=": return cmp >= 0
        default: return false
        }
    }

    /// Compare compatibility levels such as `0`, `1`, `2`, `3.6` component by component.
    static func compareLevels(_ a: String, _ b: String) -> Int {
        let x = a.split(separator: ".").map { Int($0) ?? 0 }
        let y = b.split(separator: ".").map { Int($0) ?? 0 }
        for i in 0..<max(x.count, y.count) {
            let p = i < x.count ? x[i] : 0, q = i < y.count ? y[i] : 0
            if p != q { return p < q ? -1 : 1 }
        }
        return 0
    }
}
