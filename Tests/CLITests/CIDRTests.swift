import Foundation
import Testing
import TestSupport

/// Generated `cidr` tables and keys: networks drawn from a few bases so rules overlap and keys hit them.
struct CIDRGenerator {
    var random: SplitMix
    let v4Bases: [UInt32]
    let v6Bases: [(UInt64, UInt64)]

    /// `spread` scales the number of distinct base networks: more bases, fewer rules per base.
    init(seed: UInt64, spread: Int = 1) {
        var r = SplitMix(seed: seed)
        v4Bases = (0..<24 * spread).map { _ in UInt32(truncatingIfNeeded: r.next()) & 0xFFFF_0000 }
        v6Bases = (0..<12 * spread).map { _ in (r.next(), 0) }
        random = r
    }

    static func v4(_ a: UInt32) -> String {
        "\(a >> 24).\((a >> 16) & 255).\((a >> 8) & 255).\(a & 255)"
    }

    /// IPv6 text in one of several spellings inet_pton accepts: full, `::`-compressed, upper case.
    static func v6(_ hi: UInt64, _ lo: UInt64, style: Int) -> String {
        let groups = (0..<8).map { n -> UInt16 in
            let word = n < 4 ? hi : lo
            return UInt16(truncatingIfNeeded: word >> (48 - 16 * UInt64(n % 4)))
        }
        var parts = groups.map { String($0, radix: 16) }
        if style == 1 { parts = parts.map { $0.uppercased() } }
        if style == 2 {
            // Compress the longest run of zero groups (two or more), as inet_ntop would.
            var best = (start: -1, length: 0)
            var n = 0
            while n < 8 {
                if groups[n] == 0 {
                    var m = n
                    while m < 8, groups[m] == 0 { m += 1 }
                    if m - n > best.length { best = (n, m - n) }
                    n = m
                } else { n += 1 }
            }
            if best.length >= 2 {
                let head = parts[..<best.start].joined(separator: ":")
                let tail = parts[(best.start + best.length)...].joined(separator: ":")
                return "\(head)::\(tail)"
            }
        }
        return parts.joined(separator: ":")
    }

    mutating func v4Address() -> UInt32 {
        let base = random.pick(v4Bases)
        let hostBits = random.pick([0, 2, 8, 12, 16])
        return base | (hostBits == 0 ? 0 : UInt32(truncatingIfNeeded: random.next()) & ((1 << hostBits) - 1))
    }

    mutating func v6Address() -> (UInt64, UInt64) {
        let base = random.pick(v6Bases)
        switch random.below(4) {
        case 0: return base
        case 1: return (base.0, random.next() & 0xF)
        case 2: return (base.0, random.next() & 0xFFFF)
        default: return (base.0 | (random.next() & 0xFFFF), random.next())
        }
    }

    /// A pattern in one of the five forms, rarely with host bits set (a rejected rule).
    mutating func pattern(allowZero: Bool = true) -> String {
        let text: String, length: Int, bits: Int
        if random.chance(65) {
            bits = 32
            var lengths = [32, 32, 24, 30, 28, 16, 20, 31, 12]
            if allowZero { lengths.append(0) }
            length = random.pick(lengths)
            var a = v4Address()
            a &= length == 0 ? 0 : ~UInt32(0) << (32 - length)
            if random.chance(2) { a |= 1 }
            text = Self.v4(a)
        } else {
            bits = 128
            var lengths = [128, 128, 64, 96, 120, 126, 48, 127, 112]
            if allowZero { lengths.append(0) }
            length = random.pick(lengths)
            var (hi, lo) = v6Address()
            if length <= 64 {
                lo = 0
                hi &= length == 0 ? 0 : ~UInt64(0) << (64 - length)
            } else if length < 128 {
                lo &= ~UInt64(0) << (128 - length)
            }
            if random.chance(2) { lo |= 1 }
            text = Self.v6(hi, lo, style: random.below(3))
        }
        let form = random.below(10)
        if length == bits, form < 5 { return form < 4 ? text : "[\(text)]" }
        if form < 6 { return "\(text)/\(length)" }
        if form < 8 { return "[\(text)]/\(length)" }
        return "[\(text)/\(length)]"
    }

