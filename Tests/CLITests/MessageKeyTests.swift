import Foundation
import Testing
import TestSupport

/// Messages for postmap's header and body query modes. Each scalar up to U+00FF is one byte, so
/// `"\u{FF}"` is the byte 0xFF and UTF-8 text is spelled out byte by byte (`"caf\u{C3}\u{A9}"`).
enum MessageCorpus {
    static func bytes(_ text: String) -> [UInt8] {
        text.unicodeScalars.map { UInt8(truncatingIfNeeded: $0.value) }
    }

    static let messages: [String: String] = [
        "folded": "Subject: hello\nX-Multi: line1\n\tline2\n   line3\nX-Space:    lots   \n\nbody\n",
        "no body": "Subject: a\nFrom: b\n",
        "header block at EOF without newline": "Subject: a\nFrom: b\n\tcont",
        "empty body": "Subject: a\n\n",
        "only a blank line": "\n",
        "no headers": "just body\nmore\n",
        "first line starts with a blank": " leading\nSubject: x\n\nb\n",
        "garbage among headers": "Subject: a\nnot a header\nFrom: b\n\nbody\n",
        "obsolete and odd header names": "Subject : spaced\nX-Tab\t:\ttab\nX-Empty:\nX:y\n:nocolon\nSub ject: bad\nFrom me\n\nb\n",
        "8-bit": "Subject: caf\u{C3}\u{A9} \u{FF}\nX-\u{E9}: v\n\nbody \u{FF}\u{FE}\ncaf\u{C3}\u{A9}\n",
        "8-bit header name": "X-N\u{E9}me: v\nSubject: s\n\nb\n",
        "CRLF": "Subject: x\r\nX-F: a\r\n\tb\r\n\r\nbody\r\n",
        "CRLF multipart": "Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n--b1\r\nContent-Type: text/plain\r\nX-P: 1\r\n\r\npart\r\n--b1--\r\n",
        "NUL bytes": "Subject: a\u{0}b\nX-F: c\n\td\u{0}e\n\tf\n\nbo\u{0}dy\n\u{0}\n",
        "multipart": "Subject: x\nContent-Type: multipart/mixed; boundary=\"BB\"\n\npreamble\n--BB\nContent-Type: text/plain\nX-Part: p\n\tfolded\n\npart body\n--BB\n\nno headers part\n--BB--\nepilogue\n",
        "nested multipart": "Content-Type: multipart/mixed;\n boundary=outer\n\n--outer\nContent-Type: multipart/alternative; boundary=inner\n\n--inner\nContent-Type: text/plain\n\nplain\n--inner\nContent-Type: text/html\n\nhtml\n--inner--\n--outer\nX-Second: 2\n\nsecond\n--outer--\nafter\n",
        "outer boundary closes inner part": "Content-Type: multipart/mixed; boundary=outer\n\n--outer\nContent-Type: multipart/alternative; boundary=inner\n\n--inner\nX-A: a\n\nx\n--outer\nX-B: b\n\ny\n--inner\nX-C: c\n\nz\n--outer--\n",
        "message/rfc822 part": "Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: message/rfc822\n\nFrom: inner@example\nSubject: inner\n\tfold\n\ninner body\n--b--\n",
        "message/rfc822 body": "Content-Type: message/rfc822\n\nFrom: inner\nContent-Type: multipart/mixed; boundary=z\n\n--z\nX-Z: z\n\nzz\n--z--\n",
        "multipart/digest": "Content-Type: multipart/digest; boundary=d\n\n--d\n\nFrom: a\nSubject: digest1\n\nbody1\n--d\nContent-Type: text/plain\n\nnot nested\n--d--\n",
        "message/global": "Content-Type: message/global\n\nFrom: g\n\nb\n",
        "message/partial": "Content-Type: message/partial; id=1\n\nFrom: p\n\nb\n",
        "boundary with trailing text": "Content-Type: multipart/mixed; boundary=abc\n\n--abcdef\nX-1: 1\n\n--abc  trailing\nX-2: 2\n\n--\n---\n--ab\n--abc--xyz\nX-3: 3\n",
        "empty boundary": "Content-Type: multipart/mixed; boundary=\"\"\n\n--x\nX-1: 1\n\n--\n---\nX-2: 2\n",
        "two boundary parameters": "Content-Type: multipart/mixed; boundary=one; boundary=two\n\n--two\nX-1: 1\n\n--one\nX-2: 2\n\n--two--\n--one\nX-3: 3\n",
        "boundary after comments and quotes": "Content-Type: multipart/mixed (comment; boundary=no) ; Boundary = \"q\\\"x\" (c)\n\n--q\"x\nX-1: 1\n\nb\n",
        "quoted boundary folded": "Content-Type: multipart/mixed; boundary=\"ab  \n\tcd\"\n\n--ab\tcd\nX-1: 1\n\n--abcd\nX-2: 2\n",
        "header and boundary case": "content-type: MULTIPART/Mixed; BOUNDARY=Xy\n\n--Xy\nX-1: 1\n\n--xy\nX-2: 2\n",
        "multipart without boundary": "Content-Type: multipart/mixed\n\n--\nX-1: 1\n\nb\n",
        "blanks around tokens": "Content-Type: multipart / mixed ; boundary = s\n\n--s\nX-1: 1\n\nb\n",
        "boundary on a non-multipart type": "Content-Type: application/octet-stream; boundary=q\n\n--q\nX-1: 1\n",
        "two Content-Type headers": "Content-Type: multipart/mixed; boundary=m\nContent-Type: text/plain\n\n--m\nX-1: 1\n\nb\n",
        "quoted media type": "Content-Type: \"multipart\"/mixed; boundary=m\n\n--m\nX-1: 1\n",
        "empty Content-Type": "Content-Type:\nContent-Type: ;multipart/mixed; boundary=m\n\n--m\nX-1: 1\n",
        "base64 message/rfc822": "Content-Type: message/rfc822\nContent-Transfer-Encoding: base64\n\nFrom: x\n\nb\n",
        "garbage in part headers": "Content-Type: multipart/mixed; boundary=g\n\n--g\nX-1: 1\ngarbage line\nX-2: 2\n\nb\n--g\n--g\nX-3: 3\n--g--\n",
        "8-bit in MIME parts": "Content-Type: multipart/mixed; boundary=e\nContent-Transfer-Encoding: 7bit\n\n--e\nX-\u{FF}: 1\nX-P: \u{E9}\n\n\u{FF}\u{FE} body\n--e--\n",
        "NUL near a boundary": "Content-Type: multipart/mixed; boundary=n\n\n--n\u{0}\nX-1: 1\n\n--\u{0}n\nX-2: 2\n",
        "control characters in Content-Type": "Content-Type: multipart/mixed;\u{1} boundary=c\u{2}d\n\n--c\nX-1: 1\n\n--c\u{2}d\nX-2: 2\n",
        "multipart encoded base64": "Content-Type: multipart/mixed; boundary=q\nContent-Transfer-Encoding: base64\n\n--q\nX-1: 1\n\nb\n--q--\n",
        "empty input": "",
    ]

