// Expected keys below were checked against Debian's Postfix 3.7.11 (`postmap -hm|-bm -q - static:F`).

import Testing
@testable import PostfixConfig

/// Run the splitter over `text` (one scalar up to U+00FF per byte) split at `\n`, as postmap reads stdin.
private func split(_ text: String, _ mode: MessageKeys.Mode, limits: MessageKeys.Limits = .init(),
                   report: MessageKeys.Errors = []) -> (keys: [(String, MessageKeys.Origin)], splitter: MessageKeys) {
    var splitter = MessageKeys(mode: mode, limits: limits, report: report)
    var keys: [(String, MessageKeys.Origin)] = []
    let emit = { (key: [UInt8], origin: MessageKeys.Origin) in
        keys.append((String(decoding: key, as: UTF8.self), origin))
    }
    var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map { line in
        line.unicodeScalars.map { UInt8(truncatingIfNeeded: $0.value) }
    }
    // A final newline ends the last line; it does not start an empty one.
    if text.hasSuffix("\n") || text.isEmpty { lines.removeLast() }
    for line in lines where !splitter.isDone {
        splitter.feed(line, emit: emit)
    }
    splitter.finish(emit: emit)
    return (keys, splitter)
}

private let h = MessageKeys.Mode(headers: true, body: false, mime: false)
private let hm = MessageKeys.Mode(headers: true, body: false, mime: true)
private let b = MessageKeys.Mode(headers: false, body: true, mime: false)
private let bm = MessageKeys.Mode(headers: false, body: true, mime: true)
private let hbm = MessageKeys.Mode(headers: true, body: true, mime: true)

private let multipart = "Subject: x\nContent-Type: multipart/mixed; boundary=\"BB\"\n\npreamble\n--BB\nContent-Type: text/plain\nX-Part: p\n\tfolded\n\npart body\n--BB\n\nno headers part\n--BB--\nepilogue\n"

struct MessageKeysTests {
    @Test("a folded header is one key with its newlines and continuation blanks; -h stops after the headers")
    func folded() {
        let (keys, splitter) = split("Subject: hello\nX-Multi: line1\n\tline2\n   line3\nX-Space:    lots   \n\nbody\nSubject: no\n", h)
        #expect(keys.map(\.0) == ["Subject: hello", "X-Multi: line1\n\tline2\n   line3", "X-Space:    lots   "])
        #expect(keys.allSatisfy { $0.1 == .primaryHeader })
        #expect(splitter.isDone)
    }

    @Test("the last header is emitted at the end of input")
    func headerAtEnd() {
        #expect(split("Subject: a\nFrom: b\n\tcont", h).keys.map(\.0) == ["Subject: a", "From: b\n\tcont"])
        #expect(split("", hbm).keys.isEmpty)
    }

    @Test("body keys include the blank separator; a non-header line ends the headers with an extra empty key")
    func body() {
        #expect(split("Subject: a\n\nbody\n", b).keys.map(\.0) == ["", "body"])
        #expect(split("Subject: a\nnot a header\nFrom: b\n\nbody\n", b).keys.map(\.0) == ["", "not a header", "From: b", "", "body"])
        #expect(split(" leading\nSubject: x\n", b).keys.map(\.0) == ["", " leading", "Subject: x"])
    }

    @Test("obsolete 'name : value' is normalized; odd names are not headers")
    func names() {
        let text = "Subject : spaced\nX-Tab\t:\ttab\nX-Empty:\nX:y\n:nocolon\nSub ject: bad\nFrom me\n\nb\n"
        #expect(split(text, hm).keys.map(\.0) == ["Subject: spaced", "X-Tab:\ttab", "X-Empty:", "X:y"])
        #expect(split(text, bm).keys.map(\.0) == ["", ":nocolon", "Sub ject: bad", "From me", "", "b"])
        #expect(MessageKeys.headerNameLength(Array("Subject: x".utf8)) == 7)
        #expect(MessageKeys.headerNameLength(Array("Subject \t: x".utf8)) == 7)
        #expect(MessageKeys.headerNameLength(Array(" Subject: x".utf8)) == 0)
        #expect(MessageKeys.headerNameLength(Array("Sub ject: x".utf8)) == 0)
        #expect(MessageKeys.headerNameLength([0x58, 0xE9, 0x3A]) == 0)
        #expect(MessageKeys.headerNameLength([0x58, 0x00, 0x3A]) == 0)
        #expect(MessageKeys.headerNameLength(Array("Subject".utf8)) == 0)
    }

