import PostfixText
// Parsing of one logical aliases(5) line, compatible with Postfix 3.7 postalias.
//
// Postalias does not run the full RFC 822 parser over an alias line: it only
// splits the line into a flat list of tokens (no address grouping), finds the
// first ":" token, and then turns the tokens on either side back into text.
// The key side becomes "internal" (unquoted) text, the value side becomes
// "external" (quoted) text that can be re-parsed at delivery time.
//
// Summary of the token rules reproduced here:
//  - space, tab, CR and LF separate tokens and are otherwise dropped;
//  - "(" starts a comment that may nest; it is kept verbatim, parentheses and
//    backslashes included;
//  - "[" starts a domain literal and '"' a quoted string; both run to the
//    closing "]" or '"' (or the end of the line), a backslash takes the next
//    byte literally, and any space/tab/CR/LF inside becomes a single space;
//  - the bytes | % ! ) < > @ , ; : . ] are one-byte operator tokens;
//  - anything else is an atom: a run of bytes up to white space or an
//    operator, where a backslash makes the next byte part of the atom. An atom
//    that ends up holding a space, a control byte or an operator byte is
//    treated as a quoted string from then on.
//  - the whole line is read as a C string: it ends at the first NUL byte.

/// Parses one logical line of an aliases(5) file the way Postfix 3.7 postalias does (tok822 tokenizing).
public enum AliasLineParser {
    public enum Failure: Error, Equatable { case needNameValuePair, nameMustBeLocal }

    /// `line` is one logical line (comments removed and continuation lines already joined by the caller,
    /// exactly as Postfix readllines does: joined without separator, leading whitespace of continuation kept).
    /// Returns the key (NOT yet case-folded; the caller folds) and the value bytes exactly as Postfix 3.7
    /// stores them (before any trailing NUL).
    ///
    /// A line that yields no tokens at all (Postfix silently skips it; readllines never produces one)
    /// is reported as `.needNameValuePair`.
    public static func parse(_ line: [UInt8]) -> Result<(key: [UInt8], value: [UInt8]), Failure> {
        let (tokens, arena) = tokenize(line)

        // The name:value split happens at the first ":" operator. There must be
        // at least one token on each side, and no "," on the left (a key that
        // looks like an address list is rejected).
        guard let colon = tokens.firstIndex(where: { $0.isOperator(.colon) }),
              colon > 0, colon < tokens.count - 1
        else { return .failure(.needNameValuePair) }
        let keyTokens = tokens[..<colon]
        if keyTokens.contains(where: { $0.isOperator(.comma) }) {
            return .failure(.needNameValuePair)
        }
        // Postalias cannot consult the resolver, so it guesses: "@" or "%" in
        // the name means a non-local address.
        if keyTokens.contains(where: { $0.isOperator(.at) || $0.isOperator(.percent) }) {
            return .failure(.nameMustBeLocal)
        }
        let key = renderUnquoted(keyTokens, arena)
        let value = renderQuoted(tokens[(colon + 1)...], arena)
        return .success((key: key, value: value))
    }
}

// MARK: - Tokens

/// A token; text tokens are ranges of the scanner's arena, so tokenizing a line allocates little.
private enum Token {
    case atom(Range<Int>)
    case quoted(Range<Int>)
    /// Stored in its original form, "(" ... ")" included.
    case comment(Range<Int>)
    /// The text between "[" and "]".
    case literal(Range<Int>)
    case op(UInt8)

    func isOperator(_ byte: UInt8) -> Bool {
        if case .op(let b) = self { return b == byte }
        return false
    }

    /// Words get a separating blank between them when rendered; operators do not.
    var isWord: Bool {
        if case .op = self { return false }
        return true
    }
}

extension UInt8 {
    fileprivate static let space: UInt8 = 0x20
    fileprivate static let tab: UInt8 = 0x09
    fileprivate static let lf: UInt8 = 0x0A
    fileprivate static let cr: UInt8 = 0x0D
    fileprivate static let backslash: UInt8 = 0x5C
    fileprivate static let dquote: UInt8 = 0x22
    fileprivate static let lparen: UInt8 = 0x28
    fileprivate static let rparen: UInt8 = 0x29
    fileprivate static let lbracket: UInt8 = 0x5B
    fileprivate static let rbracket: UInt8 = 0x5D
    fileprivate static let colon: UInt8 = 0x3A
    fileprivate static let comma: UInt8 = 0x2C
    fileprivate static let at: UInt8 = 0x40
    fileprivate static let percent: UInt8 = 0x25
    fileprivate static let less: UInt8 = 0x3C
}

/// Space, tab, CR, LF: the only bytes that separate tokens.
private func isBlank(_ b: UInt8) -> Bool {
    b == .space || b == .tab || b == .cr || b == .lf
}

/// Operator bytes: "|", "%", "!" plus the RFC 822 specials ()<>@,;:\".[]
@inline(__always)
private func isOperatorByte(_ b: UInt8) -> Bool {
    switch b {
    case 0x7C, 0x25, 0x21, 0x28, 0x29, 0x3C, 0x3E, 0x40, 0x2C, 0x3B, 0x3A, 0x5C, 0x22, 0x2E, 0x5B, 0x5D: return true
    default: return false
    }
}

private func isControl(_ b: UInt8) -> Bool { b < 0x20 || b == 0x7F }

private struct Scanner {
    let bytes: [UInt8]
    let end: Int
    var pos = 0
    /// The text of every token, back to back.
    var arena: [UInt8] = []

    init(_ line: [UInt8]) {
        bytes = line
        end = line.firstIndex(of: 0) ?? line.count
        arena.reserveCapacity(end + 8)
    }

