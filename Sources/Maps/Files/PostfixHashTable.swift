import PostfixText
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The starting value of Postfix's FNV hash for this process: the FNV-1a offset basis, mixed with a random
/// seed unless `NORANDOMIZE` is set (Postfix's `hash_fnv`), so `-s` order of in-memory tables is as
/// unpredictable as Postfix's, and identical to it under `NORANDOMIZE`.
private let fnvBasis: UInt64 = {
    let basis: UInt64 = 0xcbf2_9ce4_8422_2325
    if getenv("NORANDOMIZE") != nil { return basis }
    return basis ^ UInt64.random(in: .min ... .max)
}()

/// An in-memory table of byte strings laid out as Postfix's `htable`: chained buckets, new entries at the
/// head of their chain, a table that doubles (plus one) when it holds as many entries as buckets. Only the
/// layout matters to users: it decides the order in which `postmap -s` lists `texthash:` and `inline:`
/// tables, and that order is Postfix's.
public struct PostfixHashTable: Sendable {
    private struct Entry: Sendable {
        var key: [UInt8]
        var value: [UInt8]
    }

    /// Each bucket's chain, head first.
    private var buckets: [[Entry]]
    /// The number of entries.
    public private(set) var count = 0

    /// An empty table of Postfix's initial size (13 buckets).
    public init() {
        buckets = Array(repeating: [], count: 13)
    }

    /// Postfix's variant of 64-bit FNV-1a: each byte is added plus one.
    @inline(__always)
    static func hash(_ key: [UInt8]) -> UInt64 {
        var h = fnvBasis
        for byte in key {
            h ^= UInt64(byte) &+ 1
            h = h &* 0x0000_0100_0000_01B3
        }
        return h
    }

    @inline(__always)
    private func bucket(_ key: [UInt8], size: Int) -> Int {
        Int(Self.hash(key) % UInt64(size))
    }

    /// The value stored under `key`.
    public func value(for key: [UInt8]) -> [UInt8]? {
        for entry in buckets[bucket(key, size: buckets.count)] where entry.key == key {
            return entry.value
        }
        return nil
    }

    /// Whether `key` is present.
    public func contains(_ key: [UInt8]) -> Bool { value(for: key) != nil }

    /// Store `value` under `key`: an existing entry keeps its place and gets the new value, a new one goes
    /// to the head of its chain (after growing the table if it is full, as `htable_enter` does).
    public mutating func set(_ key: [UInt8], _ value: [UInt8]) {
        let index = bucket(key, size: buckets.count)
        if let at = buckets[index].firstIndex(where: { $0.key == key }) {
            buckets[index][at].value = value
            return
        }
        if count >= buckets.count {
            grow()
        }
        buckets[bucket(key, size: buckets.count)].insert(Entry(key: key, value: value), at: 0)
        count += 1
    }

    /// Remove `key`; `false` when it was not present.
    @discardableResult
    public mutating func remove(_ key: [UInt8]) -> Bool {
        let index = bucket(key, size: buckets.count)
        guard let at = buckets[index].firstIndex(where: { $0.key == key }) else { return false }
        buckets[index].remove(at: at)
        count -= 1
        return true
    }

    /// Relink every entry into a table of twice the size plus one, walking the old buckets in order and
    /// each chain from its head, as `htable_grow` does (which reverses entries that share a new bucket).
    private mutating func grow() {
        var next = [[Entry]](repeating: [], count: (2 * buckets.count) | 1)
        for chain in buckets {
            for entry in chain {
                next[bucket(entry.key, size: next.count)].insert(entry, at: 0)
            }
        }
        buckets = next
    }

    /// Visit every entry in Postfix's sequence order: bucket by bucket, each chain from its head.
    public func forEach(_ body: ([UInt8], [UInt8]) throws(MapError) -> Void) throws(MapError) {
        for chain in buckets {
            for entry in chain {
                try body(entry.key, entry.value)
            }
        }
    }
}
