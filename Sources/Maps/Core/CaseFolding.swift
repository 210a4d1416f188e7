import PostfixText
/// Key case folding as Postfix does it.
///
/// Postfix folds lookup keys with `casefold()` (util/casefold.c): all-ASCII
/// keys, or any key when UTF-8 support is off, go through `lowercase()`
/// (A-Z -> a-z only); other keys go through ICU
/// `ucasemap_utf8FoldCase(csm("en_US"), U_FOLD_CASE_DEFAULT)`, which applies
/// the Unicode full case folding (CaseFolding.txt status C + F, no Turkic T
/// mappings) one code point at a time and copies ill-formed UTF-8 bytes
/// through unchanged.
///
/// There is no ICU here. The full case folding of a code point is derived from
/// the Swift standard library's full case mappings (`Unicode.Scalar.Properties`):
///
///     fold(c) = lower(upper(lower(c)))
///
/// with two exceptions: U+0131 (dotless i), which only has a Turkic (status T)
/// folding and is left alone, and Cherokee, which folds to the UPPERCASE
/// letters (for stability: Cherokee was uppercase-only before Unicode 8). This
/// yields exactly the C+F mappings, including the ones where folding differs
/// from lowercasing: U+00DF and U+1E9E -> "ss", U+017F -> "s", U+03C2 ->
/// U+03C3, U+0345 and U+1FBE -> U+03B9, U+00B5 -> U+03BC, the Greek symbol
/// variants (U+03D0 -> U+03B2 ...), the Latin and Armenian ligatures (U+FB00 ->
/// "ff" ...), U+0149 -> U+02BC "n", U+01F0 -> "j" U+030C, U+0130 -> "i" U+0307,
/// and the Greek letters with ypogegrammeni / prosgegrammeni (U+1F88 -> U+1F00
/// U+03B9, U+1FB7 -> U+03B1 U+0342 U+03B9 ...). (`changesWhenCaseFolded` is no
/// use as a filter: it is defined on the NFD form and is false for U+01F0,
/// U+0390, U+1FBE and others that do fold.)
///
/// The Swift runtime's Unicode data may be newer than the ICU that Postfix is
/// linked with. To reproduce the reference system (Debian 12: Postfix 3.7 with
/// ICU 72, i.e. Unicode 15.0) code points assigned after
/// `foldingUnicodeVersion` are not folded.
///
/// Checked against that Postfix (`postmap -s texthash:`, smtputf8 on) for
/// every code point U+0000...U+10FFFF except the surrogates: identical.
///
/// The folding table is computed once (about 3 ms), lazily and thread-safely,
/// on the first key that is not all-ASCII.
public enum CaseFolding {
    /// Append `bytes` to `out`, ASCII-lowercased (no allocation when `out` has room).
    public static func appendASCIILowercased(_ bytes: [UInt8], to out: inout [UInt8]) {
        let base = out.count
        out.append(contentsOf: bytes)
        out.withUnsafeMutableBufferPointer { buf in
            var i = base
            let n = buf.count
            while i < n {
                let b = buf[i]
                if b &- 0x41 < 26 { buf[i] = b | 0x20 }
                i += 1
            }
        }
    }

    /// ASCII-only lowercase (Postfix `lowercase()`): bytes A-Z become a-z, all other bytes are unchanged.
    public static func asciiLowercased(_ bytes: [UInt8]) -> [UInt8] {
        // Find the first uppercase byte; most keys are already lowercase and
        // are then returned without copying.
        let first: Int? = bytes.withUnsafeBufferPointer { src -> Int? in
            var i = 0
            let n = src.count
            while i < n {
                if src[i] &- 0x41 < 26 { return i }
                i += 1
            }
            return nil
        }
        guard let start = first else { return bytes }
        var result = bytes
        result.withUnsafeMutableBufferPointer { buf in
            var i = start
            let n = buf.count
            while i < n {
                let b = buf[i]
                if b &- 0x41 < 26 { buf[i] = b | 0x20 }
                i += 1
            }
        }
        return result
    }

    /// Full Unicode case folding exactly as Postfix 3.7 `casefold()` with ICU `ucasemap_utf8FoldCase(csm "en_US", U_FOLD_CASE_DEFAULT)`:
    /// all-ASCII input takes the ASCII path; otherwise C+F full case folding; bytes that are not valid UTF-8 are copied verbatim.
    public static func unicodeFolded(_ bytes: [UInt8]) -> [UInt8] {
        if isASCII(bytes) { return asciiLowercased(bytes) }
        return bytes.withUnsafeBufferPointer { foldUTF8($0) } ?? bytes
    }

