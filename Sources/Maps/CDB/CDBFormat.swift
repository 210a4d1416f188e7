import PostfixText
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The constant-database layout that tinycdb (Debian's `postfix-cdb`) and djb's cdb write:
///
/// - a 2048-byte header of 256 `(position, slots)` pairs, one per hash table;
/// - the records from byte 2048 on, each `key length, value length, key, value`;
/// - then the 256 hash tables, each `slots` pairs of `(hash, record position)`, twice as many slots as
///   records, filled by linear probing from slot `(hash >> 8) % slots`; an empty slot has position 0.
///
/// Every number is a 32-bit little-endian unsigned integer. A key's table is `hash & 255`.
public enum CDBFormat {
    /// The size of the header, and the position of the first record.
    public static let headerSize = 2048

    /// djb's hash: `h = ((h << 5) + h) ^ c`, starting at 5381, modulo 2^32.
    @inlinable
    public static func hash(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
        var h: UInt32 = 5381
        for c in bytes { h = (h &<< 5 &+ h) ^ UInt32(c) }
        return h
    }

    /// The hash of a byte array.
    public static func hash(_ bytes: [UInt8]) -> UInt32 {
        bytes.withUnsafeBytes { hash($0) }
    }

    /// Append `value` as 4 little-endian bytes.
    @inline(__always)
    static func append(_ value: UInt32, to out: inout [UInt8]) {
        out.append(UInt8(truncatingIfNeeded: value))
        out.append(UInt8(truncatingIfNeeded: value >> 8))
        out.append(UInt8(truncatingIfNeeded: value >> 16))
        out.append(UInt8(truncatingIfNeeded: value >> 24))
    }

    /// Store `value` as 4 little-endian bytes at `offset`.
    @inline(__always)
    static func store(_ value: UInt32, at offset: Int, in buffer: UnsafeMutableRawBufferPointer) {
        buffer.storeBytes(of: value.littleEndian, toByteOffset: offset, as: UInt32.self)
    }

    /// Whether `count` bytes at `a` and `b` are equal (`memcmp`); no bytes are always equal.
    @inline(__always)
    static func equal(_ a: UnsafeRawPointer?, _ b: UnsafeRawPointer?, _ count: Int) -> Bool {
        guard count > 0 else { return true }
        guard let a, let b else { return false }
        return memcmp(a, b, count) == 0
    }

    /// The 4 little-endian bytes at `offset` of `buffer`.
    @inline(__always)
    static func load(_ buffer: UnsafeRawBufferPointer, _ offset: Int) -> UInt32 {
        UInt32(littleEndian: buffer.loadUnaligned(fromByteOffset: offset, as: UInt32.self))
    }

    /// The 4 little-endian bytes at `offset`.
    @inline(__always)
    static func load(_ base: UnsafeRawPointer, _ offset: Int) -> UInt32 {
        UInt32(littleEndian: base.loadUnaligned(fromByteOffset: offset, as: UInt32.self))
    }
}
