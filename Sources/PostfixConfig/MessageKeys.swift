import PostfixText

/// Splits a message into the lookup keys of `postmap -h`, `-b` and `-m`: each logical header (a folded
/// header keeps its embedded newlines and the leading blanks of its continuation lines) and each body
/// line. A small version of Postfix's MIME state machine (`mime_state.c`) as postmap drives it: whole
/// input lines, no 8-bit downgrade, and the same limits on header size, multipart nesting and boundary
/// length.
///
/// Keys are what Postfix looks up: its C strings end at the first NUL of each physical line.
public struct MessageKeys {
    /// What to produce, after postmap's `-h`, `-b` and `-m`.
    public struct Mode: Sendable, Equatable {
        /// Emit header keys (`-h`).
        public var headers: Bool
        /// Emit body-line keys (`-b`).
        public var body: Bool
        /// Parse MIME structure (`-m`): part headers become headers, not body lines.
        public var mime: Bool

        public init(headers: Bool, body: Bool, mime: Bool) {
            self.headers = headers
            self.body = body
            self.mime = mime
        }

        /// `-h` alone stops at the end of the primary headers.
        var stopsAfterPrimaryHeaders: Bool { !body && !mime }
    }

    /// The main.cf limits the parser honours.
    public struct Limits: Sendable, Equatable {
        /// `header_size_limit`: text of a header beyond this many bytes is dropped.
        public var headerSize: Int = 102_400
        /// `mime_nesting_limit`: deeper multipart boundaries are not tracked.
        public var nestingDepth: Int = 100
        /// `mime_boundary_length_limit`: boundaries are compared on this many bytes at most.
        public var boundaryLength: Int = 2048

        public init() {}
    }

    /// Message format errors (Postfix's `MIME_ERR_*`), reported only when asked for.
    public struct Errors: OptionSet, Sendable, Hashable {
        public let rawValue: Int
        public init(rawValue: Int) { self.rawValue = rawValue }

        /// Multipart nesting beyond `mime_nesting_limit`.
        public static let nesting = Errors(rawValue: 1 << 0)
        /// A header longer than `header_size_limit`.
        public static let truncatedHeader = Errors(rawValue: 1 << 1)
        /// 8-bit bytes in a header.
        public static let eightBitInHeader = Errors(rawValue: 1 << 2)
        /// 8-bit bytes in a body announced as (or defaulting to) 7bit.
        public static let eightBitIn7BitBody = Errors(rawValue: 1 << 3)
        /// A message/* or multipart/* entity with a transformation (base64, quoted-printable) as encoding.
        public static let encodingDomain = Errors(rawValue: 1 << 4)

        /// Postfix's text for the most serious error in the set (`mime_state_detail`).
        public var text: String {
            if contains(.nesting) { return "MIME nesting exceeds safety limit" }
            if contains(.truncatedHeader) { return "message header length exceeds safety limit" }
            if contains(.eightBitInHeader) { return "improper use of 8-bit data in message header" }
            if contains(.eightBitIn7BitBody) { return "improper use of 8-bit data in message body" }
            if contains(.encodingDomain) { return "invalid message/* or multipart/* encoding domain" }
            return ""
        }
    }

    /// Where a key came from.
    public enum Origin: Sendable, Equatable {
        /// A header of the primary header block.
        case primaryHeader
        /// A header after a multipart boundary.
        case partHeader
        /// A header at the start of an attached message/rfc822 (or message/global).
        case nestedHeader
        /// A body line (with `-b` and no `-m`, part headers too).
        case body
    }

    private enum State { case primary, multipart, nested, body }
    private enum ContentType { case other, text, message, multipart }
    private enum Subtype { case other, plain, rfc822, partial, externalBody, global }
    private enum Encoding { case sevenBit, eightBit, binary, base64, quotedPrintable }

    /// One open multipart level.
    private struct Boundary {
        var defaultType: ContentType
        var defaultSubtype: Subtype
        var text: [UInt8]
    }

    public let mode: Mode
    public let limits: Limits
    /// The errors to detect; postmap asks for none, as Postfix's does.
    public let report: Errors
    /// The errors seen so far (only those in `report`).
    public private(set) var errors: Errors = []
    /// True once `-h` alone has seen the end of the primary headers: no further input matters.
    public private(set) var isDone = false

    private var state = State.primary
    private var contentType = ContentType.text
    private var subtype = Subtype.plain
    private var encoding = Encoding.sevenBit
    private var domain = Encoding.sevenBit
    /// The header being collected; it is complete when a line arrives that does not continue it.
    private var header: [UInt8] = []
    private var stack: [Boundary] = []
    private var nestingLevel = -1