    /// Postfix `valid_utf8_string()` (util/valid_utf8_string.c + parse_utf8_char.h): RFC 3629 rules (no overlongs, no surrogates, max U+10FFFF). Empty is valid.
    public static func isValidUTF8(_ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBufferPointer { src -> Bool in
            let n = src.count
            var i = 0
            while i < n {
                // Skip ASCII eight bytes at a time.
                if src[i] < 0x80 {
                    i += 1
                    if let base = src.baseAddress {
                        let raw = UnsafeRawPointer(base)
                        while i &+ 8 <= n,
                              raw.loadUnaligned(fromByteOffset: i, as: UInt64.self) & asciiMask == 0 {
                            i &+= 8
                        }
                    }
                    continue
                }
                let len = utf8SequenceLength(src, at: i)
                if len == 0 { return false }
                i &+= len
            }
            return true
        }
    }

    /// true when every byte < 0x80.
    public static func isASCII(_ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBufferPointer { src -> Bool in
            guard let base = src.baseAddress else { return true }
            let n = src.count
            let raw = UnsafeRawPointer(base)
            var i = 0
            var acc: UInt64 = 0
            while i &+ 32 <= n {
                acc |= raw.loadUnaligned(fromByteOffset: i, as: UInt64.self)
                    | raw.loadUnaligned(fromByteOffset: i &+ 8, as: UInt64.self)
                    | raw.loadUnaligned(fromByteOffset: i &+ 16, as: UInt64.self)
                    | raw.loadUnaligned(fromByteOffset: i &+ 24, as: UInt64.self)
                if acc & asciiMask != 0 { return false }
                i &+= 32
            }
            while i &+ 8 <= n {
                acc |= raw.loadUnaligned(fromByteOffset: i, as: UInt64.self)
                i &+= 8
            }
            if acc & asciiMask != 0 { return false }
            var tail: UInt8 = 0
            while i < n {
                tail |= src[i]
                i &+= 1
            }
            return tail < 0x80
        }
    }
}

// MARK: - UTF-8 decoding

private let asciiMask: UInt64 = 0x8080_8080_8080_8080

/// The length (2...4) of the well-formed UTF-8 multi-byte sequence starting at
/// `i` under the rules of Postfix `parse_utf8_char()` (RFC 3629), or 0 when the
/// bytes at `i` do not start one. `src[i]` must be >= 0x80.
@inline(__always)
private func utf8SequenceLength(_ src: UnsafeBufferPointer<UInt8>, at i: Int) -> Int {
    let n = src.count
    let c0 = src[i]
    if c0 <= 0xDF {
        // Two bytes; 0x80...0xC1 are trail bytes or over-long leads.
        if c0 < 0xC2 || i &+ 1 >= n || src[i &+ 1] & 0xC0 != 0x80 { return 0 }
        return 2
    } else if c0 <= 0xEF {
        // Three bytes; E0 needs A0...BF (no over-longs), ED needs 80...9F (no surrogates).
        if i &+ 2 >= n { return 0 }
        let c1 = src[i &+ 1]
        let lo: UInt8 = c0 == 0xE0 ? 0xA0 : 0x80
        let hi: UInt8 = c0 == 0xED ? 0x9F : 0xBF
        if c1 < lo || c1 > hi || src[i &+ 2] & 0xC0 != 0x80 { return 0 }
        return 3
    } else if c0 <= 0xF4 {
        // Four bytes; F0 needs 90...BF (no over-longs), F4 needs 80...8F (max U+10FFFF).
        if i &+ 3 >= n { return 0 }
        let c1 = src[i &+ 1]
        let lo: UInt8 = c0 == 0xF0 ? 0x90 : 0x80
        let hi: UInt8 = c0 == 0xF4 ? 0x8F : 0xBF
        if c1 < lo || c1 > hi || src[i &+ 2] & 0xC0 != 0x80 || src[i &+ 3] & 0xC0 != 0x80 { return 0 }
        return 4
    }
    return 0
}

