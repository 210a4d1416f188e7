import ToolSupport
import PostfixText
import Maps
import MapBackends
import PostfixConfig
#if canImport(Glibc)
import Glibc
#endif

/// Moves a Postfix configuration off `hash:` and `btree:`: builds an `lmdb:` table for each (from its
/// source file with postmap or, for aliases, postalias; record for record from the `.db` file when there
/// is no source), then rewrites main.cf and master.cf with postconf's atomic edit. Every table is built
/// before any setting changes, main.cf is rewritten in one edit and master.cf one `-o` at a time, and
/// the old `.db` files stay: a failure at any point leaves the configuration naming tables that exist.
public struct Migrator {
    public let program: String
    public let directory: String?
    public let dryRun: Bool
    public let verbose: Bool
    let out = OutputBuffer()
    let messages: MessageWriter
    /// Reads main.cf and master.cf as postconf does (PostconfTool's `PostconfConfiguration`).
    let configuration: (String?) throws(Fatal) -> any MigrationConfiguration
    /// Runs postconf with these arguments (its atomic `-e` and `-P -e` edits); the exit status.
    let postconf: ([String]) -> Int32

    /// A migration of the configuration in `directory`: `configuration` reads it as postconf does and
    /// `postconf` edits it (postmap-migrate passes PostconfTool's).
    public init(program: String, directory: String?, dryRun: Bool, verbose: Bool,
                configuration: @escaping (String?) throws(Fatal) -> any MigrationConfiguration,
                postconf: @escaping ([String]) -> Int32) {
        self.program = program
        self.directory = directory
        self.dryRun = dryRun
        self.verbose = verbose
        self.configuration = configuration
        self.postconf = postconf
        messages = MessageWriter(program: program)
    }

    /// What happens to one table.
    enum Action: Equatable {
        case build(tool: String)
        case copy
        /// A cache that does not exist yet: its daemon creates the lmdb file.
        case leave
        /// Neither a source nor a `.db`: the settings that use it stay as they are.
        case missing
    }

    static func isRegularFile(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFREG
    }

    func action(_ table: DatabaseMigration.Table) -> Action {
        if !table.isCache, Self.isRegularFile(table.path) { return .build(tool: table.isAlias ? "postalias" : "postmap") }
        if Self.isRegularFile(table.path + ".db") { return .copy }
        return table.isCache ? .leave : .missing
    }

    func say(_ line: String) {
        out.write(line + "\n")
        out.flush()
    }

    /// Run; the exit status.
    public func run() -> Int32 {
        let plan: DatabaseMigration
        do {
            plan = try DatabaseMigration.plan(try configuration(directory))
        } catch {
            messages.fatal(error.message)
            return 1
        }
        guard !plan.edits.isEmpty else {
            say("\(plan.directory): nothing to migrate: main.cf and master.cf use no hash: or btree: table")
            return 0
        }
        var actions: [String: Action] = [:]
        for table in plan.tables { actions[table.path] = action(table) }
        let usable = plan.edits.filter { edit in edit.tables.allSatisfy { actions[$0] != .missing } }
        for table in plan.tables {
            switch actions[table.path] ?? .missing {
            case .build(let tool): say("build lmdb:\(table.path) from \(table.path) with \(tool)")
            case .copy: say("copy \(table.type):\(table.path) (\(table.path).db has no source file) to lmdb:\(table.path)")
            case .leave: say("leave lmdb:\(table.path) to the daemon that creates it (a cache)")
            case .missing: say("skip \(table.type):\(table.path): no source file and no \(table.path).db; the settings that use it stay")
            }
        }
        for edit in usable {
            say("\(edit.service.map { "master.cf: \($0)/" } ?? "main.cf: ")\(edit.name) = \(edit.value)")
        }
        if dryRun {
            say("dry run: nothing changed")
            return 0
        }
        // 1. Every table, before any setting names it.
        for table in plan.tables {
            switch actions[table.path] ?? .missing {
            case .build(let tool):
                guard spawn(tool, ["-c", plan.directory, "lmdb:\(table.path)"]) == 0 else {
                    messages.fatal("\(tool) lmdb:\(table.path) failed; main.cf and master.cf are unchanged")
                    return 1
                }
            case .copy:
                do throws(MapError) {
                    try copy(table)
                } catch {
                    messages.fatal("copy \(table.type):\(table.path) to lmdb:\(table.path): \(error.message); "
                        + "main.cf and master.cf are unchanged")
                    return 1
                }
            case .leave, .missing:
                break
            }
        }
        // 2. main.cf in one atomic edit, then master.cf one -o at a time.
        let main = usable.filter { $0.service == nil }.map { "\($0.name)=\($0.value)" }
        if !main.isEmpty {
            if verbose { say("postconf -e \(main.joined(separator: " "))") }
            guard postconf([program, "-c", plan.directory, "-e"] + main) == 0 else {
                messages.fatal("editing main.cf failed; the lmdb tables are built, main.cf and master.cf still use the Berkeley DB tables")
                return 1
            }
        }
        for edit in usable {
            guard let service = edit.service else { continue }
            let operand = "\(service)/\(edit.name)=\(edit.value)"
            if verbose { say("postconf -P -e \(operand)") }
            guard postconf([program, "-c", plan.directory, "-P", "-e", operand]) == 0 else {
                messages.fatal("editing master.cf (\(operand)) failed; the settings before it are migrated, it and "
                    + "those after it still use Berkeley DB tables, which are still there")
                return 1
            }
        }
        say("migrated \(plan.tables.count - plan.tables.filter { actions[$0.path] == .missing }.count) table(s) and "
            + "\(usable.count) setting(s); the old .db files are left in place")
        return 0
    }

