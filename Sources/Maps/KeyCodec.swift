/// The on-disk key and value rules shared by the indexed-file types: ASCII folding of keys and the
/// trailing-NUL convention (`DICT_FLAG_TRY1NULL` / `TRY0NULL`).
///
/// Linux Postfix writes keys and values with one trailing NUL. A reader that was not told which form
/// to use tries with the NUL first, then without, and pins the table to the first form that matched.
public struct KeyCodec: Sendable {
    /// The table's flags; lookups narrow the NUL mode once a form has matched.
    public private(set) var flags: DictFlags

    public init(flags: DictFlags) {
        var flags = flags
        if flags.isDisjoint(with: .tryBothNul) { flags.formUnion(.tryBothNul) }
        self.flags = flags
    }

    /// The key as stored: ASCII-lowercased under `.foldFixed`.
    @inline(__always)
    public func folded(_ key: [UInt8]) -> [UInt8] {
        flags.contains(.foldFixed) ? CaseFolding.asciiLowercased(key) : key
    }

    /// The forms to try for a lookup or delete, most likely first.
    public func probeForms(_ key: [UInt8]) -> [(bytes: [UInt8], withNul: Bool)] {
        let base = folded(key)
        var forms: [(bytes: [UInt8], withNul: Bool)] = []
        if flags.contains(.tryWithNul) { forms.append((base + [0], true)) }
        if flags.contains(.tryWithoutNul) { forms.append((base, false)) }
        return forms
    }

    /// Remember which form matched, so later lookups try only that one.
    public mutating func pin(withNul: Bool) {
        flags.subtract(withNul ? .tryWithoutNul : .tryWithNul)
    }

    /// Key and value as written by an update. An undecided table settles on the Linux default: with NUL.
    public mutating func encodeForUpdate(_ key: [UInt8], _ value: [UInt8],
                                         options: RecordOptions = .standard) -> (key: [UInt8], value: [UInt8]) {
        let k = options.fold ? folded(key) : key
        if let nul = options.trailingNul { return nul ? (k + [0], value + [0]) : (k, value) }
        if flags.isSuperset(of: .tryBothNul) { flags.subtract(.tryWithoutNul) }
        if flags.contains(.tryWithNul) { return (k + [0], value + [0]) }
        return (k, value)
    }

    /// The duplicate policy for one record.
    public func policy(_ options: RecordOptions) -> DuplicatePolicy {
        options.duplicatePolicy ?? flags.duplicatePolicy
    }

    /// Bytes read from disk as Postfix sees them: a C string, cut at the first NUL.
    @inline(__always)
    public static func cString<C: Collection>(_ bytes: C) -> [UInt8] where C.Element == UInt8 {
        if let nul = bytes.firstIndex(of: 0) { return Array(bytes[..<nul]) }
        return Array(bytes)
    }
}
