import PostfixText
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A prefilter over the required literals of a table's rules: for a key, which rules' literals occur in
/// it. Each literal is indexed under its rarest 3-byte gram (rarest among all literals), so a key's grams
/// reach few candidates, which `memmem` then confirms.
///
/// Rules without a literal (and every rule when there are few) are always evaluated; a rule whose
/// literal is absent cannot match, so its outcome is known without running its expression.
struct LiteralFilter {
    // The lookup side is flat (ranges into shared arrays, no array per rule or per gram), so a lookup
    // retains nothing per candidate: threads that look up in one table at once do not contend for
    // reference counts.

    /// Every literal's bytes, one after the other.
    private var literalBytes: [UInt8] = []
    /// Per rule: where its literal is in `literalBytes` (count -1: no literal) and whether it is
    /// matched against the lowercased key.
    private var spans: [(start: Int32, count: Int32, caseless: Bool)] = []
    /// gram → a range of `indexed`: the rules indexed under it, for case-sensitive and for caseless literals.
    private var exact: [UInt32: Range<Int32>] = [:]
    private var folded: [UInt32: Range<Int32>] = [:]
    private var indexed: [Int32] = []
    /// One bit per hashed gram of `exact` and of `folded`: a key's gram is looked up in the dictionary
    /// only when its bit is set, so most positions of a key cost a multiply and a load, not a hash.
    private var exactBits: [UInt64] = []
    private var foldedBits: [UInt64] = []
    /// Whether any literal is matched against the lowercased key.
    private(set) var needsLowered = false
    /// Rules with a 2-byte literal, checked directly.
    private var short: [Int32] = []
    /// Whether any rule has a literal.
    private(set) var isUseful = false
    /// Bit set of rules that have a literal (the others are always evaluated).
    private(set) var hasLiteral: [UInt64] = []

    init() {}

    init(_ perRule: [(literal: [UInt8], caseless: Bool)?]) {
        let literals = perRule.map { $0.map { (bytes: $0.literal, caseless: $0.caseless) } }
        hasLiteral = [UInt64](repeating: 0, count: (perRule.count + 63) / 64)
        var frequency: [UInt32: Int] = [:]
        for entry in literals {
            guard let entry, entry.bytes.count >= 3 else { continue }
            var seen = Set<UInt32>()
            for i in 0...(entry.bytes.count - 3) { seen.insert(Self.gram(entry.bytes, i)) }
            for g in seen { frequency[g, default: 0] += 1 }
        }
        var exactLists: [UInt32: [Int32]] = [:], foldedLists: [UInt32: [Int32]] = [:]
        for (index, entry) in literals.enumerated() {
            guard let entry else {
                spans.append((0, -1, false))
                continue
            }
            spans.append((Int32(literalBytes.count), Int32(entry.bytes.count), entry.caseless))
            literalBytes.append(contentsOf: entry.bytes)
            hasLiteral[index >> 6] |= 1 << UInt64(index & 63)
            isUseful = true
            if entry.bytes.count < 3 {
                short.append(Int32(index))
                continue
            }
            var best = Self.gram(entry.bytes, 0)
            var bestCount = Int.max
            for i in 0...(entry.bytes.count - 3) {
                let g = Self.gram(entry.bytes, i)
                let count = frequency[g] ?? 0
                if count < bestCount { best = g; bestCount = count }
            }
            if entry.caseless { foldedLists[best, default: []].append(Int32(index)) } else { exactLists[best, default: []].append(Int32(index)) }
        }
        exactBits = [UInt64](repeating: 0, count: Self.bitWords)
        foldedBits = [UInt64](repeating: 0, count: Self.bitWords)
        for (g, rules) in exactLists {
            exact[g] = Int32(indexed.count)..<Int32(indexed.count + rules.count)
            indexed.append(contentsOf: rules)
            let h = Self.bit(g)
            exactBits[h >> 6] |= 1 << UInt64(h & 63)
        }
        for (g, rules) in foldedLists {
            folded[g] = Int32(indexed.count)..<Int32(indexed.count + rules.count)
            indexed.append(contentsOf: rules)
            let h = Self.bit(g)
            foldedBits[h >> 6] |= 1 << UInt64(h & 63)
        }
        needsLowered = !foldedLists.isEmpty || spans.contains { $0.count >= 0 && $0.caseless }
    }