    @Test("MIME: part headers are headers with -m and body lines without it")
    func mime() {
        let headers = split(multipart, hm).keys
        #expect(headers.map(\.0) == ["Subject: x", "Content-Type: multipart/mixed; boundary=\"BB\"",
                                     "Content-Type: text/plain", "X-Part: p\n\tfolded"])
        #expect(headers.map(\.1) == [.primaryHeader, .primaryHeader, .partHeader, .partHeader])
        #expect(split(multipart, bm).keys.map(\.0) == ["", "preamble", "--BB", "", "part body", "--BB", "",
                                                       "no headers part", "--BB--", "epilogue"])
        #expect(split(multipart, b).keys.map(\.0) == ["", "preamble", "--BB", "Content-Type: text/plain", "X-Part: p", "\tfolded",
                                                      "", "part body", "--BB", "", "no headers part", "--BB--", "epilogue"])
        // Without -m the primary headers end -h, and Content-Type means nothing.
        #expect(split(multipart, h).keys.count == 2)
    }

    @Test("message/rfc822 content starts with nested headers")
    func rfc822() {
        let text = "Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: message/rfc822\n\nFrom: inner@example\nSubject: inner\n\tfold\n\ninner body\n--b--\n"
        let keys = split(text, hm).keys
        #expect(keys.map(\.0) == ["Content-Type: multipart/mixed; boundary=b", "Content-Type: message/rfc822",
                                  "From: inner@example", "Subject: inner\n\tfold"])
        #expect(keys.map(\.1) == [.primaryHeader, .partHeader, .nestedHeader, .nestedHeader])
        #expect(split(text, bm).keys.map(\.0) == ["", "--b", "", "", "inner body", "--b--"])
    }

    @Test("boundaries: prefix match, trailing text ignored, outer boundary closes inner levels")
    func boundaries() {
        let cruft = "Content-Type: multipart/mixed; boundary=abc\n\n--abcdef\nX-1: 1\n\n--abc  trailing\nX-2: 2\n\n--ab\n--abc--xyz\nX-3: 3\n"
        #expect(split(cruft, hm).keys.map(\.0) == ["Content-Type: multipart/mixed; boundary=abc", "X-1: 1", "X-2: 2"])
        let pop = "Content-Type: multipart/mixed; boundary=outer\n\n--outer\nContent-Type: multipart/alternative; boundary=inner\n\n--inner\nX-A: a\n\nx\n--outer\nX-B: b\n\ny\n--inner\nX-C: c\n\nz\n--outer--\n"
        #expect(split(pop, hm).keys.map(\.0).filter { $0.hasPrefix("X-") } == ["X-A: a", "X-B: b"])
        let quoted = "Content-Type: multipart/mixed (comment; boundary=no) ; Boundary = \"q\\\"x\" (c)\n\n--q\"x\nX-1: 1\n\nb\n"
        #expect(split(quoted, hm).keys.map(\.0).last == "X-1: 1")
        let folded = "Content-Type: multipart/mixed; boundary=\"ab  \n\tcd\"\n\n--ab\tcd\nX-1: 1\n\n--abcd\nX-2: 2\n"
        #expect(split(folded, hm).keys.map(\.0).last == "X-1: 1")
        var limits = MessageKeys.Limits()
        limits.boundaryLength = 2
        #expect(split(cruft, hm, limits: limits).keys.map(\.0).last == "X-3: 3")
    }

    @Test("NUL ends each physical line of a key, as in Postfix's C strings")
    func nul() {
        let text = "Subject: a\u{0}b\nX-F: c\n\td\u{0}e\n\tf\n\nbo\u{0}dy\n\u{0}\n"
        #expect(split(text, hm).keys.map(\.0) == ["Subject: a", "X-F: c\n\td\n\tf"])
        #expect(split(text, bm).keys.map(\.0) == ["", "bo", ""])
    }

    @Test("header_size_limit drops continuation lines once reached; mime_nesting_limit stops tracking")
    func limits() {
        var limits = MessageKeys.Limits()
        limits.headerSize = 12
        #expect(split("X-L: 12345678\n\tmore\nX-S: 1\n\tb\n\tc\n", h, limits: limits).keys.map(\.0)
                == ["X-L: 12345678", "X-S: 1\n\tb\n\tc"])
        limits = MessageKeys.Limits()
        // Postfix counts levels from -1: a limit of N tracks N + 2 levels.
        limits.nestingDepth = 0
        let nested = "Content-Type: multipart/mixed; boundary=a\n\n--a\nContent-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: multipart/mixed; boundary=c\n\n--c\nX-1: 1\n"
        #expect(split(nested, hm, limits: limits).keys.map(\.0).last == "Content-Type: multipart/mixed; boundary=c")
        #expect(split(nested, hm).keys.map(\.0).last == "X-1: 1")
    }

    @Test("format errors are found only when asked for, with Postfix's texts")
    func errors() {
        var limits = MessageKeys.Limits()
        limits.headerSize = 5
        limits.nestingDepth = 0
        let all: MessageKeys.Errors = [.nesting, .truncatedHeader, .eightBitInHeader, .eightBitIn7BitBody, .encodingDomain]
        let cases: [(String, MessageKeys.Errors, String)] = [
            ("Content-Type: multipart/mixed; boundary=a\n\n--a\nContent-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: multipart/mixed; boundary=c\n\n", .nesting,
             "MIME nesting exceeds safety limit"),
            ("X-Long: 123\n\tmore\n\n", .truncatedHeader, "message header length exceeds safety limit"),
            ("X: caf\u{E9}\n\n", .eightBitInHeader, "improper use of 8-bit data in message header"),
            ("X: 1\n\ncaf\u{E9}\n", .eightBitIn7BitBody, "improper use of 8-bit data in message body"),
            ("Content-Type: multipart/mixed; boundary=q\nContent-Transfer-Encoding: base64\n\n", .encodingDomain,
             "invalid message/* or multipart/* encoding domain"),
            ("Content-Type: message/partial\nContent-Transfer-Encoding: 8bit\n\n", .encodingDomain,
             "invalid message/* or multipart/* encoding domain"),
        ]
        for (text, error, message) in cases {
            let reported = split(text, hbm, limits: limits, report: all).splitter.errors
            #expect(reported == error, "\(text)")
            #expect(reported.text == message)
            #expect(split(text, hbm, limits: limits).splitter.errors.isEmpty)
        }
        #expect(split("Content-Type: text/plain\nContent-Transfer-Encoding: 8bit\n\ncaf\u{E9}\n", hbm, report: all).splitter.errors.isEmpty)
        #expect(MessageKeys.Errors([.eightBitInHeader, .nesting]).text == "MIME nesting exceeds safety limit")
    }

    @Test("header tokens: comments skipped, quoted strings unquoted, specials split, items end at ';'")
    func tokens() {
        var tokenizer = MessageKeys.HeaderTokenizer(Array(" multipart/Mixed (a (nested) comment) x y; boundary=\"a\\\"b\"; ; ".utf8)[...],
                                                    specials: MessageKeys.HeaderTokenizer.mimeSpecials, terminator: 0x3B)
        let first = tokenizer.next(limit: 3) ?? []
        #expect(first.map { String(decoding: $0.value, as: UTF8.self) } == ["multipart", "/", "Mixed"])
        #expect(first[1].special == 0x2F)
        #expect(first[2].isToken("mixed"))
        let second = tokenizer.next(limit: 3) ?? []
        #expect(second.map { String(decoding: $0.value, as: UTF8.self) } == ["boundary", "=", "a\"b"])
        #expect(second[2].quoted)
        #expect(tokenizer.next(limit: 3)?.isEmpty == true)
        #expect(tokenizer.next(limit: 3) == nil)
    }
}