    public init(mode: Mode, limits: Limits = Limits(), report: Errors = []) {
        self.mode = mode
        self.limits = limits
        self.report = report
        header.reserveCapacity(256)
    }

    /// Feed one input line without its newline. `emit` receives each completed key.
    public mutating func feed(_ line: [UInt8], emit: ([UInt8], Origin) -> Void) {
        if state != .body {
            if !header.isEmpty {
                if let first = line.first, first == 0x20 || first == 0x09 {
                    if header.count < limits.headerSize {
                        header.append(0x0A)
                        appendCString(line[...], to: &header)
                    } else {
                        flag(.truncatedHeader)
                    }
                    return
                }
                flushHeader(emit)
            }
            let nameLength = Self.headerNameLength(line)
            if nameLength > 0 {
                // Postfix normalizes the obsolete "name : value" to "name: value".
                header.removeAll(keepingCapacity: true)
                header.append(contentsOf: line[..<nameLength])
                var rest = nameLength
                while rest < line.count, line[rest] == 0x20 || line[rest] == 0x09 { rest += 1 }
                appendCString(line[rest...], to: &header)
                return
            }
            endOfHeaders()
            if line.isEmpty {
                if contentType == .message, subtype == .rfc822 || subtype == .global {
                    setState(.nested, .text, .plain)
                } else if contentType == .multipart {
                    setState(.body, .other, .other)
                } else {
                    state = .body
                }
            } else {
                // Not a header and not the blank separator: the body starts here. A primary header block
                // cut short this way gets an empty body line, as if the separator had been there.
                if state == .primary { emitBody([], emit) }
                state = .body
            }
        }
        bodyLine(line, emit)
    }

    /// The end of the input: emit a header still being collected.
    public mutating func finish(emit: ([UInt8], Origin) -> Void) {
        guard state != .body else { return }
        if !header.isEmpty { flushHeader(emit) }
        endOfHeaders()
        state = .body
    }

    // MARK: - States

    private mutating func setState(_ next: State, _ type: ContentType, _ sub: Subtype) {
        state = next
        contentType = type
        subtype = sub
        encoding = .sevenBit
        domain = .sevenBit
    }

    private mutating func flag(_ error: Errors) {
        if report.contains(error) { errors.insert(error) }
    }

    /// Work done where a header block ends: `-h` alone is finished after the primary headers, and the
    /// encoding of message/* and multipart/* entities is checked.
    private mutating func endOfHeaders() {
        if state == .primary, mode.stopsAfterPrimaryHeaders { isDone = true }
        guard report.contains(.encodingDomain) else { return }
        let identity = encoding == domain
        switch contentType {
        case .message where subtype == .partial || subtype == .externalBody:
            if domain != .sevenBit { flag(.encodingDomain) }
        case .message where subtype == .rfc822:
            if !identity { flag(.encodingDomain) }
        case .multipart:
            if !identity { flag(.encodingDomain) }
        default:
            break
        }
    }

    private mutating func flushHeader(_ emit: ([UInt8], Origin) -> Void) {
        if mode.mime {
            switch Self.headerKind(header) {
            case .contentType: parseContentType()
            case .transferEncoding: parseTransferEncoding()
            case .other: break
            }
        }
        if report.contains(.eightBitInHeader), header.contains(where: { $0 >= 0x80 }) {
            flag(.eightBitInHeader)
        }
        if mode.headers {
            let origin: Origin = state == .primary ? .primaryHeader : state == .multipart ? .partHeader : .nestedHeader
            emit(header, origin)
        }
        header.removeAll(keepingCapacity: true)
    }

    private mutating func bodyLine(_ line: [UInt8], _ emit: ([UInt8], Origin) -> Void) {
        if report.contains(.eightBitIn7BitBody), encoding == .sevenBit, line.contains(where: { $0 >= 0x80 }) {
            flag(.eightBitIn7BitBody)
        }
        if !stack.isEmpty, line.count > 2, line[0] == 0x2D, line[1] == 0x2D {
            // Text after --boundary or --boundary-- is ignored, as Postfix does.
            for level in stack.indices.reversed() {
                let boundary = stack[level].text
                guard line.count >= 2 + boundary.count, line[2..<(2 + boundary.count)].elementsEqual(boundary) else { continue }
                let top = stack[level]
                nestingLevel -= stack.count - 1 - level
                stack.removeSubrange((level + 1)...)
                let end = 2 + boundary.count
                if line.count >= end + 2, line[end] == 0x2D, line[end + 1] == 0x2D {
                    stack.removeLast()
                    nestingLevel -= 1
                    setState(.body, .other, .other)
                } else {
                    setState(.multipart, top.defaultType, top.defaultSubtype)
                }
                break
            }
        }
        emitBody(line, emit)
    }