    /// A whole base network (`/16` IPv4 or `/64` IPv6): the condition of an `if` that confines a block
    /// to one region, so negated rules inside it do not swallow every later key.
    mutating func region() -> String {
        if random.chance(65) { return "\(Self.v4(random.pick(v4Bases)))/\(random.pick([16, 18]))" }
        return "\(Self.v6(random.pick(v6Bases).0, 0, style: 2))/64"
    }

    /// A table of `count` lines: mostly rules, with `if`/`endif` blocks, negations and rejected lines
    /// when `mixed`, plain positive rules only otherwise.
    mutating func table(lines count: Int, mixed: Bool) -> [String] {
        var lines: [String] = []
        // For each open `if`: whether it confines its block to a region (negated rules allowed inside).
        var open: [Bool] = []
        let broken = ["1.2.3.4/33 x", "[1.2.3.4 x", "1.2.3.999 x", "1.2.3.4", "! x", "if", "endif x",
                      "[1.2.3.4]x y", "1.2.3.4/3x z", "10.1.1.1/8 host bits", "::1/129 v6", "if !", "ENDIF"]
        for n in 0..<count {
            let roll = random.below(1000)
            if mixed, roll < 40 {
                if random.chance(70) {
                    lines.append("if \(region())")
                    open.append(true)
                } else {
                    lines.append("if \(random.chance(50) ? "!" : "")\(pattern(allowZero: false))")
                    open.append(false)
                }
            } else if mixed, roll < 80, !open.isEmpty {
                lines.append(random.chance(50) ? "endif" : "EndIf")
                open.removeLast()
            } else if mixed, roll < 95 {
                lines.append(random.pick(broken))
            } else {
                let negated = mixed && open.last == true && random.chance(10) ? "!" : ""
                let allowZero = mixed && random.chance(2)
                lines.append("\(negated)\(pattern(allowZero: allowZero))\t\(n) rule \(String(repeating: "x", count: random.below(3)))")
            }
        }
        while !open.isEmpty, random.chance(70) {
            lines.append("endif")
            open.removeLast()
        }
        return lines
    }

    /// Keys mostly near the table's networks, some elsewhere and some not addresses at all.
    mutating func keys(_ count: Int) -> [String] {
        (0..<count).map { _ in
            let roll = random.below(100)
            if roll < 55 { return Self.v4(v4Address()) }
            if roll < 85 { let (hi, lo) = v6Address(); return Self.v6(hi, lo, style: random.below(3)) }
            if roll < 95 { return Self.v4(UInt32(truncatingIfNeeded: random.next())) }
            return random.pick(["foo", "1.2.3", "::ffff:10.0.0.1", "[10.0.0.1]", "10.0.0.1/32", "1.2.3.4.5", "::g"])
        }
    }
}

/// The `cidr` table type against Debian's postmap: every rule form and warning, `if`/`endif`, negation,
/// both families, keys that are not addresses, large generated tables, NUL bytes, long keys, and the
/// operations Postfix refuses.
@Suite(.enabled(if: Oracle.enabled(Paths.oracleAvailable), "needs Debian's postfix package"))
struct CIDRTests {
    static let configs = ["compatibility_level = 0\n", "compatibility_level = 3.6\n"]

    static func lines(_ items: [String]) -> [UInt8] { Array(items.map { $0 + "\n" }.joined().utf8) }

    /// A twin whose main.cf is a minute old. Postfix rereads a main.cf modified within the last second
    /// until it "cools down" (about 2 s per fresh directory); the wait changes nothing in the output.
    static func twin(mainCf: String = "compatibility_level = 0\n", files: [String: [UInt8]] = [:]) -> Twin {
        let twin = Twin(mainCf: mainCf, files: files)
        let old = Date(timeIntervalSinceNow: -60)
        for dir in [twin.ours, twin.theirs] {
            try? FileManager.default.setAttributes([.modificationDate: old], ofItemAtPath: dir.file("main.cf"))
        }
        return twin
    }