/// Folds UTF-8 text that contains at least one non-ASCII byte.
///
/// Like ICU's UTF-8 case mapping loop: ASCII bytes are lowercased, well-formed
/// sequences are replaced by their full case folding, and every byte that is
/// not part of a well-formed sequence is copied unchanged. (ICU skips the
/// maximal ill-formed subpart at once; as all of it is copied verbatim and it
/// never contains the start of a well-formed sequence, copying one byte at a
/// time gives the same output.)
///
/// Returns nil when the text folds to itself. Otherwise a first pass sizes the
/// result exactly and a second pass writes it.
private func foldUTF8(_ src: UnsafeBufferPointer<UInt8>) -> [UInt8]? {
    let table = foldTable
    let n = src.count

    // Pass 1: does anything change, and how long is the result?
    var outCount = n
    var changed = false
    var i = 0
    while i < n {
        let c0 = src[i]
        if c0 < 0x80 {
            if c0 &- 0x41 < 26 { changed = true }
            i &+= 1
            continue
        }
        let len = utf8SequenceLength(src, at: i)
        if len == 0 {
            i &+= 1
            continue
        }
        let entry = table.entry(for: decodeScalar(src, at: i, length: len))
        if entry != 0 {
            changed = true
            outCount = outCount &- len &+ FoldTable.length(of: entry)
        }
        i &+= len
    }
    if !changed { return nil }

    // Pass 2: write the result.
    return [UInt8](unsafeUninitializedCapacity: outCount) { out, initializedCount in
        var o = 0
        var i = 0
        while i < n {
            let c0 = src[i]
            if c0 < 0x80 {
                out[o] = c0 &- 0x41 < 26 ? c0 | 0x20 : c0
                o &+= 1
                i &+= 1
                continue
            }
            var len = utf8SequenceLength(src, at: i)
            var entry: UInt32 = 0
            if len == 0 {
                len = 1
            } else {
                entry = table.entry(for: decodeScalar(src, at: i, length: len))
            }
            if entry != 0 {
                o = table.copy(entry, to: out, at: o)
            } else {
                for k in 0 ..< len { out[o &+ k] = src[i &+ k] }
                o &+= len
            }
            i &+= len
        }
        initializedCount = o
    }
}

/// The code point of the well-formed `length`-byte sequence at `i`.
@inline(__always)
private func decodeScalar(_ src: UnsafeBufferPointer<UInt8>, at i: Int, length: Int) -> UInt32 {
    let c0 = UInt32(src[i])
    let c1 = UInt32(src[i &+ 1] & 0x3F)
    switch length {
    case 2:
        return (c0 & 0x1F) << 6 | c1
    case 3:
        return (c0 & 0x0F) << 12 | c1 << 6 | UInt32(src[i &+ 2] & 0x3F)
    default:
        return (c0 & 0x07) << 18 | c1 << 12 | UInt32(src[i &+ 2] & 0x3F) << 6
            | UInt32(src[i &+ 3] & 0x3F)
    }
}

// MARK: - Folding table

/// The Unicode version of the case folding data to reproduce: that of ICU 72,
/// which Debian 12's Postfix 3.7 links with. Code points assigned later are
/// left unchanged, as that ICU does.
private let foldingUnicodeVersion = (major: 15, minor: 0)

/// Code points at or above this have no case folding (the last ones are Adlam,
/// U+1E900...U+1E921).
private let foldTableLimit: UInt32 = 0x2_0000

/// The 128-code-point blocks below `foldTableLimit` that hold every code point
/// with `changesWhenCaseMapped` in Unicode 16.0 (a superset of what Unicode
/// 15.0 folds). Only these are scanned when the table is built: scanning all
/// 128K code points would cost about 10 ms.
private let casedBlocks: [Range<UInt32>] = [
    0x0000 ..< 0x0600, 0x1080 ..< 0x1100, 0x1380 ..< 0x1400, 0x1C80 ..< 0x2000,
    0x2100 ..< 0x2200, 0x2480 ..< 0x2500, 0x2C00 ..< 0x2D80, 0xA600 ..< 0xA800,
    0xAB00 ..< 0xAC00, 0xFB00 ..< 0xFB80, 0xFF00 ..< 0xFF80, 0x10400 ..< 0x10600,
    0x10C80 ..< 0x10E00, 0x11880 ..< 0x11900, 0x16E00 ..< 0x16F00, 0x1E900 ..< 0x1E980,
]

private let blockShift: UInt32 = 7
private let blockSize = 1 << 7