    static let names = messages.keys.sorted()
    static func message(_ name: String) -> [UInt8] { bytes(messages[name] ?? "") }

    /// A header of 200,000 bytes on one line.
    static let longHeader: [UInt8] = bytes("Subject: " + String(repeating: "x", count: 200_000) + "\nX-After: 1\n\nb\n")
    /// A header folded over 150 lines of 1,000 bytes: beyond `header_size_limit`, continuation lines are dropped.
    static let longFoldedHeader: [UInt8] = bytes("X-Long: start\n" + String(repeating: "\t" + String(repeating: "y", count: 1000) + "\n", count: 150) + "X-After: 1\n\nb\n")
    /// A header that reaches the limit just before its continuation lines.
    static let headerAtLimit: [UInt8] = bytes("X-L: " + String(repeating: "z", count: 102_390) + "\n\t123456\n\t7890\n\tafter\n\nb\n")
    /// A 1 MB body line, and one without a final newline.
    static let megabyteLine: [UInt8] = bytes("Subject: x\n\n" + String(repeating: "w", count: 1 << 20) + "\nend\n")
    static let megabyteLineNoNewline: [UInt8] = bytes("Subject: x\n\n" + String(repeating: "v", count: 1 << 20))
    /// Multiparts nested 110 deep, beyond `mime_nesting_limit`.
    static let deepNesting: [UInt8] = bytes((0..<110).map { "Content-Type: multipart/mixed; boundary=l\($0)\n\n--l\($0)\n" }.joined()
        + "X-Deep: 1\n\nbody\n" + (0..<110).reversed().map { "--l\($0)--\n" }.joined())
    /// A boundary longer than `mime_boundary_length_limit`: only its first 2048 bytes are compared.
    static let longBoundary: [UInt8] = bytes("Content-Type: multipart/mixed; boundary=" + String(repeating: "B", count: 3000) + "\n\n--"
        + String(repeating: "B", count: 2048) + "\nX-1: 1\n\n--" + String(repeating: "B", count: 2047) + "\nX-2: 2\n")
}