    /// Each key with `-q`, then all of them with `-q -`.
    func query(_ twin: Twin, _ map: String, _ keys: [String], single: Bool = true,
               sourceLocation: SourceLocation = #_sourceLocation) throws {
        if single {
            for key in keys { try twin.same("postmap", ["-q", key, map], sourceLocation: sourceLocation) }
        }
        try twin.same("postmap", ["-q", "-", map], stdin: Self.lines(keys), sourceLocation: sourceLocation)
    }

    /// The behaviours of Postfix's dict_cidr_test, with our own rules and keys: netblocks and naked
    /// addresses, every rejected-rule reason, nested and negated `if` in both families, `/0`, repeated `!`.
    static let suiteMap = """
    10.20.0.0/22\t\t550 first netblock 10.20.0.0/22
    10.20.4.0/22\t\t550 second netblock 10.20.4.0/22
    10.20.0.0/16\t\t550 wide netblock
    10.30.5.5\t\t550 naked address
    10.20.5.9/22\t\tnever (host bits)
    10.20.5.9/40\t\tnever (mask too long)
    10.300.0.0/22\t\tnever (bad network)
    10.20.5.300\t\tnever (bad address)
    10.20.5.10
    if 192.0.2.0/24
    if 192.0.2.8/29
    192.0.2.7\t\toutside inner, never
    192.0.2.8\t\tinner 8
    192.0.2.9\t\tinner 9
    192.0.2.15\t\tinner 15
    192.0.2.16\t\toutside inner, never
    endif
    endif
    if !192.0.2.8/29
    192.0.2.7\t\tnot inner 7
    192.0.2.16\t\tnot inner 16
    endif
    if 2001:db8::a8/125
    2001:db8::a7\t\tnever
    2001:db8::a8\t\tv6 inner a8
    2001:db8::af\t\tv6 inner af
    2001:db8::b0\t\tnever
    endif
    if !2001:db8::a8/125
    2001:db8::a7\t\tv6 not inner a7
    2001:db8::b0\t\tv6 not inner b0
    endif
    2001:db8:1:2:3:4:5:6\tv6 naked address
    2001:db8:1::/48\t\tv6 netblock
    3.0.0.0/0\t\tv4 everything
    ! ! 0.0.0.0/0\t\tv4 everything again
    3::/0\t\t\tv6 everything
    ::/0\t\t\tv6 everything again
    [4321\t\t\tnever
    [4321]rest\t\tnever
    10.20.5.9/2x\t\tnever
    endif
    endif
    if 2001:db8::1
    if 2001:db8::2
    if !
    !
    """

    static let suiteKeys = [
        "10.20.0.0", "10.20.0.1", "10.20.3.255", "10.20.4.1", "10.20.9.1", "10.30.5.5", "10.30.5.6",
        "2001:db8:1:2:3:4:5:6", "2001:db8:1:2:3:4:5:7", "8.8.8.8", "2:2:2:2:2:2:2:2",
        "192.0.2.7", "192.0.2.8", "192.0.2.9", "192.0.2.15", "192.0.2.16", "192.0.3.1",
        "2001:db8::a7", "2001:db8::a8", "2001:db8::af", "2001:db8::b0", "2001:db8::b1",
    ]

    @Test("the behaviours of Postfix's dict_cidr_test", arguments: configs)
    func postfixSuite(config: String) throws {
        let twin = Self.twin(mainCf: config, files: ["cidr.map": Array(Self.suiteMap.utf8)])
        try query(twin, "cidr:cidr.map", Self.suiteKeys)
        let (_, theirs) = try twin.run("postmap", ["-q", "-", "cidr:cidr.map"], stdin: Self.lines(Self.suiteKeys))
        // The table must exercise what it claims to: 16 warnings, answers from inside nested blocks.
        #expect(theirs.stderr.split(separator: "\n").count == 16)
        #expect(theirs.out.contains("192.0.2.9\tinner 9\n"))
        #expect(theirs.out.contains("2001:db8::b0\tv6 not inner b0\n"))
        #expect(theirs.out.contains("10.20.9.1\t550 wide netblock\n"))
    }

