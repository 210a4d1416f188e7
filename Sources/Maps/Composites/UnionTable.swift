import PostfixText
/// `unionmap:{type:name, ...}`: asks every member and joins the values found with `,` (Postfix's
/// `dict_union.c`). A member's error fails the lookup with that error.
public final class UnionTable: LookupTable {
    /// The type name.
    public static let typeName = "unionmap"

    public var type: String { Self.typeName }
    public let name: String
    private let members: CompositeMembers

    private init(name: String, members: CompositeMembers) {
        self.name = name
        self.members = members
    }

    /// Open the members of `name` through `request.opener`.
    public static func open(_ name: String, _ request: OpenRequest) throws(MapError) -> any LookupTable {
        let members = try CompositeMembers(type: typeName, name: name, request: request)
        return request.withUTF8Layer(UnionTable(name: name, members: members), fold: members.firstFolds)
    }

    /// The values of every member that has `key`, joined with `,`; `nil` when the joined text is empty.
    /// Empty values are joined like any other (`x` then empty gives `x,`), as Postfix joins them.
    public func lookup(_ key: [UInt8]) throws(MapError) -> [UInt8]? {
        var joined: [UInt8] = []
        for table in members.tables {
            guard let value = try table.lookup(key) else { continue }
            if !joined.isEmpty { joined.append(0x2C) }
            joined.append(contentsOf: value)
        }
        return joined.isEmpty ? nil : joined
    }

    public func lookupTraced(_ key: [UInt8]) throws(MapError) -> (value: [UInt8]?, detail: LookupDetail) {
        var joined: [UInt8] = []
        var steps: [TraceStep] = []
        for table in members.tables {
            let step = table.traceStep(key)
            steps.append(step)
            switch step.outcome {
            case .failed(let error): throw error
            case .found(let value):
                if !joined.isEmpty { joined.append(0x2C) }
                joined.append(contentsOf: value)
            case .notFound, .skipped: break
            }
        }
        return (joined.isEmpty ? nil : joined, LookupDetail(keys: [key], members: steps))
    }

    public func close() { members.close() }
    public var concurrentLookups: Bool { members.concurrentLookups }
    public var lookupsCanWait: Bool { members.lookupsCanWait }
    public var sourceFiles: [String] { members.sourceFiles }
}
