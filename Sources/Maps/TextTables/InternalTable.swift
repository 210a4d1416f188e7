import PostfixText
import Synchronization

/// `internal:NAME`: an in-memory table that starts empty (Postfix's `dict_ht`, which Postfix programs use
/// for tables they fill themselves). Lookups, updates, deletes and sequence work on the memory of this
/// process; nothing is written anywhere. Safe to share between threads.
public final class InternalTable: LookupTable {
    public let type = "internal"
    public let name: String
    private let fold: Bool
    private let records = Mutex(PostfixHashTable())

    /// An empty table named `name`; any access mode is accepted.
    public init(name: String, request: OpenRequest) {
        self.name = name
        self.fold = request.flags.contains(.foldFixed)
    }

    /// The catalog's opener. Postfix has no bulk-mode creator for it.
    public static let mapType = MapType(name: "internal", open: { name, request throws(MapError) in
        InternalTable(name: name, request: request)
    })

    /// Every access holds the mutex.
    public var concurrentLookups: Bool { true }

    private func stored(_ key: [UInt8]) -> [UInt8] { fold ? CaseFolding.asciiLowercased(key) : key }

    public func lookup(_ key: [UInt8]) throws(MapError) -> [UInt8]? {
        let k = stored(key)
        return records.withLock { $0.value(for: k) }
    }

    public func update(_ key: [UInt8], _ value: [UInt8], options: RecordOptions) throws(MapError) -> UpdateOutcome {
        let k = options.fold ? stored(key) : key
        // Postfix's dict_ht replaces an existing value silently.
        records.withLock { $0.set(k, value) }
        return .stored
    }

    public func delete(_ key: [UInt8]) throws(MapError) -> Bool {
        let k = stored(key)
        return records.withLock { $0.remove(k) }
    }

    public func forEach(_ body: ([UInt8], [UInt8]) throws(MapError) -> Void) throws(MapError) {
        let snapshot = records.withLock { $0 }
        try snapshot.forEach(body)
    }
}