    /// Copy every record of `TYPE:PATH.db` into a new `lmdb:PATH`, keys as stored (already folded), with
    /// Postfix's trailing NUL; the record counts must agree.
    func copy(_ table: DatabaseMigration.Table) throws(MapError) {
        let registry = MapBackends.registry
        let old = try registry.open(MapSpec(type: table.type, name: table.path),
                                    OpenRequest(mode: .readOnly, flags: [.lock, .tryWithNul, .tryWithoutNul]))
        var records: [([UInt8], [UInt8])] = []
        try old.forEach { k, v in records.append((k, v)) }
        old.close()
        let builder = try registry.builder(MapSpec(type: "lmdb", name: table.path),
                                           OpenRequest(mode: .readWriteCreate, flags: [.tryWithNul, .duplicateReplace, .bulkUpdate]))
        do {
            try builder.load { _, sink in
                for (k, v) in records { _ = try sink.put(k, v, options: RecordOptions(fold: false)) }
            }
            try builder.commit()
        } catch let error as MapError {
            builder.abort()
            throw error
        } catch {
            builder.abort()
            throw .temporary("\(error)")
        }
        let new = try registry.open(MapSpec(type: "lmdb", name: table.path), OpenRequest(mode: .readOnly, flags: [.lock]))
        var count = 0
        try new.forEach { _, _ in count += 1 }
        new.close()
        guard count == records.count else {
            throw .temporary("lmdb:\(table.path) has \(count) records, \(table.path).db has \(records.count)")
        }
    }

    /// Run one of this toolkit's tools (next to this program; else Postfix's in /usr/sbin) as its own
    /// process, so that it takes the source file's owner as postmap does without changing ours.
    func spawn(_ tool: String, _ arguments: [String]) -> Int32 {
        var path = "/usr/sbin/\(tool)"
        var buffer = [CChar](repeating: 0, count: 4096)
        let n = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        if n > 0 {
            let exe = String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
            if let slash = exe.lastIndex(of: "/") {
                let sibling = String(exe[..<slash]) + "/" + tool
                if access(sibling, X_OK) == 0 { path = sibling }
            }
        }
        if verbose { say("\(path) \(arguments.joined(separator: " "))") }
        let argv = ([path] + arguments).map { strdup($0) } + [nil]
        defer { for p in argv { free(p) } }
        var pid: pid_t = 0
        guard posix_spawn(&pid, path, nil, nil, argv, environ) == 0 else { return 127 }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 {
            if errno != EINTR { return 127 }
        }
        return (status & 0x7F) == 0 ? (status >> 8) & 0xFF : 128 + (status & 0x7F)
    }
}