    @Test("an IF without ENDIF (miss_endif_cidr_test)")
    func missingEndif() throws {
        let twin = Self.twin(files: ["one": Self.lines(["if 10.1.2.3"]),
                                "two": Self.lines(["10.9.9.9 before", "if 10.1.2.0/24", "if !10.1.2.4", "10.1.2.0/24 in", "endif",
                                                   "0.0.0.0/0 after", "::/0 v6 after"])])
        try query(twin, "cidr:one", ["10.1.2.5", "10.1.2.3"])
        try query(twin, "cidr:two", ["10.9.9.9", "10.1.2.3", "10.1.2.4", "10.1.3.1", "::1"])
    }

    @Test("the inline form cidr:{ {rule}, ... } (dict_inline_cidr_test)")
    func inlineForm() throws {
        let twin = Self.twin()
        try query(twin, "cidr:{{10.1.2.3 got 10.1.2.3}}", ["10.1.2.3", "3.2.1.10"])
        try query(twin, "cidr:{ {10.1.2.3 a}, {if !10.0.0.0/8}, {0.0.0.0/0 outside ten}, {endif}, {10.0.0.0/8  ten  } }",
                  ["10.1.2.3", "10.9.9.9", "11.1.1.1", "::1"])
        try query(twin, "cidr:{ {10.1.2.3/8 host bits}, {[10.1.2.3 x}, {endif}, {if ::1}, {::1 one} }", ["::1", "10.1.2.3"])
        for bad in ["cidr:{ {10.1.2.3 a}", "cidr:{ {10.1.2.3 a} }x", "cidr:{ {10.1.2.3 a}x }", "cidr:{}", "cidr:{ }",
                    "cidr:{10.1.2.3 a}", "cidr:{ {} }"] {
            try twin.same("postmap", ["-q", "10.1.2.3", bad])
        }
    }

    /// Every pattern form, accepted or not, alone in a table, against keys near it.
    static let patterns = [
        "10.1.2.3", "10.1.2.0/24", "[10.1.2.3]", "[10.1.2.0]/24", "[10.1.2.0/24]", "10.1.2.3/32", "0.0.0.0/0",
        "10.0.0.0/8", "10.1.2.2/31", "10.1.2.0/23", "10.1.2.0/256", "0.0.0.0/256", "10.1.2.0/280", "10.1.2.3/288",
        "10.1.2.0/4294967320", "10.1.2.0/99999999999999999999", "10.1.2.3/", "10.1.2.3/-1", "10.1.2.3/+8",
        "10.1.2.3/ 8", "010.1.2.3", "10.1.2", "10.1.2.3.4", "10.1.2.256", "0x0a.1.2.3", "10.1.2.3/08",
        "[10.1.2.3]/", "[10.1.2.3/24]/8", "[10.1.2.3]]", "[[10.1.2.3]]", "[10.1.2.3", "[]", "[]/8", "/8", "[/8]",
        "2001:db8::1", "2001:db8::/32", "[2001:db8::1]", "[2001:db8::]/32", "[2001:db8::/32]", "2001:DB8::1",
        "::", "::/0", "::1/128", "::1/129", "2001:db8::1/64", "2001:db8::/48/8", "2001:db8:::1", "2001:db8::1::2",
        "::ffff:10.1.2.3", "::ffff:10.1.2.0/120", "::ffff:0:0/96", "::10.1.2.3", "fe80::1%eth0",
        "1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8:9", "1:2:3:4:5:6:1.2.3.4", "12345::1", ":", "10.1.2.3:25",
        "::ffff:10.1.2.3/127", "ffff::1/16", "8000::/1", "::1/0", "10.1.2.3/0",
    ]
    static let patternKeys = [
        "10.1.2.3", "10.1.2.2", "10.1.3.3", "10.2.0.0", "11.0.0.0", "2001:db8::1", "2001:db8::2",
        "2001:db8:1::1", "::1", "::", "::ffff:10.1.2.3", "::ffff:10.1.2.4", "::10.1.2.3", "1:2:3:4:5:6:7:8",
        "1:2:3:4:5:6:102:304", "fe80::1", "8000::1", "0.0.0.0", "255.255.255.255",
    ]

