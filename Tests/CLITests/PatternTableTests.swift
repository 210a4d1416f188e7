import Foundation
import Testing
import TestSupport

/// regexp: and pcre: tables against Debian's postmap (with postfix-pcre): same answers, same warnings.
@Suite(.enabled(if: Oracle.enabled(Paths.pcreOracleAvailable),
                "needs Debian's postfix and postfix-pcre"))
struct PatternTableTests {
    static let types = ["regexp", "pcre"]

    /// Rules exercising the grammar: if/endif nesting and their warnings, negation, substitutions,
    /// flags, delimiters, bad rules. `/a/!/b/` is regexp-only (pcre warns about it, which is tested too).
    static let rules = """
    # comments and blank lines are ignored

    if /true/\tfodder
    /1/\tone
    if /false/
    /2/\ttwo
    endif\t\tfodder
    /3/\tthree
    endif
    /a/!/b/\ta-not-b
    /c/
    /(1)(2)(3)(5)/\t($1)($2)($3)($4)($5)
    /(1)(2)(3)(4)/\t($1)($2)($3)($4)
    /(1)(2)(3)/\t($1)(${2})($(3))$$
    if /bar/ \t
    if !/xyzzy/
    /(elbereth)/\t($1)
    !/(bogus)/\t($1)
    !/find/\t\tno liquor license
    endif
    endif\t
    !
    /x(y)?z/\t[$1]
    /^UPPER$/i\tcase-sensitive upper
    /^mixed$/\tcase-insensitive mixed
    #^hash#\thash delimited
    |pi\\|pe|\tescaped delimiter
    /bad(/\tbad regexp
    /q/q\tunknown flag
    /unterminated\tno close
    alnum start is unrecognized
    /n(4)/\t$1abc
    /(z)zero/\t$0
    /trunc(a)/\t${1
    /dollar/\tcost $
    /m(u)lti/\t$1-$1-${1}
    /^long-[0-9]+$/\tlong rule
    /a.b/s\tdotall toggled
    /^(a+)+$/\tbacktracker
    endif
    endif
    if /./
    if /unclosed/
    """

    static let keys = [
        "true1", "true2", "true3", "truefalse2", "1", "2", "3", "a", "ab", "b", "c", "12345", "1234", "123",
        "bar", "barelbereth", "barfind", "bar-nothing", "xyzzybar", "xz", "xyz", "UPPER", "upper", "Mixed", "MIXED",
        "^hash", "hash", "pi|pe", "n4", "zzero", "trunca", "dollar", "multi", "long-123", "a\nb", "nothing",
        "elbereth", "find", "xyzzy", "UNCLOSED", "unclosed", "Bar", "BAR",
    ]

    static var keyInput: [UInt8] { Array((keys.joined(separator: "\n") + "\n").utf8) }

    @Test("a rules file with every construct", arguments: types, DifferentialTests.configReleases)
    func rulesFile(type: String, configRelease: DifferentialTests.ConfigRelease) throws {
        let (config, release) = (configRelease.config, configRelease.release)
        guard release.check(), type == "regexp" || release.hasModule("pcre") || Oracle.required else { return }
        let twin = Twin(mainCf: config, files: ["rules": Array((Self.rules + "\n/caf\u{e9}/ accent\n/\u{ff}/ latin1\n").utf8)],
                        release: release)
        try twin.same("postmap", ["-q", "-", "\(type):rules"], stdin: Self.keyInput + Array("café\nCAFÉ\n".utf8) + [0xFF, 0x0A])
        for key in ["1", "12345", "barfind", "c", "nothing", "multi"] {
            try twin.same("postmap", ["-q", key, "\(type):rules"])
        }
        // Folding does not apply to pattern tables; -f changes nothing.
        try twin.same("postmap", ["-f", "-q", "-", "\(type):rules"], stdin: Self.keyInput)
    }

    @Test("inline tables and their errors", arguments: types, OracleRelease.available)
    func inline(type: String, release: OracleRelease) throws {
        guard release.check(), type == "regexp" || release.hasModule("pcre") || Oracle.required else { return }
        let twin = Twin(release: release)
        for (spec, key) in [("\(type):{{/foo/ got foo}}", "foo"), ("\(type):{ {/a(b)/ x$1}, {/c/ d} }", "ab"),
                            ("\(type):{ {/a(b)/ x$1}, {/c/ d} }", "cc"), ("\(type):{{/foo/ got foo}", "foo"),
                            ("\(type):{/foo/ got}", "foo"), ("\(type):{{/foo/ x}}junk", "foo"), ("\(type):{}", "x"),
                            ("\(type):{ {/x/!/y/ z} }", "x"), ("\(type):{ {if /a/}, {/b/ c} }", "ab")] {
            try twin.same("postmap", ["-q", key, spec])
        }
    }

