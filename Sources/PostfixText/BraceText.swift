/// Postfix's helpers for `{...}` text in table names (`extpar`, `balpar`, `mystrtokq`), as strings, for
/// the inline forms of `inline:`, `static:`, `unionmap:`, `pipemap:` and `regexp:`/`pcre:`/`cidr:`.
/// They are `ConfigText`'s byte functions, which main.cf and master.cf use, under string names: one
/// implementation for tables and configuration alike.
public enum BraceText {
    /// The length of the balanced `{...}` group at the start of `text` (0 if none). A NUL ends the text,
    /// as in Postfix's C strings.
    public static func balancedLength(_ text: [UInt8]) -> Int {
        ConfigText.balancedLength(text[...])
    }

    /// Postfix's `extpar`: strip the enclosing braces of `text`; with `strip`, also trim blanks inside.
    /// On failure returns Postfix's error text (`missing '}' in "..."`, `syntax error after '}' in "..."`,
    /// `no '{' at start of text in "..."`).
    public static func extract(_ text: String, strip: Bool) -> Result<String, BraceError> {
        let (inner, error) = ConfigText.extractBraces(ByteText.bytes(of: text), strip: strip)
        if let error { return .failure(BraceError(message: error)) }
        return .success(ByteText.string(inner))
    }

    /// Postfix's `mystrtokq` with `{}`: split on any of `separators` outside `{...}` groups; empty tokens
    /// are skipped.
    public static func tokens(_ text: String, separators: String = ", \t\r\n") -> [String] {
        let seps = Set(separators.utf8)
        return ConfigText.quotedTokens(ByteText.bytes(of: text), { seps.contains($0) }).map { ByteText.string($0) }
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
                text.append(contentsOf: ByteText.bytes(of: rule))
                text.append(0x0A)
            }
        }
        return .success(text)
    }
}

/// A `{...}` syntax error, in Postfix's words.
public struct BraceError: Error, Sendable, Equatable {
    public var message: String
    public init(message: String) { self.message = message }
}