/// postmap `-h`, `-b`, `-m` (and `-U`) with `-q -` against Debian's postmap: the same keys found, in the
/// same order, with the same messages and exit status.
@Suite(.enabled(if: Oracle.enabled(Paths.oracleAvailable), "needs Debian's postfix package"))
struct MessageKeyTests {
    static let modes = ["-h", "-hm", "-b", "-bm", "-hb", "-hbm"]

    /// A twin whose main.cf is an hour old: Postfix re-reads a main.cf changed within the last second
    /// after a pause, which would make every run slow.
    static func twin(_ mainCf: String = "compatibility_level = 0\n", files: [String: [UInt8]] = [:]) throws -> Twin {
        let twin = Twin(mainCf: mainCf, files: files)
        try cool(twin, "main.cf")
        return twin
    }

    static func cool(_ twin: Twin, _ name: String) throws {
        let past = Date(timeIntervalSinceNow: -3600)
        for dir in [twin.ours, twin.theirs] {
            try FileManager.default.setAttributes([.modificationDate: past], ofItemAtPath: dir.file(name))
        }
    }

    @Test("every mode lists the keys Postfix extracts", arguments: MessageCorpus.names)
    func corpus(name: String) throws {
        let twin = try Self.twin()
        let message = MessageCorpus.message(name)
        for mode in Self.modes {
            let outcome = try twin.same("postmap", [mode, "-q", "-", "static:found"], stdin: message)
            #expect(outcome.stderr.isEmpty, "\(name) \(mode)")
        }
    }

    @Test("long headers, a 1 MB body line, deep nesting and long boundaries")
    func large() throws {
        let twin = try Self.twin()
        for message in [MessageCorpus.longHeader, MessageCorpus.longFoldedHeader, MessageCorpus.headerAtLimit,
                        MessageCorpus.megabyteLine, MessageCorpus.megabyteLineNoNewline, MessageCorpus.deepNesting,
                        MessageCorpus.longBoundary] {
            for mode in Self.modes {
                try twin.same("postmap", [mode, "-q", "-", "static:found"], stdin: message)
            }
        }
    }

    @Test("postmap reports no MIME errors: over-long headers, deep nesting, 8-bit data, bad encodings")
    func noFormatErrors() throws {
        // Postfix's postmap runs the MIME engine without any MIME_OPT_REPORT_* option, so none of these is a
        // "message format error".
        let twin = try Self.twin("header_size_limit = 20\nmime_nesting_limit = 1\n")
        for message in [MessageCorpus.longHeader, MessageCorpus.deepNesting, MessageCorpus.message("8-bit in MIME parts"),
                        MessageCorpus.message("base64 message/rfc822"), MessageCorpus.message("multipart encoded base64")] {
            for mode in Self.modes {
                let outcome = try twin.same("postmap", [mode, "-q", "-", "static:found"], stdin: message)
                #expect(outcome.status == 0)
                #expect(!outcome.stderr.contains("message format error"))
            }
        }
    }

    @Test("header_size_limit, mime_nesting_limit and mime_boundary_length_limit from main.cf")
    func limits() throws {
        let twin = try Self.twin("header_size_limit = 20\nmime_nesting_limit = 1\nmime_boundary_length_limit = 3\n")
        for name in ["folded", "nested multipart", "outer boundary closes inner part", "boundary with trailing text",
                     "two boundary parameters", "message/rfc822 part"] {
            for mode in ["-hm", "-bm", "-hbm"] {
                try twin.same("postmap", [mode, "-q", "-", "static:found"], stdin: MessageCorpus.message(name))
            }
        }
        for mode in ["-hm", "-bm"] {
            try twin.same("postmap", [mode, "-q", "-", "static:found"], stdin: MessageCorpus.longFoldedHeader)
            try twin.same("postmap", [mode, "-q", "-", "static:found"], stdin: MessageCorpus.deepNesting)
            try twin.same("postmap", [mode, "-q", "-", "static:found"], stdin: MessageCorpus.longBoundary)
        }
    }

