/// Postfix's helpers for `{...}` text in table names (`extpar`, `balpar`, `mystrtokq`), used by the inline
/// forms of `inline:`, `static:`, `unionmap:`, `pipemap:` and `regexp:`/`pcre:`/`cidr:`.
public enum BraceText {
    @inline(__always)
    static func isSpace(_ c: UInt8) -> Bool { c == 0x20 || (c >= 0x09 && c <= 0x0D) }

    /// The length of the balanced `{...}` group at the start of `text` (0 if none).
    public static func balancedLength(_ text: [UInt8], open: UInt8 = 0x7B, close: UInt8 = 0x7D) -> Int {
        guard text.first == open else { return 0 }
        var level = 1
        var i = 1
        while i < text.count, text[i] != 0 {
            if text[i] == close {
                level -= 1
                if level == 0 { return i + 1 }
            } else if text[i] == open {
                level += 1
            }
            i += 1
        }
        return 0
    }

    /// Postfix's `extpar`: strip the enclosing braces of `text`; with `strip`, also trim blanks inside.
    /// On failure returns Postfix's error text (`missing '}' in "..."`, `syntax error after '}' in "..."`,
    /// `no '{' at start of text in "..."`).
    public static func extract(_ text: String, strip: Bool) -> Result<String, BraceError> {
        let bytes = Array(text.utf8)
        if bytes.first != 0x7B {
            return .failure(BraceError(message: "no '{' at start of text in \"\(text)\""))
        }
        let length = balancedLength(bytes)
        if length == 0 { return .failure(BraceError(message: "missing '}' in \"\(text)\"")) }
        if length != bytes.count { return .failure(BraceError(message: "syntax error after '}' in \"\(text)\"")) }
        var inner = bytes[1..<(length - 1)]
        if strip {
            while let c = inner.first, isSpace(c) { inner = inner.dropFirst() }
            while let c = inner.last, isSpace(c) { inner = inner.dropLast() }
        }
        return .success(String(decoding: inner, as: UTF8.self))
    }

    /// Postfix's `mystrtokq`: split on any of `separators` outside `{...}` groups; empty tokens are skipped.
    public static func tokens(_ text: String, separators: String = ", \t\r\n") -> [String] {
        let seps = Set(separators.utf8)
        var out: [String] = []
        var current: [UInt8] = []
        var level = 0
        for c in text.utf8 {
            if c == 0x7B {
                level += 1
            } else if level > 0, c == 0x7D {
                level -= 1
            } else if level == 0, seps.contains(c) {
                if !current.isEmpty { out.append(String(decoding: current, as: UTF8.self)) }
                current.removeAll()
                continue
            }
            current.append(c)
        }
        if !current.isEmpty { out.append(String(decoding: current, as: UTF8.self)) }
        return out
    }

    /// The inline rule form `{ {rule1}, {rule2} }` as the text of a rules file, one rule per line
    /// (Postfix's `dict_inline_to_multiline`).
    public static func inlineRules(_ name: String) -> Result<[UInt8], BraceError> {
        let outer: String
        switch extract(name, strip: false) {
        case .failure(let e): return .failure(e)
        case .success(let s): outer = s
        }
        var text: [UInt8] = []
        for token in tokens(outer) {
            switch extract(token, strip: true) {
            case .failure(let e): return .failure(e)
            case .success(let rule):
                text.append(contentsOf: rule.utf8)
                text.append(0x0A)
            }
        }
        return .success(text)
    }
}

/// A `{...}` syntax error, in Postfix's words.
public struct BraceError: Error, Sendable, Equatable {
    public var message: String
}
