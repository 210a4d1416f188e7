import PostfixText
/// A read-only table held in memory (Postfix's `internal` dictionary as `texthash:` and `inline:` reuse
/// it): records loaded once at open, looked up by exact key, listed in Postfix's hash-table order.
public final class MemoryTable: LookupTable {
    public let type: String
    public let name: String
    private let entries: PostfixHashTable
    /// ASCII-fold lookup keys here; `false` when keys arrive folded (by the UTF-8 layer) or `-f` is given.
    private let foldLookups: Bool

    /// A table of `type` over `entries`, whose keys were stored folded when `foldLookups` is set.
    public init(type: String, name: String, entries: PostfixHashTable, foldLookups: Bool) {
        self.type = type
        self.name = name
        self.entries = entries
        self.foldLookups = foldLookups
    }

    /// The records never change after loading.
    public var concurrentLookups: Bool { true }
    /// A `texthash:` table read its file; an `inline:` table has none.
    public var sourceFiles: [String] { type == TextHash.typeName ? [name] : [] }

    /// The number of records.
    public var count: Int { entries.count }

    public func lookup(_ key: [UInt8]) throws(MapError) -> [UInt8]? {
        entries.value(for: foldLookups ? CaseFolding.asciiLowercased(key) : key)
    }

    public func lookupTraced(_ key: [UInt8]) throws(MapError) -> (value: [UInt8]?, detail: LookupDetail) {
        let stored = foldLookups ? CaseFolding.asciiLowercased(key) : key
        return (entries.value(for: stored), LookupDetail(keys: [stored]))
    }

    public func forEach(_ body: ([UInt8], [UInt8]) throws(MapError) -> Void) throws(MapError) {
        try entries.forEach(body)
    }
}
