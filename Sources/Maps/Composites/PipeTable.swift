import PostfixText
/// `pipemap:{type:name, ...}`: the key goes to the first member, each result is the key for the next, and
/// the last result is the answer (Postfix's `dict_pipe.c`). Any miss is a miss; a member's error fails
/// the lookup with that error.
public final class PipeTable: LookupTable {
    /// The type name.
    public static let typeName = "pipemap"

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
        return request.withUTF8Layer(PipeTable(name: name, members: members), fold: members.firstFolds)
    }

    public func lookup(_ key: [UInt8]) throws(MapError) -> [UInt8]? {
        var current = key
        for table in members.tables {
            // Postfix passes each result on as a C string.
            guard let value = try table.lookup(KeyCodec.cString(current)) else { return nil }
            current = value
        }
        return current
    }

    public func lookupTraced(_ key: [UInt8]) throws(MapError) -> (value: [UInt8]?, detail: LookupDetail) {
        var current = key
        var steps: [TraceStep] = []
        for table in members.tables {
            let step = table.traceStep(KeyCodec.cString(current))
            steps.append(step)
            switch step.outcome {
            case .failed(let error): throw error
            case .found(let value): current = value
            case .notFound, .skipped: return (nil, LookupDetail(keys: [key], members: steps))
            }
        }
        return (current, LookupDetail(keys: [key], members: steps))
    }

    public func close() { members.close() }
    public var concurrentLookups: Bool { members.concurrentLookups }
    public var lookupsCanWait: Bool { members.lookupsCanWait }
    public var sourceFiles: [String] { members.sourceFiles }
}
