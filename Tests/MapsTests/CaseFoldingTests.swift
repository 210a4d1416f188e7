import Maps
import Testing

/// Expected results come from Postfix 3.7.11 with ICU 72 (Debian 12):
/// `postmap -c DIR -s texthash:FILE` with `compatibility_level = 3.6`.
private func caseFoldingBytes(_ s: String) -> [UInt8] { Array(s.utf8) }

@Suite("CaseFolding")
struct CaseFoldingTests {
    // MARK: asciiLowercased

    static let asciiCases: [([UInt8], [UInt8])] = [
        ([], []),
        (caseFoldingBytes("abc"), caseFoldingBytes("abc")),
        (caseFoldingBytes("ABC"), caseFoldingBytes("abc")),
        (caseFoldingBytes("User@Example.COM"), caseFoldingBytes("user@example.com")),
        (caseFoldingBytes("AZaz09"), caseFoldingBytes("azaz09")),
        // The neighbours of A-Z stay: @ [ \ ] ^ _ `  { (0x40, 0x5B...0x60, 0x7B).
        (caseFoldingBytes("@[\\]^_`{"), caseFoldingBytes("@[\\]^_`{")),
        // Non-ASCII bytes are left alone, even when they encode capitals.
        ([0xC3, 0x89, 0x41], [0xC3, 0x89, 0x61]),
        ([0xFF, 0xC0, 0xDA, 0x5A], [0xFF, 0xC0, 0xDA, 0x7A]),
        (caseFoldingBytes("STRASSE-ẞ"), caseFoldingBytes("strasse-ẞ")),
    ]

    @Test(arguments: asciiCases)
    func asciiLowercased(input: [UInt8], expected: [UInt8]) {
        #expect(CaseFolding.asciiLowercased(input) == expected)
    }

    // MARK: unicodeFolded, valid UTF-8

    static let foldCases: [(String, String)] = [
        // ASCII path.
        ("", ""),
        ("Example.COM", "example.com"),
        ("already lower", "already lower"),
        // Plain lowercasing.
        ("ÉCOLE", "école"),
        ("Straße", "strasse"),
        ("ПРИМЕР.РФ", "пример.рф"),
        ("ÄBC@Example.Org", "äbc@example.org"),
        ("\u{01C5}", "\u{01C6}"),
        ("Ａ", "ａ"),  // fullwidth
        ("Ⓐ", "ⓐ"),
        ("Ⅻ", "ⅻ"),
        ("\u{10400}", "\u{10428}"),  // Deseret
        ("\u{1E900}", "\u{1E922}"),  // Adlam
        ("\u{1C90}", "\u{10D0}"),  // Georgian Mtavruli -> Mkhedruli
        ("\u{10A0}", "\u{2D00}"),  // Georgian Asomtavruli -> Nuskhuri
        ("\u{212A}", "k"),  // Kelvin sign
        ("\u{212B}", "å"),  // Angstrom sign
        ("\u{2126}", "ω"),  // Ohm sign
        // Folding differs from lowercasing.
        ("\u{00DF}", "ss"),
        ("\u{1E9E}", "ss"),
        ("\u{017F}", "s"),
        ("\u{03C2}", "\u{03C3}"),
        ("ΣΊΣΥΦΟΣ", "σίσυφοσ"),
        ("\u{00B5}", "\u{03BC}"),
        ("\u{03D0}\u{03D1}\u{03D5}\u{03D6}\u{03F0}\u{03F1}\u{03F5}", "\u{03B2}\u{03B8}\u{03C6}\u{03C0}\u{03BA}\u{03C1}\u{03B5}"),
        ("\u{0345}", "ι"),
        ("\u{1FBE}", "ι"),
        ("\u{1E9B}", "\u{1E61}"),
        ("\u{0149}", "\u{02BC}n"),
        ("\u{01F0}", "j\u{030C}"),
        ("\u{0390}", "\u{03B9}\u{0308}\u{0301}"),
        ("\u{03B0}", "\u{03C5}\u{0308}\u{0301}"),
        ("\u{1E96}", "h\u{0331}"),
        ("\u{0587}", "\u{0565}\u{0582}"),
        ("\u{FB13}", "\u{0574}\u{0576}"),
        ("\u{FB00}", "ff"),
        ("\u{FB03}", "ffi"),
        ("\u{FB05}", "st"),
        ("\u{FB06}", "st"),
        ("\u{0130}", "i\u{0307}"),
        ("\u{0131}", "\u{0131}"),  // only a Turkic (T) folding: untouched
        ("I", "i"),
        // Greek with ypogegrammeni / prosgegrammeni.
        ("\u{1F80}", "\u{1F00}\u{03B9}"),
        ("\u{1F88}", "\u{1F00}\u{03B9}"),
        ("\u{1FB3}", "\u{03B1}\u{03B9}"),
        ("\u{1FBC}", "\u{03B1}\u{03B9}"),
        ("\u{1FB2}", "\u{1F70}\u{03B9}"),
        ("\u{1FB4}", "\u{03AC}\u{03B9}"),
        ("\u{1FB6}", "\u{03B1}\u{0342}"),
        ("\u{1FB7}", "\u{03B1}\u{0342}\u{03B9}"),
        ("\u{1FFC}", "\u{03C9}\u{03B9}"),
        // Cyrillic small letter variants fold to the ordinary letters.
        ("\u{1C80}", "в"),
        ("\u{1C88}", "\u{A64B}"),
        // Cherokee folds to UPPERCASE.
        ("\u{AB70}", "\u{13A0}"),
        ("\u{13F8}", "\u{13F0}"),
        ("\u{13A0}", "\u{13A0}"),
        ("\u{13F5}", "\u{13F5}"),
        // Caseless text is unchanged.
        ("日本語", "日本語"),
        ("😀", "😀"),
        ("\u{10FFFF}", "\u{10FFFF}"),
        // Unicode 16 letters are not known to ICU 72 and stay.
        ("\u{A7CB}", "\u{A7CB}"),
        ("\u{1C89}", "\u{1C89}"),
    ]