/// Computed once, on first use; global `let`s are initialised lazily and
/// thread-safely.
private let foldTable = FoldTable()

/// A two-stage lookup table from code point to its full case folding in UTF-8.
private struct FoldTable: Sendable {
    /// Block number for each `blockSize` code points below `foldTableLimit`;
    /// block 0 is all "folds to itself".
    private let stage1: [UInt16]
    /// Per code point: 0 = folds to itself, else an entry.
    private let stage2: [UInt32]
    /// The folded UTF-8 byte strings; an entry is `offset << 4 | length`.
    private let utf8: [UInt8]

    init() {
        var stage1 = [UInt16](repeating: 0, count: Int(foldTableLimit >> blockShift))
        var stage2 = [UInt32](repeating: 0, count: blockSize)
        var utf8: [UInt8] = []
        var block = [UInt32](repeating: 0, count: blockSize)

        for range in casedBlocks {
            for blockNumber in Int(range.lowerBound >> blockShift) ..< Int(range.upperBound >> blockShift) {
                var used = false
                for k in 0 ..< blockSize {
                    block[k] = 0
                    let cp = UInt32(blockNumber) << blockShift | UInt32(k)
                    guard cp >= 0x80, let scalar = Unicode.Scalar(cp),
                          let folded = fullCaseFolding(scalar)
                    else { continue }
                    let offset = utf8.count
                    for s in folded { utf8.append(contentsOf: UTF8.encode(s)!) }
                    block[k] = UInt32(offset) << 4 | UInt32(utf8.count - offset)
                    used = true
                }
                if used {
                    stage1[blockNumber] = UInt16(stage2.count / blockSize)
                    stage2.append(contentsOf: block)
                }
            }
        }
        self.stage1 = stage1
        self.stage2 = stage2
        self.utf8 = utf8
    }

    /// The entry for `cp`, 0 when it folds to itself.
    @inline(__always)
    func entry(for cp: UInt32) -> UInt32 {
        guard cp < foldTableLimit else { return 0 }
        let block = Int(stage1[Int(cp >> blockShift)])
        if block == 0 { return 0 }
        return stage2[block << blockShift | Int(cp & UInt32(blockSize - 1))]
    }

    /// The number of UTF-8 bytes of a non-zero entry.
    @inline(__always)
    static func length(of entry: UInt32) -> Int { Int(entry & 0xF) }

    /// Writes the bytes of a non-zero entry to `out` at `o`; returns the index after them.
    @inline(__always)
    func copy(_ entry: UInt32, to out: UnsafeMutableBufferPointer<UInt8>, at o: Int) -> Int {
        let offset = Int(entry >> 4)
        let count = Int(entry & 0xF)
        for k in 0 ..< count { out[o &+ k] = utf8[offset &+ k] }
        return o &+ count
    }
}

/// The C+F case folding of `scalar`, or nil when it folds to itself.
private func fullCaseFolding(_ scalar: Unicode.Scalar) -> [Unicode.Scalar]? {
    let v = scalar.value
    // U+0131 (dotless i) only has a Turkic (status T) folding, which
    // U_FOLD_CASE_DEFAULT does not apply; lower(upper(x)) would give "i".
    if v == 0x0131 { return nil }
    let properties = scalar.properties
    // Cheap pre-filter: a code point with neither a lowercase nor an uppercase
    // mapping folds to itself (the mappings below would be identities).
    guard properties.changesWhenCaseMapped else { return nil }
    guard let age = properties.age,
          age.major < foldingUnicodeVersion.major
          || (age.major == foldingUnicodeVersion.major && age.minor <= foldingUnicodeVersion.minor)
    else { return nil }

    let folded: [Unicode.Scalar]
    if (0x13A0 ... 0x13FD).contains(v) || (0xAB70 ... 0xABBF).contains(v) {
        // Cherokee folds to the capital letters: the small letters to their
        // uppercase, the capitals (U+13A0...U+13F5) to themselves.
        folded = Array(properties.uppercaseMapping.unicodeScalars)
    } else {
        let lowered = properties.lowercaseMapping.unicodeScalars
        let upper = lowered.flatMap { $0.properties.uppercaseMapping.unicodeScalars }
        folded = upper.flatMap { $0.properties.lowercaseMapping.unicodeScalars }
    }
    if folded.count == 1 && folded[0] == scalar { return nil }
    return folded
}