    @Test("each pattern form alone in a table", arguments: patterns)
    func patternForm(pattern: String) throws {
        let twin = Self.twin(files: ["map": Self.lines(["\(pattern) matched \(pattern)"]),
                                "neg": Self.lines(["!\(pattern) not \(pattern)"])])
        try query(twin, "cidr:map", Self.patternKeys, single: false)
        try query(twin, "cidr:neg", Self.patternKeys, single: false)
        try twin.same("postmap", ["-q", "-", "cidr:{{if \(pattern)}, {0.0.0.0/0 in v4}, {::/0 in v6}, {endif}}"],
                      stdin: Self.lines(Self.patternKeys))
    }

    @Test("every warning, and the rules after a rejected one still work", arguments: configs)
    func warnings(config: String) throws {
        let map = [
            "172.16.1.3/21 host bits", "2001:db8::1/32 v6 host bits", "1.2.3.4/33 long mask", "::/129 long v6 mask",
            "172.999.0.0/21 bad network", "1.2.3.999 bad address", "1.2.3.4/3x bad mask value", "[1234 missing bracket",
            "[1.2.3.4]junk garbage", "1.2.3.4", "1.2.3.4   ", "!", "! ! ", "if", "if ! !", "endif extra", "endif",
            "endif# comment-like", "ENDIF", "if 1.2.3.4/33", "if 1.2.3.0/24 trailing", "if 1.2.3.0/24", "1.2.3.4 in block",
            "endif", "endif", "1.2.3.5 after", "if ::/0", "if 10.0.0.0/8", "iF [10.1.0.0]/16", "if!10.1.1.0/24",
            "if[10.1.2.0/24]", "10.1.2.3 deep", "endIF", "ifx 1.2.3.4", "endifx", "if1.2.3.4",
        ]
        let twin = Self.twin(mainCf: config, files: ["map": Self.lines(map)])
        let keys = ["1.2.3.4", "1.2.3.5", "10.1.2.3", "10.1.1.3", "::1"]
        try query(twin, "cidr:map", keys)
        let (_, theirs) = try twin.run("postmap", ["-q", "-", "cidr:map"], stdin: Self.lines(keys))
        for text in ["non-null host address bits in \"172.16.1.3/21\", perhaps you should use \"172.16.0.0/21\" instead",
                     "bad mask length in \"1.2.3.4/33\"", "bad network value in \"172.999.0.0/21\"",
                     "bad address pattern: \"1.2.3.999\"", "bad mask value in \"1.2.3.4/3x\"",
                     "missing ']' character after \"[1234\"", "garbage after \"[1.2.3.4]\"", "no lookup result",
                     "no address pattern", "ENDIF without IF", "garbage after ENDIF", "IF has no matching ENDIF"] {
            #expect(theirs.stderr.contains(text), "Postfix's warnings include \(text)")
        }
        #expect(theirs.out.contains("1.2.3.4\tin block\n"))
    }

    @Test("line syntax: comments, continuations, leading blanks, CRLF, keyword case, trailing blanks")
    func lineSyntax() throws {
        let map = "# comment\n10.0.0.1 one\n  continued\n#between\n\twith tab\n\n   \n 10.0.0.2 leading\n10.0.0.3 crlf\r\n"
            + "10.0.0.4\ttabs\t and  spaces \t \n10.0.0.5 trailing\u{0B}\u{0C}\n IF 10.0.0.6\nIf 10.0.0.6\n10.0.0.6 six\nEnDiF\n"
            + "10.0.0.7 last line without newline"
        let twin = Self.twin(files: ["map": Array(map.utf8)])
        try query(twin, "cidr:map", ["10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4", "10.0.0.5", "10.0.0.6", "10.0.0.7"])
    }

