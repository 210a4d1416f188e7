import PostfixText
/// The member tables of `unionmap:{type:name, ...}` and `pipemap:{type:name, ...}`, opened in order
/// through the caller's registry (Postfix's `dict_union_open`/`dict_pipe_open`).
struct CompositeMembers {
    /// The members in the order written; a name given twice shares one table, as Postfix's shared
    /// handles do.
    let tables: [any LookupTable]
    /// Each distinct table once, for closing.
    let distinct: [any LookupTable]
    /// Whether the first member folds its keys behind the UTF-8 layer: the composite's own UTF-8 layer
    /// does the same, as Postfix takes a composite's key class from its first member.
    let firstFolds: Bool

    /// Split `name` and open each member. Errors: `bad syntax: "TYPE:NAME"; need "TYPE:{type:name...}"`,
    /// `TYPE:NAME map requires O_RDONLY access mode`, or the member's own open error.
    init(type: String, name: String, request: OpenRequest) throws(MapError) {
        guard request.mode == .readOnly else {
            throw .usage("\(type):\(name) map requires O_RDONLY access mode")
        }
        let syntax = MapError.configuration("bad syntax: \"\(type):\(name)\"; need \"\(type):{type:name...}\"")
        let bytes = Array(name.utf8)
        let length = BraceText.balancedLength(bytes)
        guard length > 2, length == bytes.count else { throw syntax }
        let specs = BraceText.tokens(String(decoding: bytes[1..<(length - 1)], as: UTF8.self))
        guard !specs.isEmpty else { throw syntax }
        guard let opener = request.opener else {
            throw .configuration("\(type):\(name): no table opener for the member tables")
        }
        var tables: [any LookupTable] = []
        var distinct: [any LookupTable] = []
        var byName: [String: any LookupTable] = [:]
        do throws(MapError) {
            for spec in specs {
                // Members are checked one by one as they are opened, so an earlier member's open error
                // wins over a later member's syntax error, as in Postfix.
                guard spec.contains(":") else { throw syntax }
                if let shared = byName[spec] {
                    tables.append(shared)
                    continue
                }
                let table = try opener(MapSpec(parsing: spec, defaultType: ""), request)
                byName[spec] = table
                tables.append(table)
                distinct.append(table)
            }
        } catch {
            for table in distinct { table.close() }
            throw error
        }
        self.tables = tables
        self.distinct = distinct
        self.firstFolds = (tables.first as? UTF8KeyTable)?.foldsKeys ?? false
    }

    /// Whether every member allows concurrent lookups.
    var concurrentLookups: Bool { distinct.allSatisfy { $0.concurrentLookups } }

    /// Whether any member's lookups can wait.
    var lookupsCanWait: Bool { distinct.contains { $0.lookupsCanWait } }

    /// The files of every member, each once.
    var sourceFiles: [String] {
        var seen = Set<String>()
        return distinct.flatMap { $0.sourceFiles }.filter { seen.insert($0).inserted }
    }

    /// Close each distinct member.
    func close() {
        for table in distinct { table.close() }
    }
}
