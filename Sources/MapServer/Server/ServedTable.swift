import Maps
import PostfixText
#if canImport(Glibc)
import Glibc
#endif

/// One name the server answers for: a list of shared tables searched in order, as Postfix searches a
/// `*_maps` parameter (one entry: one table).
public final class ServedTable: @unchecked Sendable {
    // `@unchecked Sendable`: `list` is built over tables opened in `init` (`MapList(opened:)`), so its
    // `find` reads the table array and never writes it; every table in it is a `SharedTable`, which is
    // safe to look up from any number of threads (its own comment proves it). `metrics` is Sendable.

    /// The name clients ask for (socketmap) or the listener names (tcp_table).
    public let name: String
    /// The `type:name` list, as configured.
    public let definition: String
    private let list: MapList
    private let shared: [SharedTable]
    let metrics: TableMetrics?
    /// Whether every table of the list answers from memory without a system call that can wait (no file
    /// reads under locks, no network, no name service): such lookups run on the connection's own
    /// thread; any other list goes to the server's thread pool.
    public let answersFromMemory: Bool

    /// Copies of the list for each event loop, when every table of it is memory-mapped (lmdb, cdb):
    /// one read handle per loop, whose lookups in one batch window of the loop share a read transaction
    /// and one hold of the file lock (`LoopTables`). Empty for any other list.
    let loopCopies: [LoopTables]

    /// Open every table of `definition` as a `SharedTable`, and `loops` copies of it if its tables are
    /// memory-mapped.
    init(name: String, definition: String, registry: MapRegistry, request: OpenRequest, checkInterval: Int,
         metrics: TableMetrics?, loops: Int = 0) throws(ServerConfigError) {
        self.name = name
        self.definition = definition
        self.metrics = metrics
        let specs = MapList.split(definition)
        guard !specs.isEmpty else { throw ServerConfigError("table \(name): no table in \"\(definition)\"") }
        var opened: [(spec: MapSpec, table: any LookupTable)] = []
        var shared: [SharedTable] = []
        for spec in specs {
            guard !spec.type.isEmpty else {
                for table in shared { table.close() }
                throw ServerConfigError("table \(name): \"\(spec.name)\": expected type:name")
            }
            do {
                let table = try SharedTable(spec, registry: registry, request: request, checkInterval: checkInterval,
                                            missingFilesFail: true)
                opened.append((spec, table))
                shared.append(table)
            } catch {
                for table in shared { table.close() }
                throw ServerConfigError("table \(name): \(error.message)")
            }
        }
        self.shared = shared
        self.list = MapList(title: name, opened: opened, diagnostics: request.diagnostics)
        // Whether a lookup can wait is the type's (the catalog row; a composite asks its members).
        self.answersFromMemory = shared.allSatisfy { !$0.lookupsCanWait }
        var copies: [LoopTables] = []
        if loops > 0, specs.allSatisfy({ MapCatalog.entry(named: $0.type)?.lookups == .mapped }) {
            for _ in 0..<loops {
                var tables: [(spec: MapSpec, table: any LookupTable)] = []
                var opened: [SharedTable] = []
                do {
                    for spec in specs {
                        let table = try SharedTable(spec, registry: registry, request: request, checkInterval: checkInterval,
                                                    missingFilesFail: true)
                        tables.append((spec, table))
                        opened.append(table)
                    }
                } catch {
                    for table in opened { table.close() }
                    for copy in copies { copy.close() }
                    for table in shared { table.close() }
                    throw ServerConfigError("table \(name): \(error.message)")
                }
                copies.append(LoopTables(list: MapList(title: name, opened: tables, diagnostics: request.diagnostics), shared: opened))
            }
        }
        self.loopCopies = copies
    }

    /// The copy that event loop `loop` looks up in alone, if the list has copies.
    func copy(forLoop loop: Int) -> LoopTables? {
        loop < loopCopies.count ? loopCopies[loop] : nil
    }

    /// Look `key` up in the list; a failure of any table is a temporary answer.
    ///
    /// An empty key is asked of each table, as Postfix's proxymap asks its table (`maps_find` would
    /// answer "not found" without asking): a table that cannot take it (lmdb: `MDB_BAD_VALSIZE`, which
    /// is fatal in Postfix's postmap) fails, and the client hears `TEMP`, never `NOTFOUND`.
    public func answer(_ key: [UInt8]) -> LookupAnswer {
        Self.answer(key, list: list, shared: shared)
    }

    /// Look `key` up in the copy of event loop (its batch open: `LoopTables.tick`).
    func answer(_ key: [UInt8], in copy: LoopTables) -> LookupAnswer {
        Self.answer(key, list: copy.list, shared: copy.shared)
    }

    private static func answer(_ key: [UInt8], list: MapList, shared: [SharedTable]) -> LookupAnswer {
        if key.isEmpty {
            for (index, table) in shared.enumerated() {
                do {
                    if let value = try table.lookup(key) { return .found(value) }
                } catch {
                    return .temporary("\(list.specs[index]): \(error.message)")
                }
            }
            return .notFound
        }
        switch list.find(key, traced: false).outcome {
        case .found(let value): return .found(value)
        case .notFound: return .notFound
        case .failed(let spec, let error, _): return .temporary("\(spec): \(error.message)")
        }
    }

    /// The files the tables read, for the ownership check.
    public var sourceFiles: [String] { shared.flatMap(\.sourceFiles) }

    /// How many times the tables were opened again after their files changed.
    public var reloads: Int { shared.reduce(0) { $0 + $1.reloads } }

    func close() {
        for table in shared { table.close() }
        for copy in loopCopies { copy.close() }
    }
}

/// One event loop's copy of a memory-mapped table list: used by that loop alone, so that the loop can
/// hold one read transaction and one hold of the file lock over every lookup of a short window: the
/// first lookup begins the batch (`LoopState.openBatch`) and a task scheduled `LoopState.batchWindow`
/// later ends it, so a writer that rewrites the file in place under its lock waits at most that long.
final class LoopTables: @unchecked Sendable {
    // `@unchecked Sendable`: created and closed with the directory, and in between used only on its
    // event loop (`tick`, and lookups and batches on `list` and `shared`; see `ServedTable.loopCopies`),
    // and closed only after that loop has ended its batch and let the directory go (`MapServer.install`).
    let list: MapList
    let shared: [SharedTable]
    /// The window of the loop whose batch is open on these tables (-1: none).
    var tick = -1

    init(list: MapList, shared: [SharedTable]) {
        self.list = list
        self.shared = shared
    }

    func beginBatch() {
        // A table whose batch cannot begin (its lock refused) is looked up without one.
        for table in shared { try? table.beginBatch() }
    }

    func endBatch() {
        for table in shared { table.endBatch() }
        tick = -1
    }

    func close() {
        for table in shared { table.close() }
    }
}