    @Test("keys that are not addresses, and keys in unusual spellings", arguments: configs)
    func notAddresses(config: String) throws {
        let twin = Self.twin(mainCf: config, files: ["map": Self.lines(["0.0.0.0/0 any v4", "::/0 any v6"])])
        let keys = ["", " ", "foo", "10.0.0.1 ", " 10.0.0.1", "[10.0.0.1]", "10.0.0.1/32", "010.0.0.1", "10.0.0",
                    "10.0.0.1.2", "10.0.0.256", "0x0a.0.0.1", "10.0.0.1\r", "10.0.0.1\t", "::", "::1", "::FFFF:10.0.0.1",
                    "[::1]", "::1/128", "fe80::1%eth0", "1:2:3:4:5:6:7:8:9", ":::", "1::2::3", "10.0.0.1:25",
                    "ABCD::EF", "abcd::ef", "localhost", "éé", "10.0.0.1\u{00A0}"]
        try query(twin, "cidr:map", keys.filter { !$0.isEmpty })
        try twin.same("postmap", ["-q", "-", "cidr:map"], stdin: Self.lines(keys))
    }

    @Test("IPv4-mapped IPv6 keys match only IPv6 rules")
    func mappedIPv6() throws {
        let twin = Self.twin(files: ["map": Self.lines(["::ffff:10.1.2.3 mapped exact", "::ffff:0:0/96 mapped net",
                                                   "10.1.2.0/24 plain v4", "::10.1.2.3 compatible", "!::/0 never"])])
        try query(twin, "cidr:map", ["::ffff:10.1.2.3", "::FFFF:10.1.2.4", "::ffff:a01:203", "10.1.2.3", "::10.1.2.3",
                                     "0:0:0:0:0:ffff:10.1.2.3", "::ffff:10.1.3.3", "64:ff9b::10.1.2.3"])
    }

    @Test("NUL bytes in the table and in keys")
    func nulBytes() throws {
        var map: [UInt8] = Array("10.0.0.1 one\0hidden\n\0 10.0.0.2 after nul\n10.0.0.3\0 three\n".utf8)
        map += Array("10.0.0.4 four\n10.0.0.5/3\02 five\nif 10.0.0.0/8\0x\n10.0.0.6 six\nendif\0junk\n::1 v6\n".utf8)
        let twin = Self.twin(files: ["map": map])
        try query(twin, "cidr:map", ["10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4", "10.0.0.5", "10.0.0.6", "::1"])
        var keys: [UInt8] = Array("10.0.0.1\0junk\n\0\n10.0.0.4\0\n::1\0:\n10.0.0.6\n".utf8)
        keys += [0x0A, 0x00, 0x31, 0x0A]
        try twin.same("postmap", ["-q", "-", "cidr:map"], stdin: keys)
    }

    @Test("very long keys, patterns and results")
    func longKeys() throws {
        let long = String(repeating: "1", count: 100_000)
        let value = String(repeating: "v", count: 65_536)
        let twin = Self.twin(files: ["map": Self.lines(["10.0.0.1 \(value)", "\(long) bad", "\(String(repeating: "1.", count: 5000))1 x",
                                                   "10.0.0.0/\(long) mask", "[\(long)", "::/0 v6 \(value)"])])
        try twin.same("postmap", ["-q", "10.0.0.1", "cidr:map"])
        try twin.same("postmap", ["-q", String(repeating: "10.0.0.1", count: 500), "cidr:map"])
        try twin.same("postmap", ["-q", String(repeating: ":", count: 4000), "cidr:map"])
        try twin.same("postmap", ["-q", "-", "cidr:map"],
                      stdin: Self.lines([long, "10.0.0.1", "::" + long, String(repeating: "0:", count: 20_000) + "1", "::1",
                                         "10.0.0.1" + String(repeating: " ", count: 100), String(repeating: "0", count: 40) + "::1"]))
    }