    @Test(arguments: foldCases)
    func unicodeFolded(input: String, expected: String) {
        let folded = CaseFolding.unicodeFolded(Array(input.utf8))
        #expect(folded == Array(expected.utf8), "\(input) -> \(String(decoding: folded, as: UTF8.self))")
    }

    // MARK: unicodeFolded, ill-formed UTF-8 is copied verbatim

    static let invalidFoldCases: [([UInt8], [UInt8])] = [
        ([0xFF], [0xFF]),
        ([0xFF, 0x41], [0xFF, 0x61]),
        ([0xC3, 0x89, 0xFF], [0xC3, 0xA9, 0xFF]),  // É then a stray byte
        ([0x41, 0xC3], [0x61, 0xC3]),  // truncated 2-byte at the end
        ([0xC3, 0x41], [0xC3, 0x61]),  // lead byte without a tail
        ([0xE2, 0x82, 0xC3, 0x89], [0xE2, 0x82, 0xC3, 0xA9]),  // truncated 3-byte, then É
        ([0x80, 0xC3, 0x89], [0x80, 0xC3, 0xA9]),  // lone continuation byte
        ([0xC0, 0x80, 0x41], [0xC0, 0x80, 0x61]),  // over-long NUL
        ([0xC1, 0x81], [0xC1, 0x81]),  // over-long "A" is not folded to "a"
        ([0xE0, 0x81, 0x81], [0xE0, 0x81, 0x81]),  // over-long "A", 3 bytes
        ([0xED, 0xA0, 0x80, 0x5A], [0xED, 0xA0, 0x80, 0x7A]),  // surrogate U+D800
        ([0xF4, 0x90, 0x80, 0x80, 0xC3, 0x89], [0xF4, 0x90, 0x80, 0x80, 0xC3, 0xA9]),  // > U+10FFFF
        ([0xF8, 0x88, 0x80, 0x80, 0x80], [0xF8, 0x88, 0x80, 0x80, 0x80]),  // 5-byte form
        ([0xE1, 0xBA, 0x9E, 0xE1, 0xBA], [0x73, 0x73, 0xE1, 0xBA]),  // ẞ then truncated ẞ
    ]

    @Test(arguments: invalidFoldCases)
    func unicodeFoldedCopiesIllFormedBytes(input: [UInt8], expected: [UInt8]) {
        #expect(CaseFolding.unicodeFolded(input) == expected)
    }

    @Test func allASCIIInputTakesTheASCIIPath() {
        for input in [caseFoldingBytes("MiXeD-Case.Example"), caseFoldingBytes("x"), [0x00, 0x41], caseFoldingBytes(String(repeating: "ABCdef", count: 20))] {
            #expect(CaseFolding.unicodeFolded(input) == CaseFolding.asciiLowercased(input))
        }
    }

    /// Full case folding is idempotent; checked on every scalar value.
    @Test func foldingIsIdempotentForEveryScalar() {
        var failures: [UInt32] = []
        for v in UInt32(0) ... 0x10FFFF {
            guard let scalar = Unicode.Scalar(v) else { continue }
            let once = CaseFolding.unicodeFolded(Array(String(Character(scalar)).utf8))
            if CaseFolding.unicodeFolded(once) != once || !CaseFolding.isValidUTF8(once) {
                failures.append(v)
            }
        }
        #expect(failures.isEmpty, "not idempotent: \(failures.prefix(20).map { String($0, radix: 16) })")
    }