    @Test("malformed limits are fatal as in Postfix", arguments: ["0", "-1", "abc", "+5", "5x", "99999999999", "", "$nosuch"])
    func badLimits(value: String) throws {
        for parameter in ["header_size_limit", "mime_nesting_limit", "mime_boundary_length_limit"] {
            let twin = try Self.twin("\(parameter) = \(value)\n")
            try twin.same("postmap", ["-h", "-q", "-", "static:found"], stdin: MessageCorpus.message("folded"))
            try twin.same("postmap", ["-q", "-", "static:found"], stdin: MessageCorpus.message("folded"))
        }
    }

    @Test("a limit may name a parameter Postfix has already defined, not a later one")
    func limitReferences() throws {
        for config in ["mime_boundary_length_limit = $mime_nesting_limit\n", "mime_nesting_limit = $header_size_limit\n",
                       "header_size_limit = $mime_nesting_limit\n", "header_size_limit = $berkeley_db_read_buffer_size\n",
                       "mime_nesting_limit = 2\nheader_size_limit = $mime_nesting_limit\n"] {
            let twin = try Self.twin(config)
            try twin.same("postmap", ["-hm", "-q", "-", "static:found"], stdin: MessageCorpus.message("nested multipart"))
        }
    }

    @Test("indexed tables with header and body keys; several maps; -f", arguments: ["hash", "btree", "lmdb"])
    func indexedTables(type: String) throws {
        guard Oracle.postmap(for: type) else { return }
        let source = "x-flag:yes FLAG\nX-Case:Upper CASE\npreamble PRE\n--bb BOUND\nlast LAST\n"
        let twin = try Self.twin(files: ["map": Array(source.utf8)])
        try twin.same("postmap", ["\(type):map"])
        let message = MessageCorpus.bytes("X-Flag:yes\nX-Case:Upper\nContent-Type: multipart/mixed; boundary=BB\n\npreamble\n--BB\nX-Flag:yes\n\nlast\n--BB--\n")
        for mode in Self.modes + ["-fh", "-fb", "-fhbm"] {
            try twin.same("postmap", [mode, "-q", "-", "\(type):map"], stdin: message)
            try twin.same("postmap", [mode, "-q", "-", "\(type):map", "static:other"], stdin: message)
            // Maps open lazily, in order: a missing table is fatal only once a key reaches it.
            try twin.same("postmap", [mode, "-q", "-", "static:first", "\(type):nosuch"], stdin: message)
            try twin.same("postmap", [mode, "-q", "-", "\(type):nosuch", "static:never"], stdin: message)
        }
        // Nothing found: exit 1.
        try twin.same("postmap", ["-h", "-q", "-", "\(type):map"], stdin: MessageCorpus.message("folded"))
    }

    @Test("-b and -h turn off UTF-8 checks unless -U", arguments: ["compatibility_level = 0\n", "compatibility_level = 3.6\n"])
    func utf8(config: String) throws {
        let twin = try Self.twin(config, files: ["map": Array("x-flag:yes FLAG\n".utf8)])
        try twin.same("postmap", ["hash:map"])
        for name in ["8-bit", "8-bit in MIME parts", "8-bit header name"] {
            for mode in ["-h", "-b", "-hU", "-bU", "-hbmU", "-hbm", "-hbmu", "-hbmuU"] {
                try twin.same("postmap", [mode, "-q", "-", "static:found"], stdin: MessageCorpus.message(name))
                try twin.same("postmap", [mode, "-q", "-", "hash:map"], stdin: MessageCorpus.message(name))
            }
        }
    }

    @Test("option rules: -m alone, -b/-h/-m without \"-q -\", no map")
    func options() throws {
        let twin = try Self.twin()
        let message = MessageCorpus.message("multipart")
        for args in [["-m", "-q", "-", "static:found"], ["-mm", "-q", "-", "static:found"], ["-b", "-q", "key", "static:found"],
                     ["-h", "static:found"], ["-m", "-q", "key", "static:found"], ["-hs", "static:found"],
                     ["-b", "-d", "-", "static:found"], ["-h", "-q", "-"], ["-bhm", "-q", "-"], ["-m", "-q", "-"],
                     ["-h", "-q", "-", "whatever:map"], ["-b", "-q", "-", "static:"]] {
            try twin.same("postmap", args, stdin: message)
        }
    }
}