    private func emitBody(_ line: [UInt8], _ emit: ([UInt8], Origin) -> Void) {
        guard mode.body else { return }
        if let nul = line.firstIndex(of: 0) {
            emit(Array(line[..<nul]), .body)
        } else {
            emit(line, .body)
        }
    }

    // MARK: - Content-Type and Content-Transfer-Encoding

    private mutating func parseContentType() {
        // The value starts after "Content-Type:"; the name was normalized, so its length is known.
        var tokens = HeaderTokenizer(header[min(13, header.count)...], specials: HeaderTokenizer.mimeSpecials, terminator: 0x3B)
        guard let first = tokens.next(limit: 3), !first.isEmpty else { return }
        let hasSubtype = first.count >= 3 && first[1].special == 0x2F
        func subtypeIs(_ name: String) -> Bool { hasSubtype && first[2].isToken(name) }
        if first[0].isToken("text") {
            contentType = .text
            subtype = subtypeIs("plain") ? .plain : .other
        } else if first[0].isToken("message") {
            contentType = .message
            subtype = subtypeIs("rfc822") ? .rfc822 : subtypeIs("partial") ? .partial
                : subtypeIs("external-body") ? .externalBody : subtypeIs("global") ? .global : .other
        } else if first[0].isToken("multipart") {
            contentType = .multipart
            let digest = subtypeIs("digest")
            // Every boundary parameter is pushed, as Postfix does: a message that hides content behind
            // several same-level boundaries is still split at the one its sender uses.
            while let parameter = tokens.next(limit: 3) {
                guard parameter.count >= 3, parameter[0].isToken("boundary"), parameter[1].special == 0x3D else { continue }
                if nestingLevel > limits.nestingDepth {
                    flag(.nesting)
                } else {
                    nestingLevel += 1
                    stack.append(Boundary(defaultType: digest ? .message : .text,
                                          defaultSubtype: digest ? .rfc822 : .plain,
                                          text: Array(parameter[2].value.prefix(limits.boundaryLength))))
                }
            }
        } else {
            contentType = .other
        }
    }

    private mutating func parseTransferEncoding() {
        // After "Content-Transfer-Encoding:".
        var tokens = HeaderTokenizer(header[min(26, header.count)...], specials: HeaderTokenizer.rfc822Specials, terminator: nil)
        guard let first = tokens.next(limit: 1), let token = first.first, token.special == nil, !token.quoted else { return }
        for (name, enc, dom) in [("7bit", Encoding.sevenBit, Encoding.sevenBit), ("8bit", .eightBit, .eightBit),
                                 ("binary", .binary, .binary), ("base64", .base64, .sevenBit),
                                 ("quoted-printable", .quotedPrintable, .sevenBit)] where token.isToken(name) {
            encoding = enc
            domain = dom
            return
        }
    }

    // MARK: - Lexical helpers

    private enum HeaderKind { case contentType, transferEncoding, other }

    /// Which of the headers the parser cares about this is (names compare case-insensitively).
    private static func headerKind(_ header: [UInt8]) -> HeaderKind {
        guard let colon = header.firstIndex(of: 0x3A) else { return .other }
        let name = header[..<colon]
        if equalsIgnoringCase(name, "content-type") { return .contentType }
        if equalsIgnoringCase(name, "content-transfer-encoding") { return .transferEncoding }
        return .other
    }

    /// Postfix's `is_header_buf`: the length of the header name when `line` starts a header (printable
    /// ASCII name, optional blanks, colon), else 0.
    static func headerNameLength(_ line: [UInt8]) -> Int {
        var length = 0
        var sawBlank = false
        for c in line {
            switch c {
            case 0x3A:
                return length
            case 0x20, 0x09:
                if length == 0 { return 0 }
                sawBlank = true
            default:
                if c == 0 || c >= 0x80 || c < 0x20 || c == 0x7F || sawBlank { return 0 }
                length += 1
            }
        }
        return 0
    }

    /// `bytes` equal to the lowercase ASCII `name`, ignoring ASCII case (C's `strcasecmp`).
    static func equalsIgnoringCase(_ bytes: ArraySlice<UInt8>, _ name: String) -> Bool {
        bytes.elementsEqual(name.utf8) { c, n in (c >= 0x41 && c <= 0x5A ? c | 0x20 : c) == n }
    }

