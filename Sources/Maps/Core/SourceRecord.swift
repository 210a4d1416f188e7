import PostfixText
/// The `key whitespace value` split that postmap and texthash apply to each logical line.
public enum SourceRecord {
    /// Why a line was not a record.
    public enum Failure: Error, Equatable {
        /// A `"` was left open (`unbalanced '"' in 'LINE' -- ignoring this line`).
        case unbalancedQuote
        /// No key or no value (`expected format: key whitespace value`).
        case expectedKeyValue
    }

    /// Split one logical line as Postfix does: the key ends at the first whitespace outside quotes (`\`
    /// protects the next byte, `"` toggles quoting) and keeps its quotes and backslashes; the value is the
    /// rest, trimmed. The line is first cut at a NUL byte, as Postfix's C strings are.
    public static func split(_ line: [UInt8]) -> Result<(key: [UInt8], value: [UInt8]), Failure> {
        let text = KeyCodec.cString(line)
        return text.withUnsafeBufferPointer { p -> Result<(key: [UInt8], value: [UInt8]), Failure> in
            var inQuotes = false
            var i = 0
            let n = p.count
            while i < n {
                let c = p[i]
                if c == 0x5C { // backslash
                    i += 1
                    if i >= n { break }
                } else if isCSpace(c) {
                    if !inQuotes { break }
                } else if c == 0x22 {
                    inQuotes.toggle()
                }
                i += 1
            }
            if inQuotes { return .failure(.unbalancedQuote) }
            let keyEnd = min(i, n)
            var start = min(i + 1, n)
            while start < n, isCSpace(p[start]) { start += 1 }
            var end = n
            while end > start, isCSpace(p[end - 1]) { end -= 1 }
            if keyEnd == 0 || end == start { return .failure(.expectedKeyValue) }
            return .success((Array(p[0..<keyEnd]), Array(p[start..<end])))
        }
    }
}
