import PostfixText
/// `fail:NAME`: a table whose every operation fails with a temporary error (Postfix's `dict_fail.c`), for
/// testing how callers handle a table that is down. The name only labels messages. It can be "created"
/// (Postfix has a `mkmap` for it): an empty source succeeds, the first record fails.
public final class FailTable: LookupTable {
    /// The type name.
    public static let typeName = "fail"

    public var type: String { Self.typeName }
    public let name: String
    /// Updates and deletes fail as table errors only when opened for update; otherwise they are
    /// unsupported operations, as in Postfix.
    private let writable: Bool

    /// A table named `name`; any access mode is accepted.
    public init(name: String, request: OpenRequest) {
        self.name = name
        self.writable = request.mode != .readOnly
    }

    /// Postfix's `%m` with no system error: the text every failure ends with.
    static func failure(_ name: String, _ operation: String) -> MapError {
        .temporary("table \(typeName):\(name): \(operation) error: \(systemErrorText(0))")
    }

    public func lookup(_ key: [UInt8]) throws(MapError) -> [UInt8]? {
        throw Self.failure(name, "query")
    }

    public var concurrentLookups: Bool { true }

    public func update(_ key: [UInt8], _ value: [UInt8], options: RecordOptions) throws(MapError) -> UpdateOutcome {
        guard writable else { throw .notSupported("table \(type):\(name): update operation is not supported") }
        throw Self.failure(name, "write")
    }

    public func delete(_ key: [UInt8]) throws(MapError) -> Bool {
        guard writable else { throw .notSupported("table \(type):\(name): delete operation is not supported") }
        throw Self.failure(name, "delete")
    }

    public func forEach(_ body: ([UInt8], [UInt8]) throws(MapError) -> Void) throws(MapError) {
        throw Self.failure(name, "sequence")
    }

    /// A "build" of a fail table: nothing is written, and storing any record fails.
    public static func builder(_ name: String, _ request: OpenRequest) -> any TableBuilder {
        FailBuilder(name: name)
    }
}

/// The build side of `fail:`: every record put fails with `table fail:NAME: write error: ...`.
final class FailBuilder: TableBuilder, RecordSink {
    let name: String

    init(name: String) { self.name = name }

    var duplicateLabel: String { "\(FailTable.typeName):\(name)" }
    var dictName: String { name }
    /// No file is written.
    var temporaryPath: String { "" }

    func load(_ feed: (Bool, any RecordSink) throws -> Void) throws {
        try feed(false, self)
    }

    func put(_ key: [UInt8], _ value: [UInt8], options: RecordOptions) throws(MapError) -> UpdateOutcome {
        throw FailTable.failure(name, "write")
    }

    func commit() throws(MapError) {}
    func abort() {}
}
