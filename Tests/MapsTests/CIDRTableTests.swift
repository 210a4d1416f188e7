import Foundation
import Maps
import Testing

/// The `cidr` table's compiled, indexed lookup against a direct transcription of Postfix's linear
/// algorithm, on generated tables; and the pattern parser's corner cases.
struct CIDRTableTests {
    /// One rule as the reference walks it.
    enum Line {
        case rule(CIDRPattern, negated: Bool, value: String)
        case condition(CIDRPattern, negated: Bool)
        case end
    }

    /// Postfix's `cidr_match_execute`: rules in file order, an `if` that fails jumps past its `endif`
    /// (or ends the lookup when it has none), other-family rules never match.
    static func reference(_ lines: [Line], _ key: String) -> String? {
        guard let (family, address) = CIDRPattern.address(Array(key.utf8)) else { return nil }
        var ends: [Int: Int] = [:]
        var stack: [Int] = []
        for (n, line) in lines.enumerated() {
            switch line {
            case .condition: stack.append(n)
            case .end: if let open = stack.popLast() { ends[open] = n }
            case .rule: break
            }
        }
        var n = 0
        while n < lines.count {
            switch lines[n] {
            case .rule(let p, let negated, let value):
                if p.family == family, p.contains(address) != negated { return value }
            case .condition(let p, let negated):
                if !(p.family == family && p.contains(address) != negated) {
                    guard let end = ends[n] else { return nil }
                    n = end
                }
            case .end:
                break
            }
            n += 1
        }
        return nil
    }

    struct Random {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
    }

    static func v4(_ a: UInt32) -> String { "\(a >> 24).\((a >> 16) & 255).\((a >> 8) & 255).\(a & 255)" }
    static func v6(_ hi: UInt64, _ lo: UInt64) -> String {
        (0..<8).map { n in String(UInt16(truncatingIfNeeded: (n < 4 ? hi : lo) >> (48 - 16 * UInt64(n % 4))), radix: 16) }
            .joined(separator: ":")
    }

    /// A generated table (text and the reference's view of it) and keys near its networks.
    static func generate(seed: UInt64, lines count: Int, structure: Bool) -> (text: String, lines: [Line], keys: [String]) {
        var r = Random(state: seed)
        let v4Bases = (0..<16).map { _ in UInt32(truncatingIfNeeded: r.next()) & 0xFFFF_FF00 }
        let v6Bases = (0..<8).map { _ in r.next() }
        func v4Address() -> UInt32 { v4Bases[r.below(v4Bases.count)] | UInt32(r.below(256)) }
        func v6Address() -> (UInt64, UInt64) { (v6Bases[r.below(v6Bases.count)], UInt64(r.below(64))) }
        func pattern() -> String {
            if r.below(3) > 0 {
                let length = [32, 32, 31, 30, 28, 25, 24, 20, 16, 8, 0][r.below(11)]
                let a = v4Address() & (length == 0 ? 0 : ~UInt32(0) << (32 - length))
                return length == 32 && r.below(2) == 0 ? v4(a) : "\(v4(a))/\(length)"
            }
            let length = [128, 128, 127, 126, 122, 120, 96, 64, 32, 0][r.below(10)]
            var (hi, lo) = v6Address()
            if length <= 64 { lo = 0; hi &= length == 0 ? 0 : ~UInt64(0) << (64 - length) } else { lo &= ~UInt64(0) << (128 - length) }
            return "\(v6(hi, lo))/\(length)"
        }
        var text = ""
        var lines: [Line] = []
        var depth = 0
        func parsed(_ p: String) -> CIDRPattern? { try? CIDRPattern.parse(Array(p.utf8)).get() }
        for n in 0..<count {
            let roll = r.below(100)
            if structure, roll < 4 {
                let p = pattern(), negated = r.below(3) == 0
                guard let cp = parsed(p) else { continue }
                text += "if \(negated ? "!" : "")\(p)\n"
                lines.append(.condition(cp, negated: negated))
                depth += 1
            } else if structure, roll < 8, depth > 0 {
                text += "endif\n"
                lines.append(.end)
                depth -= 1
            } else {
                let p = pattern(), negated = structure && r.below(50) == 0
                guard let cp = parsed(p) else { continue }
                text += "\(negated ? "!" : "")\(p) value \(n)\n"
                lines.append(.rule(cp, negated: negated, value: "value \(n)"))
            }
        }
        let keys = (0..<2_000).map { _ -> String in
            switch r.below(10) {
            case 0...5: return v4(v4Address())
            case 6...8: let (hi, lo) = v6Address(); return v6(hi, lo)
            default: return v4(UInt32(truncatingIfNeeded: r.next()))
            }
        }
        return (text, lines, keys)
    }