    var atEnd: Bool { pos >= end }

    /// Collects bytes while `keepGoing` holds; a backslash always takes the
    /// following byte (if any) regardless of `keepGoing`. Blanks that get
    /// collected are stored as plain spaces. Stops before the byte that failed
    /// the test.
    mutating func collect(while keepGoing: (UInt8) -> Bool) -> Range<Int> {
        let start = arena.count
        while pos < end {
            var b = bytes[pos]
            if b == .backslash {
                pos += 1
                if pos >= end { break }
                b = bytes[pos]
            } else if !keepGoing(b) {
                break
            }
            arena.append(isBlank(b) ? .space : b)
            pos += 1
        }
        return start..<arena.count
    }

    /// Like `collect`, then steps over the terminator when there is one.
    mutating func collectDelimited(by terminator: UInt8) -> Range<Int> {
        let out = collect(while: { $0 != terminator })
        if pos < end { pos += 1 }
        return out
    }

    /// Reads a comment body after its "(", keeping everything verbatim and
    /// honouring nesting and backslash escapes.
    mutating func comment() -> Range<Int> {
        let start = arena.count
        arena.append(.lparen)
        var depth = 1
        while pos < end {
            let b = bytes[pos]
            arena.append(b)
            pos += 1
            switch b {
            case .lparen:
                depth += 1
            case .rparen:
                depth -= 1
                if depth == 0 { return start..<arena.count }
            case .backslash:
                if pos >= end { return start..<arena.count }
                arena.append(bytes[pos])
                pos += 1
            default:
                break
            }
        }
        return start..<arena.count
    }
}

/// The tokens of a line and the arena their text lives in.
private func tokenize(_ line: [UInt8]) -> (tokens: [Token], text: [UInt8]) {
    var scanner = Scanner(line)
    var tokens: [Token] = []
    tokens.reserveCapacity(16)
    while !scanner.atEnd {
        let b = scanner.bytes[scanner.pos]
        if isBlank(b) {
            scanner.pos += 1
            continue
        }
        switch b {
        case .lparen:
            scanner.pos += 1
            tokens.append(.comment(scanner.comment()))
        case .lbracket:
            scanner.pos += 1
            tokens.append(.literal(scanner.collectDelimited(by: .rbracket)))
        case .dquote:
            scanner.pos += 1
            tokens.append(.quoted(scanner.collectDelimited(by: .dquote)))
        case _ where b != .backslash && isOperatorByte(b):
            scanner.pos += 1
            tokens.append(.op(b))
        default:
            // An atom; it may begin with a backslash escape.
            let text = scanner.collect(while: { !isBlank($0) && !isOperatorByte($0) })
            let needsQuotes = scanner.arena[text].contains(where: { $0 == .space || isControl($0) || isOperatorByte($0) })
            tokens.append(needsQuotes ? .quoted(text) : .atom(text))
        }
    }
    return (tokens, scanner.arena)
}

// MARK: - Rendering

/// Whether a blank goes between `token` and `next`: before a "<", or between
/// two words. (A blank after "," is handled by the renderers.)
private func blankBetween(_ token: Token, _ next: Token) -> Bool {
    if next.isOperator(.less) { return true }
    return token.isWord && next.isWord
}

/// Internal (unquoted) form, used for the key.
private func renderUnquoted(_ tokens: ArraySlice<Token>, _ arena: [UInt8]) -> [UInt8] {
    var out: [UInt8] = []
    out.reserveCapacity(arena.count + 8)
    var index = tokens.startIndex
    while index < tokens.endIndex {
        let token = tokens[index]
        switch token {
        case .atom(let text), .quoted(let text), .comment(let text):
            out += arena[text]
        case .literal(let text):
            out.append(.lbracket)
            out += arena[text]
            out.append(.rbracket)
        case .op(let b):
            out.append(b)
        }
        let next = index + 1
        if next < tokens.endIndex, token.isOperator(.comma) || blankBetween(token, tokens[next]) {
            out.append(.space)
        }
        index = next
    }
    return out
}

/// Appends `text`, putting a backslash before every byte in `special`.
private func appendEscaped(_ text: ArraySlice<UInt8>, escaping special: (UInt8) -> Bool, to out: inout [UInt8]) {
    for b in text {
        if special(b) { out.append(.backslash) }
        out.append(b)
    }
}

/// External (quoted) form, used for the value.
private func renderQuoted(_ tokens: ArraySlice<Token>, _ arena: [UInt8]) -> [UInt8] {
    var out: [UInt8] = []
    out.reserveCapacity(arena.count + 16)
    var index = tokens.startIndex
    while index < tokens.endIndex {
        let token = tokens[index]
        let next = index + 1
        switch token {
        case .op(.comma):
            // A list separator is always written as ", ", whatever follows.
            out.append(.comma)
            out.append(.space)
            index = next
            continue
        case .atom(let text), .comment(let text):
            out += arena[text]
        case .quoted(let text):
            out.append(.dquote)
            appendEscaped(arena[text], escaping: { $0 == .dquote || $0 == .backslash || $0 == .cr || $0 == .lf }, to: &out)
            out.append(.dquote)
        case .literal(let text):
            out.append(.lbracket)
            appendEscaped(arena[text], escaping: { $0 == .backslash || $0 == .cr || $0 == .lf }, to: &out)
            out.append(.rbracket)
        case .op(let b):
            out.append(b)
        }
        if next < tokens.endIndex, blankBetween(token, tokens[next]) {
            out.append(.space)
        }
        index = next
    }
    return out
}