    @Test("source syntax: continuations, CRLF, NUL bytes, long lines, many rules", arguments: types, OracleRelease.available)
    func sourceSyntax(type: String, release: OracleRelease) throws {
        guard release.check(), type == "regexp" || release.hasModule("pcre") || Oracle.required else { return }
        var rules = "/con/\n  tinued/ joined\n/crlf/ value\r\n/nul/ before\0after\n"
        rules += "/^" + String(repeating: "k", count: 70_000) + "$/ very long rule\n"
        for n in 0..<10_000 { rules += "/^rule\(n)@example\\.com$/ R\(n)\n" }
        let twin = Twin(files: ["rules": Array(rules.utf8)], release: release)
        let keys = ["contin", "continued", "con  tinued", "crlf", "nul", String(repeating: "k", count: 70_000),
                    "rule0@example.com", "rule9999@example.com", "RULE5000@EXAMPLE.COM", "rule10000@example.com"]
        try twin.same("postmap", ["-q", "-", "\(type):rules"], stdin: Array((keys.joined(separator: "\n") + "\n").utf8) + [0x6E, 0x75, 0x6C, 0x00, 0x78, 0x0A])
    }

    @Test("not creatable, not updatable, no sequence", arguments: types, OracleRelease.available)
    func refusals(type: String, release: OracleRelease) throws {
        guard release.check(), type == "regexp" || release.hasModule("pcre") || Oracle.required else { return }
        let twin = Twin(files: ["rules": Array("/a/ b\n".utf8)], release: release)
        for args in [["\(type):rules"], ["-i", "\(type):rules"], ["-d", "a", "\(type):rules"], ["-s", "\(type):rules"],
                     ["-q", "a", "\(type):nosuch"], ["-q", "a", "\(type):"]] {
            try twin.same("postmap", args, stdin: [])
        }
    }

    /// Random rules and keys: the literal prefilter must never change an answer.
    @Test("randomized rules agree with Postfix", arguments: types)
    func randomized(type: String) throws {
        var rng = SplitMix(seed: type == "regexp" ? 1 : 2)
        let atoms = ["a", "b", "ab", "abc", "x", "Y", "z9", "\\.", "-", "@", "foo", "Bar", "qux"]
        let wild = ["[0-9]", "[a-c]+", ".", ".*", "(ab)?", "(x|y)", "[^a]", "\\.?", "b*", "c{2}", "d{0,2}", "(foo)+"]
        var rules = ""
        var depth = 0
        for n in 0..<400 {
            var pattern = rng.next() % 4 == 0 ? "^" : ""
            for _ in 0..<(1 + Int(rng.next() % 5)) {
                pattern += rng.next() % 3 == 0 ? wild[Int(rng.next() % UInt64(wild.count))] : atoms[Int(rng.next() % UInt64(atoms.count))]
            }
            if rng.next() % 5 == 0 { pattern += "$" }
            let flags = ["", "", "", "i"][Int(rng.next() % 4)]
            let negate = rng.next() % 10 == 0 ? "!" : ""
            switch rng.next() % 12 {
            case 0 where depth < 3:
                rules += "if \(negate)/\(pattern)/\(flags)\n"
                depth += 1
            case 1 where depth > 0:
                rules += "endif\n"
                depth -= 1
            default:
                rules += "\(negate)/\(pattern)/\(flags) rule\(n)\n"
            }
        }
        let alphabet = Array("abcxyzY9.-@fooBarqux ".utf8)
        var keys: [UInt8] = []
        for _ in 0..<3_000 {
            for _ in 0..<(1 + Int(rng.next() % 14)) { keys.append(alphabet[Int(rng.next() % UInt64(alphabet.count))]) }
            keys.append(0x0A)
        }
        let twin = Twin(files: ["rules": Array(rules.utf8)])
        try twin.same("postmap", ["-q", "-", "\(type):rules"], stdin: keys)
    }

    @Test("catastrophic backtracking is a warning and a temporary error, never a hang")
    func backtracking() throws {
        let dir = TempDir("backtrack")
        dir.write("main.cf", "compatibility_level = 0\n")
        dir.write("rules", "/^(a+)+$/ x\n/b/ y\n")
        let started = Date()
        let o = try run(Paths.ours("postmap"), ["-c", ".", "-q", String(repeating: "a", count: 40) + "!", "pcre:rules"], in: dir.url, timeout: 60)
        #expect(Date().timeIntervalSince(started) < 30)
        #expect(o.status == 1)
        #expect(o.stderr.contains("postmap: warning: pcre map rules, line 1: match limit exceeded"), "\(o.stderr)")
        #expect(o.stderr.contains("postmap: fatal: table pcre:rules: query error"), "\(o.stderr)")
    }
}
