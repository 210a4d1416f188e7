import PostfixText
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Synchronization

/// The on-disk key and value rules shared by the indexed-file types: ASCII folding of keys and the
/// trailing-NUL convention (`DICT_FLAG_TRY1NULL` / `TRY0NULL`).
///
/// Linux Postfix writes keys and values with one trailing NUL. A reader that was not told which form
/// to use tries with the NUL first, then without, and pins the table to the first form that matched.
///
/// Lookups may run on several threads at once: the NUL mode is pinned atomically (the first form to
/// match wins, once), and each probe builds its key forms in its own stack buffer. Copies of a codec
/// share the pinned mode.
public struct KeyCodec: Sendable {
    /// The flags other than the NUL mode.
    @usableFromInline let fixedFlags: DictFlags
    /// The NUL mode, narrowed once a form has matched.
    @usableFromInline let nulMode: NulMode

    /// The table's flags; lookups narrow the NUL mode once a form has matched.
    public var flags: DictFlags {
        @inline(__always) get { fixedFlags.union(nulMode.current) }
    }

    public init(flags: DictFlags) {
        var nul = flags.intersection(.tryBothNul)
        if nul.isEmpty { nul = .tryBothNul }
        self.fixedFlags = flags.subtracting(.tryBothNul)
        self.nulMode = NulMode(nul)
    }

    /// The NUL bits of a table, shared by the threads that use it. Once pinned to one form it never
    /// changes again.
    @usableFromInline
    final class NulMode: Sendable {
        private let bits: Atomic<UInt32>

        init(_ mode: DictFlags) { bits = Atomic(mode.rawValue) }

        @usableFromInline
        var current: DictFlags { DictFlags(rawValue: bits.load(ordering: .relaxed)) }

        /// Narrow an undecided mode (both forms) to one form; a mode already decided stays as it is.
        @usableFromInline
        func pin(withNul: Bool) {
            let form = withNul ? DictFlags.tryWithNul : DictFlags.tryWithoutNul
            _ = bits.compareExchange(expected: DictFlags.tryBothNul.rawValue, desired: form.rawValue,
                                     ordering: .relaxed)
        }
    }

    /// The key as stored: ASCII-lowercased under `.foldFixed`.
    @inline(__always)
    public func folded(_ key: [UInt8]) -> [UInt8] {
        flags.contains(.foldFixed) ? CaseFolding.asciiLowercased(key) : key
    }

    /// Try the stored forms of `key` for a lookup or delete, most likely first, until `body` returns a
    /// result, and pin the table to the form that matched. `body` gets the bytes to use.
    @inlinable
    public func probe<T>(_ key: [UInt8], _ body: (UnsafeRawBufferPointer) -> Result<T?, MapError>) throws(MapError) -> T? {
        let count = key.count + 1
        let mode = nulMode.current
        let withNul = mode.contains(.tryWithNul), withoutNul = mode.contains(.tryWithoutNul)
        let fold = fixedFlags.contains(.foldFixed)
        // The key forms live in a buffer of this call (on the stack when small): no state is shared.
        let outcome: Result<(T, Bool)?, MapError> = withUnsafeTemporaryAllocation(of: UInt8.self, capacity: count) { buffer in
            key.withUnsafeBufferPointer { source in
                for i in 0..<source.count {
                    let c = source[i]
                    buffer[i] = fold && c &- 0x41 < 26 ? c | 0x20 : c
                }
            }
            buffer[count - 1] = 0
            let raw = UnsafeRawBufferPointer(buffer)
            if withNul {
                switch body(raw) {
                case .failure(let e): return .failure(e)
                case .success(let hit?): return .success((hit, true))
                case .success(nil): break
                }
            }
            if withoutNul {
                switch body(UnsafeRawBufferPointer(rebasing: raw[0..<(count - 1)])) {
                case .failure(let e): return .failure(e)
                case .success(let hit?): return .success((hit, false))
                case .success(nil): break
                }
            }
            return .success(nil)
        }
        switch outcome {
        case .failure(let e): throw e
        case .success(nil): return nil
        case .success(let (hit, nul)?):
            pin(withNul: nul)
            return hit
        }
    }

    /// The forms `probe` would try for `key` now, in order (folded, with the NUL first), for traces.
    public func forms(_ key: [UInt8]) -> [[UInt8]] {
        let k = folded(key)
        var out: [[UInt8]] = []
        if flags.contains(.tryWithNul) { out.append(k + [0]) }
        if flags.contains(.tryWithoutNul) { out.append(k) }
        return out
    }

    /// The forms a lookup tried, given the forms before it and the codec after it: a hit with the first
    /// form tried only that one; a hit pins the codec to the form that matched.
    public func triedForms(_ before: [[UInt8]], found: Bool) -> [[UInt8]] {
        guard found, before.count == 2 else { return before }
        return flags.contains(.tryWithNul) ? [before[0]] : before
    }

    /// Remember which form matched, so later lookups try only that one. Only the first pin counts.
    @inlinable
    public func pin(withNul: Bool) {
        nulMode.pin(withNul: withNul)
    }

    /// Key and value as written by an update. An undecided table settles on the Linux default: with NUL.
    public func encodeForUpdate(_ key: [UInt8], _ value: [UInt8],
                                options: RecordOptions = .standard) -> (key: [UInt8], value: [UInt8]) {
        var k = options.fold ? folded(key) : key
        var withNul: Bool
        if let nul = options.trailingNul {
            withNul = nul
        } else {
            pin(withNul: true)
            withNul = flags.contains(.tryWithNul)
        }
        guard withNul else { return (k, value) }
        var v = value
        k.append(0)
        v.append(0)
        return (k, v)
    }

    /// The duplicate policy for one record.
    public func policy(_ options: RecordOptions) -> DuplicatePolicy {
        options.duplicatePolicy ?? flags.duplicatePolicy
    }

    /// Bytes as Postfix sees them: a C string, cut at the first NUL.
    public static func cString(_ bytes: [UInt8]) -> [UInt8] {
        let cut: Int? = bytes.withUnsafeBytes { raw in
            guard let base = raw.baseAddress, let hit = memchr(base, 0, raw.count) else { return nil }
            return base.distance(to: UnsafeRawPointer(hit))
        }
        guard let cut else { return bytes }
        return Array(bytes[..<cut])
    }

    /// Bytes read from disk (C-owned memory) as Postfix sees them: copied, cut at the first NUL.
    public static func cString(_ raw: UnsafeRawBufferPointer) -> [UInt8] {
        guard let base = raw.baseAddress, raw.count > 0 else { return [] }
        let length = memchr(base, 0, raw.count).map { base.distance(to: UnsafeRawPointer($0)) } ?? raw.count
        return Array(UnsafeRawBufferPointer(start: base, count: length))
    }

    /// A slice as a C string.
    public static func cString(_ bytes: ArraySlice<UInt8>) -> [UInt8] {
        cString(Array(bytes))
    }
}