    @Test("indexed lookups agree with Postfix's linear walk", arguments: Array(UInt64(1)...UInt64(40)))
    func agreesWithLinearWalk(seed: UInt64) throws {
        let (text, lines, keys) = Self.generate(seed: seed, lines: seed % 4 == 0 ? 3_000 : 200, structure: seed % 2 == 1)
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("cidr-\(seed)-\(UUID().uuidString)").path
        _ = FileManager.default.createFile(atPath: path, contents: Data(text.utf8))
        defer { try? FileManager.default.removeItem(atPath: path) }
        let table = try CIDRTable(name: path, diagnostics: .silent)
        var found = 0
        var mismatches: [String] = []
        for key in keys {
            let expected = Self.reference(lines, key)
            let got = try table.lookup(Array(key.utf8)).map { String(decoding: $0, as: UTF8.self) }
            if got != expected { mismatches.append("\(key): got \(got ?? "nil"), expected \(expected ?? "nil")") }
            if expected != nil { found += 1 }
        }
        #expect(mismatches.isEmpty, "\(mismatches.count) keys differ, first: \(mismatches.prefix(3))")
        #expect(found > 100, "keys that matched: \(found)")
    }

    @Test("pattern corner cases", arguments: [
        ("10.0.0.0/8", "ok"), ("10.0.0.0/256", "non-null host address bits in \"10.0.0.0/256\", perhaps you should use \"0.0.0.0/0\" instead"),
        ("0.0.0.0/256", "ok"), ("10.1.0.0/272", "ok"), ("10.1.2.3/99999999999999999999", "bad mask length in \"10.1.2.3/99999999999999999999\""),
        ("10.1.2.0/4294967320", "ok"), ("10.1.2.3/", "bad mask value in \"10.1.2.3/\""),
        ("[10.1.2.0/8]/24", "bad network value in \"10.1.2.0/8/24\""), ("[a]b]", "garbage after \"[a]\""),
        ("[1234", "missing ']' character after \"[1234\""), ("010.1.2.3", "bad address pattern: \"010.1.2.3\""),
        ("::ffff:1.2.3.0/120", "ok"), ("ffff::1/16", "non-null host address bits in \"ffff::1/16\", perhaps you should use \"ffff::/16\" instead"),
        ("::1/129", "bad mask length in \"::1/129\""), ("[::1]/128", "ok"), ("[::1/128]", "ok"),
    ])
    func patterns(text: String, expected: String) {
        switch CIDRPattern.parse(Array(text.utf8)) {
        case .success: #expect(expected == "ok", "\(text)")
        case .failure(let e): #expect(e.message == expected, "\(text)")
        }
    }

    @Test("lookup keys: inet_pton syntax only, up to the first NUL")
    func keys() {
        #expect(CIDRPattern.address(Array("10.1.2.3".utf8))?.value == UInt128(0x0A01_0203) << 96)
        #expect(CIDRPattern.address(Array("10.1.2.3\0junk".utf8))?.family == .ipv4)
        #expect(CIDRPattern.address(Array("::ffff:10.1.2.3".utf8))?.family == .ipv6)
        for bad in ["", "[10.1.2.3]", "10.1.2.3/32", "010.1.2.3", "10.1.2", " 10.1.2.3", "10.1.2.3 ", "fe80::1%lo",
                    String(repeating: "1", count: 100)] {
            #expect(CIDRPattern.address(Array(bad.utf8)) == nil, "\(bad)")
        }
    }
}
