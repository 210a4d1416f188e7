import PostfixText
/// One table type: how to open a table of it and, for indexed files, how to build one from scratch.
public struct MapType: Sendable {
    /// The type name (`hash`).
    public let name: String
    /// Open an existing table (or, in `.readWrite` mode, create it when missing).
    public let open: @Sendable (_ name: String, _ request: OpenRequest) throws(MapError) -> any LookupTable
    /// Start a from-scratch build that replaces the table atomically; `nil` for types that cannot be created.
    public let build: (@Sendable (_ name: String, _ request: OpenRequest) throws(MapError) -> any TableBuilder)?
    /// Whether keys of this type are fixed strings (folded under `.foldFixed`) rather than patterns.
    public let fixedKeys: Bool
    /// Whether the type puts the UTF-8 layer in front of its tables itself. The registry then passes it the
    /// caller's request unchanged: tables that fold keys while loading (`texthash`, `inline`) or whose
    /// key class comes from a member table (`unionmap`, `pipemap`) need the caller's `.foldFixed`.
    public let handlesUTF8: Bool

    public init(name: String, fixedKeys: Bool = true, handlesUTF8: Bool = false,
                open: @escaping @Sendable (String, OpenRequest) throws(MapError) -> any LookupTable,
                build: (@Sendable (String, OpenRequest) throws(MapError) -> any TableBuilder)? = nil) {
        self.name = name
        self.fixedKeys = fixedKeys
        self.handlesUTF8 = handlesUTF8
        self.open = open
        self.build = build
    }
}

/// Receives the records of a bulk build.
public protocol RecordSink: AnyObject {
    /// Store one record in the table being built, applying the duplicate policy unless `options` override it.
    func put(_ key: [UInt8], _ value: [UInt8], options: RecordOptions) throws(MapError) -> UpdateOutcome
    /// The label for duplicate warnings (`NAME.db`, `lmdb:NAME`).
    var duplicateLabel: String { get }
    /// The name in `TYPE:NAME` messages (see `LookupTable.dictName`).
    var dictName: String { get }
}

extension RecordSink {
    /// Store one record with the table's own rules.
    public func put(_ key: [UInt8], _ value: [UInt8]) throws(MapError) -> UpdateOutcome {
        try put(key, value, options: .standard)
    }
}

/// A from-scratch build into a new file next to the live table, swapped in with `rename(2)` on commit.
/// Readers see the old table until the commit and the whole new one after it, never a partial one.
public protocol TableBuilder: AnyObject {
    /// Feed every record. `feed` may be called again from the start (`replay == true`) when the backend
    /// must restart the load, as LMDB does after growing a full map; warnings should not be repeated then.
    func load(_ feed: (_ replay: Bool, _ sink: any RecordSink) throws -> Void) throws
    /// Flush the new file to disk and rename it over the live table.
    func commit() throws(MapError)
    /// Remove the new file; the live table is untouched.
    func abort()
    /// The file being written, to be removed if the process is interrupted.
    var temporaryPath: String { get }
}