    @Test("10,000 plain rules (the indexed path)", arguments: [UInt64(1), 2])
    func largePlain(seed: UInt64) throws {
        var generator = CIDRGenerator(seed: seed, spread: 40)
        let table = generator.table(lines: 10_000, mixed: false)
        let keys = generator.keys(5_000)
        let twin = Self.twin(files: ["map": Self.lines(table)])
        try twin.same("postmap", ["-q", "-", "cidr:map"], stdin: Self.lines(keys))
        // The keys must reach past the first rules, or the comparison proves little.
        let (_, theirs) = try twin.run("postmap", ["-q", "-", "cidr:map"], stdin: Self.lines(keys))
        let answers = Set(theirs.out.split(separator: "\n").compactMap { $0.split(separator: "\t").last })
        #expect(answers.count > 200, "distinct rules that answered: \(answers.count)")
    }

    @Test("10,000 lines with if/endif, negation and rejected rules", arguments: [UInt64(3), 4])
    func largeMixed(seed: UInt64) throws {
        var generator = CIDRGenerator(seed: seed, spread: 10)
        let table = generator.table(lines: 10_000, mixed: true)
        let keys = generator.keys(5_000)
        let twin = Self.twin(files: ["map": Self.lines(table)])
        try twin.same("postmap", ["-q", "-", "cidr:map"], stdin: Self.lines(keys))
        let (_, theirs) = try twin.run("postmap", ["-q", "-", "cidr:map"], stdin: Self.lines(keys))
        let answers = Set(theirs.out.split(separator: "\n").compactMap { $0.split(separator: "\t").last })
        #expect(answers.count > 40, "distinct rules that answered: \(answers.count)")
    }

    @Test("generated tables of 300 lines", arguments: Array(UInt64(10)..<UInt64(22)))
    func generated(seed: UInt64) throws {
        var generator = CIDRGenerator(seed: seed)
        let table = generator.table(lines: 300, mixed: seed % 3 != 0)
        let keys = generator.keys(1_500)
        let twin = Self.twin(mainCf: Self.configs[Int(seed % 2)], files: ["map": Self.lines(table)])
        try twin.same("postmap", ["-q", "-", "cidr:map"], stdin: Self.lines(keys))
        for key in keys.prefix(5) { try twin.same("postmap", ["-q", key, "cidr:map"]) }
    }

    @Test("-s, -d, -i and creation are refused with Postfix's texts")
    func refusedOperations() throws {
        let twin = Self.twin(files: ["map": Self.lines(["10.0.0.1 one"]), "plain": Self.lines(["10.0.0.1 hashed"])])
        try twin.same("postmap", ["-s", "cidr:map"])
        try twin.same("postmap", ["-d", "10.0.0.1", "cidr:map"])
        try twin.same("postmap", ["-d", "-", "cidr:map"], stdin: Self.lines(["10.0.0.1"]))
        try twin.same("postmap", ["-d", "10.0.0.1", "cidr:missing"])
        try twin.same("postmap", ["-i", "cidr:map"], stdin: Self.lines(["10.0.0.2 two"]))
        try twin.same("postmap", ["cidr:map"])
        try twin.same("postmap", ["cidr:missing"])
        try twin.same("postmap", ["-s", "cidr:{{10.0.0.1 x}}"])
        try twin.same("postalias", ["-q", "10.0.0.1", "cidr:map"])
        try twin.same("postalias", ["-s", "cidr:map"])
        try twin.same("postalias", ["cidr:map"])
        try twin.same("postalias", ["-i", "cidr:map"], stdin: Self.lines(["10.0.0.2: x"]))
        try twin.same("postmap", ["plain"])
        try twin.same("postmap", ["-i", "hash:plain", "cidr:map"], stdin: Self.lines(["10.0.0.3 three"]))
        try twin.same("postmap", ["-s", "hash:plain"])
        try twin.same("postmap", ["-d", "10.0.0.1", "hash:plain", "cidr:map"])
        try twin.same("postmap", ["-q", "10.0.0.1", "hash:plain"])
        // The table is unchanged after all that.
        try twin.same("postmap", ["-q", "10.0.0.1", "cidr:map"])
    }