    // MARK: isValidUTF8

    static let validityCases: [([UInt8], Bool)] = [
        ([], true),
        (caseFoldingBytes("abc"), true),
        ([0x00], true),
        ([0x7F], true),
        ([0xC2, 0x80], true),  // U+0080
        ([0xC3, 0xA9], true),  // é
        ([0xDF, 0xBF], true),  // U+07FF
        ([0xE0, 0xA0, 0x80], true),  // U+0800
        ([0xED, 0x9F, 0xBF], true),  // U+D7FF
        ([0xEE, 0x80, 0x80], true),  // U+E000
        ([0xEF, 0xBF, 0xBF], true),  // U+FFFF
        ([0xF0, 0x90, 0x80, 0x80], true),  // U+10000
        ([0xF4, 0x8F, 0xBF, 0xBF], true),  // U+10FFFF
        (caseFoldingBytes("Straße ÉCOLE 日本語 😀"), true),
        (caseFoldingBytes(String(repeating: "a", count: 37) + "é"), true),
        // Over-long forms.
        ([0xC0, 0x80], false),
        ([0xC1, 0xBF], false),
        ([0xE0, 0x9F, 0xBF], false),
        ([0xF0, 0x8F, 0xBF, 0xBF], false),
        // Surrogates.
        ([0xED, 0xA0, 0x80], false),
        ([0xED, 0xBF, 0xBF], false),
        // Above U+10FFFF; bytes that never occur.
        ([0xF4, 0x90, 0x80, 0x80], false),
        ([0xF5, 0x80, 0x80, 0x80], false),
        ([0xF8, 0x88, 0x80, 0x80, 0x80], false),
        ([0xFE], false),
        ([0xFF], false),
        // Stray continuation bytes.
        ([0x80], false),
        ([0xBF], false),
        ([0x61, 0x80, 0x61], false),
        // Truncated sequences.
        ([0xC3], false),
        ([0xE2, 0x82], false),
        ([0xF0, 0x9F, 0x98], false),
        (caseFoldingBytes("abc") + [0xC3], false),
        (caseFoldingBytes(String(repeating: "x", count: 40)) + [0xE2, 0x82], false),
        // Lead byte followed by a non-continuation byte.
        ([0xC3, 0x41], false),
        ([0xE2, 0x41, 0x82], false),
        ([0xE2, 0x82, 0x41], false),
        ([0xF0, 0x9F, 0x98, 0x41], false),
        ([0xF0, 0x9F, 0x41, 0x80], false),
    ]

    @Test(arguments: validityCases)
    func isValidUTF8(input: [UInt8], valid: Bool) {
        #expect(CaseFolding.isValidUTF8(input) == valid)
    }

    /// RFC 3629 agrees with the standard library's validation: compare on all
    /// two-byte strings and on a grid of three- and four-byte strings.
    @Test func isValidUTF8AgreesWithStandardLibrary() {
        var mismatches: [[UInt8]] = []
        func check(_ b: [UInt8]) {
            if CaseFolding.isValidUTF8(b) != (String(validating: b, as: UTF8.self) != nil) {
                mismatches.append(b)
            }
        }
        for b0 in UInt8.min ... UInt8.max {
            for b1 in UInt8.min ... UInt8.max {
                check([b0, b1])
                if b0 >= 0xE0 {
                    for b2: UInt8 in [0x41, 0x80, 0xBF, 0xC0] {
                        check([b0, b1, b2])
                        if b0 >= 0xF0 {
                            for b3: UInt8 in [0x41, 0x80, 0xBF] { check([b0, b1, b2, b3]) }
                        }
                    }
                }
            }
        }
        #expect(mismatches.isEmpty, "first mismatches: \(mismatches.prefix(10))")
    }

    // MARK: isASCII

    static let asciiCheckCases: [([UInt8], Bool)] = [
        ([], true),
        ([0x00], true),
        ([0x7F], true),
        ([0x80], false),
        ([0xFF], false),
        (caseFoldingBytes("plain.example.com"), true),
        (caseFoldingBytes(String(repeating: "a", count: 64)), true),
        (caseFoldingBytes(String(repeating: "a", count: 39)) + [0x80], false),  // last byte, after the word loops
        ([0x80] + caseFoldingBytes(String(repeating: "a", count: 39)), false),  // first byte
        (caseFoldingBytes(String(repeating: "a", count: 33)) + [0xC3, 0xA9] + caseFoldingBytes("zzzzzz"), false),  // inside a word
        (caseFoldingBytes("abcdef") + [0xFF], false),
        (caseFoldingBytes("é"), false),
    ]

    @Test(arguments: asciiCheckCases)
    func isASCII(input: [UInt8], ascii: Bool) {
        #expect(CaseFolding.isASCII(input) == ascii)
    }
}