    /// The gram bit sets have 2^16 bits (8 KB each).
    private static let bitWords = 1 << 10

    /// A gram's bit: the top 16 bits of a multiplicative hash.
    @inline(__always)
    static func bit(_ g: UInt32) -> Int { Int((g &* 0x9E37_79B1) >> 16) }

    /// Whether `n` occurs in `h` (first byte by memchr, the rest by memcmp).
    static func contains(_ h: UnsafeRawBufferPointer, _ n: UnsafeRawBufferPointer) -> Bool {
        guard n.count > 0 else { return true }
        guard n.count <= h.count, let hb = h.baseAddress, let nb = n.baseAddress else { return false }
        let first = Int32(n[0])
        var offset = 0
        let last = h.count - n.count
        while offset <= last {
            guard let hit = memchr(hb + offset, first, last - offset + 1) else { return false }
            let at = hb.distance(to: UnsafeRawPointer(hit))
            if memcmp(hb + at, nb, n.count) == 0 { return true }
            offset = at + 1
        }
        return false
    }

    @inline(__always)
    static func gram(_ b: [UInt8], _ i: Int) -> UInt32 {
        UInt32(b[i]) << 16 | UInt32(b[i + 1]) << 8 | UInt32(b[i + 2])
    }

    @inline(__always)
    static func gram(_ b: UnsafeRawBufferPointer, _ i: Int) -> UInt32 {
        UInt32(b[i]) << 16 | UInt32(b[i + 1]) << 8 | UInt32(b[i + 2])
    }

    /// Mark in `present` (one bit per rule, cleared by the caller) every rule whose literal occurs in `key`.
    /// `lowered` is the key ASCII-lowercased (it may be empty when no literal is caseless).
    func mark(_ key: UnsafeRawBufferPointer, lowered: UnsafeRawBufferPointer, into present: UnsafeMutableBufferPointer<UInt64>) {
        literalBytes.withUnsafeBytes { bytes in
            spans.withUnsafeBufferPointer { spans in
                indexed.withUnsafeBufferPointer { indexed in
                    do {
                        do {
                            func confirm(_ index: Int32, _ subject: UnsafeRawBufferPointer) {
                                let i = Int(index)
                                let span = spans[i]
                                guard span.count >= 0 else { return }
                                let literal = UnsafeRawBufferPointer(rebasing: bytes[Int(span.start)..<Int(span.start + span.count)])
                                if Self.contains(subject, literal) { present[i >> 6] |= 1 << UInt64(i & 63) }
                            }
                            func scan(_ subject: UnsafeRawBufferPointer, _ index: [UInt32: Range<Int32>], _ bits: UnsafeBufferPointer<UInt64>) {
                                guard subject.count >= 3, !index.isEmpty, let p = subject.baseAddress else { return }
                                let bytes = p.assumingMemoryBound(to: UInt8.self)
                                var g = UInt32(bytes[0]) << 8 | UInt32(bytes[1])
                                for i in 2..<subject.count {
                                    g = (g << 8 | UInt32(bytes[i])) & 0xFF_FFFF
                                    let h = Self.bit(g)
                                    guard bits[h >> 6] & (1 << UInt64(h & 63)) != 0 else { continue }
                                    if let rules = index[g] {
                                        for r in rules { confirm(indexed[Int(r)], subject) }
                                    }
                                }
                            }
                            exactBits.withUnsafeBufferPointer { scan(key, exact, $0) }
                            foldedBits.withUnsafeBufferPointer { scan(lowered, folded, $0) }
                            for r in short where spans[Int(r)].count >= 0 {
                                confirm(r, spans[Int(r)].caseless ? lowered : key)
                            }
                        }
                    }
                }
            }
        }
    }
}