    @Test("missing, empty, unreadable-as-text and directory tables")
    func fileErrors() throws {
        let twin = Self.twin(files: ["empty": [], "comments": Self.lines(["# only", "", "#x"])])
        try FileManager.default.createDirectory(atPath: twin.ours.file("dir"), withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: twin.theirs.file("dir"), withIntermediateDirectories: true)
        for map in ["cidr:missing", "cidr:empty", "cidr:comments", "cidr:dir", "cidr:", "cidr:/nonexistent/x"] {
            try twin.same("postmap", ["-q", "10.0.0.1", map])
            try twin.same("postmap", ["-q", "-", map], stdin: Self.lines(["10.0.0.1"]))
            try twin.same("postmap", ["-q", "-", map], stdin: [])
        }
    }

    @Test("an unreadable table", .enabled(if: BadInputTests.canSwitchUser))
    func unreadable() throws {
        var outcomes: [Outcome] = []
        for exe in [Paths.ours("postmap"), Paths.postfix("postmap")] {
            let dir = TempDir("cidr-perm")
            chmod(dir.path, 0o755)
            dir.write("main.cf", "compatibility_level = 0\n")
            dir.write("map", "10.0.0.1 x\n")
            chmod(dir.file("map"), 0o600)
            outcomes.append(try BadInputTests.asNobody(exe, ["-c", ".", "-q", "10.0.0.1", "cidr:map"], in: dir.url))
        }
        #expect(outcomes[0] == outcomes[1])
        #expect(outcomes[1].stderr == "postmap: fatal: open map: Permission denied\n")
    }

    @Test("several maps: the first that answers wins; flags do not change cidr lookups")
    func severalMapsAndFlags() throws {
        let twin = Self.twin(files: ["plain": Self.lines(["10.0.0.1 from hash", "10.0.0.9 only hash"]),
                                "map": Self.lines(["10.0.0.0/24 from cidr"])])
        try twin.same("postmap", ["plain"])
        let keys = ["10.0.0.1", "10.0.0.2", "10.0.0.9", "10.0.1.1"]
        try query(twin, "cidr:map", keys)
        for order in [["hash:plain", "cidr:map"], ["cidr:map", "hash:plain"]] {
            for key in keys { try twin.same("postmap", ["-q", key] + order) }
            try twin.same("postmap", ["-q", "-"] + order, stdin: Self.lines(keys))
        }
        for flag in ["-f", "-n", "-N", "-u", "-r", "-w", "-o", "-p"] {
            try twin.same("postmap", [flag, "-q", "-", "cidr:map"], stdin: Self.lines(keys))
        }
    }

    @Test("non-UTF-8 and UTF-8 bytes in rules and keys", arguments: configs)
    func utf8(config: String) throws {
        var map: [UInt8] = Array("10.0.0.1 caf\u{E9}\n10.0.0.2 ".utf8) + [0xFF, 0xFE] + Array(" raw\n".utf8)
        map += [0xC3, 0xA9] + Array("10.0.0.3 bad pattern\n10.0.0.4/".utf8) + [0xFF] + Array(" bad mask\n".utf8)
        map += Array("[10.0.0.5".utf8) + [0x80] + Array(" x\n".utf8)
        let twin = Self.twin(mainCf: config, files: ["map": map])
        try twin.same("postmap", ["-q", "10.0.0.1", "cidr:map"])
        try twin.same("postmap", ["-q", "10.0.0.2", "cidr:map"])
        try twin.same("postmap", ["-q", "-", "cidr:map"], stdin: Array("10.0.0.1\n".utf8) + [0xFF] + Array("10.0.0.1\n10.0.0.3\n".utf8))
        try twin.same("postmap", ["-q", "-", "cidr:map"], stdin: Array("10.0.0.2\n10.0.0.1\n".utf8))
    }
}