    /// Append `text` up to its first NUL, as Postfix's string copies do.
    private func appendCString(_ text: ArraySlice<UInt8>, to buffer: inout [UInt8]) {
        if let nul = text.firstIndex(of: 0) {
            buffer.append(contentsOf: text[..<nul])
        } else {
            buffer.append(contentsOf: text)
        }
    }
}

extension MessageKeys {
    /// Postfix's `header_token`: RFC 822 tokens of a header value, one `;`-separated item per call.
    /// Comments are skipped, quoted strings unquoted (and unfolded), specials and controls are tokens.
    struct HeaderTokenizer {
        /// One token: a word, a quoted string, or a special character.
        struct Token {
            /// The special character, for a special token.
            var special: UInt8?
            /// Whether this was a quoted string.
            var quoted: Bool
            /// The text (unquoted for quoted strings).
            var value: [UInt8]

            /// A word equal to `name`, ignoring ASCII case.
            func isToken(_ name: String) -> Bool {
                special == nil && !quoted && MessageKeys.equalsIgnoringCase(value[...], name)
            }
        }

        /// RFC 2045 `tspecials`, for Content-Type.
        static let mimeSpecials = Array("()<>@,;:\\\"/[]?=".utf8)
        /// RFC 822 specials, for Content-Transfer-Encoding.
        static let rfc822Specials = Array("()<>@,;:\\\".[]".utf8)

        private let text: ArraySlice<UInt8>
        private var position: Int
        private var isSpecial = [Bool](repeating: false, count: 256)
        private let terminator: UInt8?

        init(_ text: ArraySlice<UInt8>, specials: [UInt8], terminator: UInt8?) {
            self.text = text
            self.position = text.startIndex
            self.terminator = terminator
            for c in specials { isSpecial[Int(c)] = true }
        }

        @inline(__always)
        private static func isBlank(_ c: UInt8) -> Bool { c == 0x20 || c == 0x09 || c == 0x0D || c == 0x0A }
        @inline(__always)
        private static func isControl(_ c: UInt8) -> Bool { c < 0x20 || c == 0x7F }

        /// The next item: up to `limit` tokens (more are skipped up to the terminator). `nil` when nothing
        /// but blanks and comments is left, Postfix's -1.
        mutating func next(limit: Int) -> [Token]? {
            var tokens: [Token] = []
            var terminated = false
            while position < text.endIndex, terminator != nil || tokens.count < limit {
                let c = text[position]
                position += 1
                if Self.isBlank(c) { continue }
                if c == terminator { terminated = true; break }
                if c == 0x28 {
                    skipComment()
                    continue
                }
                if c == 0x22 {
                    let value = quotedString(keep: tokens.count < limit)
                    if tokens.count < limit { tokens.append(Token(special: nil, quoted: true, value: value)) }
                    continue
                }
                if isSpecial[Int(c)] || Self.isControl(c) {
                    if tokens.count < limit { tokens.append(Token(special: c, quoted: false, value: [c])) }
                    continue
                }
                var value = [c]
                while position < text.endIndex {
                    let d = text[position]
                    if Self.isBlank(d) || Self.isControl(d) || isSpecial[Int(d)] { break }
                    value.append(d)
                    position += 1
                }
                if tokens.count < limit { tokens.append(Token(special: nil, quoted: false, value: value)) }
            }
            // An empty item after the last terminator is no item.
            if tokens.isEmpty, !terminated { return nil }
            return tokens
        }

        /// Skip a comment after its `(`; comments nest and `\\` quotes the next character.
        private mutating func skipComment() {
            var level = 1
            while position < text.endIndex {
                let c = text[position]
                position += 1
                if c == 0x28 {
                    level += 1
                } else if c == 0x29 {
                    level -= 1
                    if level == 0 { return }
                } else if c == 0x5C {
                    if position >= text.endIndex { return }
                    position += 1
                }
            }
        }

        /// A quoted string after its opening quote: backslash escapes, and a folded line break is removed
        /// together with the blanks before it.
        private mutating func quotedString(keep: Bool) -> [UInt8] {
            var value: [UInt8] = []
            while position < text.endIndex {
                var c = text[position]
                position += 1
                if c == 0x22 { break }
                if c == 0x0A {
                    while let last = value.last, Self.isBlank(last) { value.removeLast() }
                    continue
                }
                if c == 0x5C {
                    if position >= text.endIndex { break }
                    c = text[position]
                    position += 1
                }
                if keep { value.append(c) }
            }
            return value
        }
    }
}
