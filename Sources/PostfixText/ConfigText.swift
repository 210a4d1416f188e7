

/// Postfix's string helpers on bytes, as configuration files use them: `split_nameval`, `mystrtok`,
/// `mystrtokq`, `extpar`, whitespace classes.
public enum ConfigText {
    /// `ISSPACE` in the C locale.
    @inline(__always)
    public static func isSpace(_ c: UInt8) -> Bool { c == 0x20 || (c >= 0x09 && c <= 0x0D) }

    /// `CHARS_SPACE` (" \t\r\n").
    @inline(__always)
    public static func isBlank(_ c: UInt8) -> Bool { c == 0x20 || c == 0x09 || c == 0x0D || c == 0x0A }

    /// `CHARS_COMMA_SP` (", \t\r\n").
    @inline(__always)
    public static func isCommaOrBlank(_ c: UInt8) -> Bool { c == 0x2C || isBlank(c) }

    /// `split_nameval`: name up to whitespace or `=`, value with surrounding whitespace removed; the
    /// error text on failure.
    public static func splitNameValue(_ line: [UInt8]) -> Result<(name: [UInt8], value: [UInt8]), NameValueError> {
        var i = 0
        let n = line.count
        while i < n, isSpace(line[i]) { i += 1 }
        if i == n || line[i] == 0x3D { return .failure(.missingName) }
        let nameStart = i
        while i < n, !isSpace(line[i]), line[i] != 0x3D { i += 1 }
        let nameEnd = i
        while i < n, isSpace(line[i]) { i += 1 }
        if i == n || line[i] != 0x3D { return .failure(.missingEquals) }
        i += 1
        while i < n, isSpace(line[i]) { i += 1 }
        var end = n
        while end > i, isSpace(line[end - 1]) { end -= 1 }
        return .success((Array(line[nameStart..<nameEnd]), Array(line[i..<end])))
    }

    /// A `split_nameval` failure, in Postfix's words.
    public enum NameValueError: Error {
        case missingName, missingEquals

        public var text: String {
            switch self {
            case .missingName: return "missing attribute name"
            case .missingEquals: return "missing '=' after attribute name"
            }
        }
    }

    /// `mystrtok`: tokens separated by any run of `isSeparator` bytes.
    public static func tokens(_ text: [UInt8], _ isSeparator: (UInt8) -> Bool) -> [[UInt8]] {
        var out: [[UInt8]] = []
        var i = 0
        let n = text.count
        while i < n {
            while i < n, isSeparator(text[i]) { i += 1 }
            guard i < n else { break }
            let start = i
            while i < n, !isSeparator(text[i]) { i += 1 }
            out.append(Array(text[start..<i]))
        }
        return out
    }

    /// `mystrtokq` with `{}`: like `tokens`, but separators inside `{...}` do not split.
    public static func quotedTokens(_ text: [UInt8], _ isSeparator: (UInt8) -> Bool) -> [[UInt8]] {
        quotedTokenRanges(text, isSeparator).map { Array(text[$0]) }
    }

    /// Where `quotedTokens` finds each token. The text after a token's range and the one separator that
    /// ends it is what `mystrtokq` leaves for the next call.
    public static func quotedTokenRanges(_ text: [UInt8], _ isSeparator: (UInt8) -> Bool) -> [Range<Int>] {
        var out: [Range<Int>] = []
        var i = 0
        let n = text.count
        while i < n {
            while i < n, isSeparator(text[i]) { i += 1 }
            guard i < n else { break }
            let start = i
            var level = 0
            while i < n {
                let c = text[i]
                if c == 0x7B {
                    level += 1
                } else if level > 0, c == 0x7D {
                    level -= 1
                } else if level == 0, isSeparator(c) {
                    break
                }
                i += 1
            }
            out.append(start..<i)
            if i < n { i += 1 }
        }
        return out
    }

    /// `balpar` with `{}`: the length of the balanced group at the start, or 0.
    public static func balancedLength(_ s: ArraySlice<UInt8>) -> Int {
        guard s.first == 0x7B else { return 0 }
        var level = 1
        var i = s.startIndex + 1
        // A NUL ends the text, as it ends Postfix's C strings.
        while i < s.endIndex, s[i] != 0 {
            let c = s[i]
            if c == 0x7D {
                level -= 1
                if level == 0 { return i - s.startIndex + 1 }
            } else if c == 0x7B {
                level += 1
            }
            i += 1
        }
        return 0
    }

    /// `extpar` with `{}`: the text inside the braces (optionally blank-trimmed) and Postfix's error text
    /// when the braces are missing, unbalanced or followed by more text (the text is still returned, as
    /// Postfix goes on with it).
    public static func extractBraces(_ text: [UInt8], strip: Bool) -> (text: [UInt8], error: String?) {
        var inner: ArraySlice<UInt8>
        var error: String?
        if text.first != 0x7B {
            error = "no '{' at start of text in \"\(ByteText.string(text))\""
            inner = text[...]
        } else {
            let len = balancedLength(text[...])
            if len == 0 {
                error = "missing '}' in \"\(ByteText.string(text))\""
                inner = text[1...]
            } else {
                if len != text.count {
                    error = "syntax error after '}' in \"\(ByteText.string(text))\""
                }
                inner = text[1..<(len - 1)]
            }
        }
        if strip {
            while let l = inner.last, isSpace(l) { inner = inner.dropLast() }
            while let f = inner.first, isSpace(f) { inner = inner.dropFirst() }
        }
        return (Array(inner), error)
    }

    /// Bytes up to the first NUL (what a C string would hold).
    public static func cString(_ bytes: [UInt8]) -> [UInt8] {
        guard let nul = bytes.firstIndex(of: 0) else { return bytes }
        return Array(bytes[..<nul])
    }

    /// `basename` (GNU): the text after the last `/`.
    public static func basename(_ path: [UInt8]) -> [UInt8] {
        guard let slash = path.lastIndex(of: 0x2F) else { return path }
        return Array(path[(slash + 1)...])
    }

    /// A string for messages.
    public static func text(_ bytes: [UInt8]) -> String { ByteText.string(bytes) }

    /// Byte order as `strcmp` sorts.
    public static func precedes(_ a: [UInt8], _ b: [UInt8]) -> Bool { a.lexicographicallyPrecedes(b) }
}

extension Array where Element == UInt8 {
    /// The UTF-8 bytes of a string literal or name.
    public init(text: String) { self = ByteText.bytes(of: text) }
}
