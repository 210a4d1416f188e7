import PostfixText
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// One table shared by many threads, that picks up a replaced file: what a map server holds for each
/// table it serves.
///
/// - **Threads.** Lookups may come from any number of threads at once. How they share handles is
///   `Sharing`: by default a table whose lookups are thread-safe (`concurrentLookups`: lmdb, regexp,
///   pcre, cidr, texthash, ...) is one handle for all threads, and any other (hash, btree) gets a
///   handle per thread that is looking up at that moment, from a pool (a handle serves one lookup
///   at a time; there are as many as there were concurrent lookups).
/// - **Change detection** (Postfix's `dict_changed`). The files the table read (`sourceFiles`:
///   `NAME.db`, `NAME.lmdb`, a rules file, a composite's members' files) are examined at most once
///   per `checkInterval` (0: before every lookup): a new inode (an atomic rebuild renamed over the
///   file), a new modification time or size (an update in place) opens the table again. One thread
///   does the reopen while the others go on with the old handles. New lookups then use the new
///   handles; lookups in flight finish on the old ones, which are closed when the last of them is
///   done. If the reopen fails (the file is missing, a rule file has a new syntax error that makes the
///   open fail), the old handles stay in use, a warning says so, and the next change is tried again.
/// - Within one lookup every answer comes from one version of each file; one thread never sees an
///   older version after a newer one.
public final class SharedTable: LookupTable, @unchecked Sendable {
    // `@unchecked Sendable`: the immutable properties are Sendable values; `current`, `observed` and
    // `closed` are read only with `state` held for reading and written only with it held for writing;
    // `nextCheck`, `reloading` and `reloadCount` are atomics; the handles inside a `Generation` are used
    // as its own comment explains.

    /// How the threads share handles.
    public enum Sharing: Sendable, Equatable {
        /// One handle; lookups take turns on it.
        case serialized
        /// A handle for each thread that is looking up at the moment, whatever the type.
        case handlePerThread
        /// One handle for all when the type's lookups are thread-safe, else a handle per thread.
        case automatic
    }

    /// Opens one handle of the table.
    public typealias Opener = @Sendable () throws(MapError) -> any LookupTable

    public let type: String
    public let name: String
    public let dictName: String
    /// Whether lookups can wait, as the first handle said (a reopened handle is the same type and members).
    public let lookupsCanWait: Bool
    public let duplicateLabel: String
    /// How handles are shared.
    public let sharing: Sharing
    /// Nanoseconds between two looks at the files.
    private let checkInterval: UInt64
    private let opener: Opener
    private let diagnostics: Diagnostics

    /// Every lookup reads `current` under it; a reopen or close writes.
    private let state = ReadWriteLock()
    private var current: Generation?
    /// The identities of the files as last examined (when a reopen was last attempted).
    private var observed: [FileIdentity?]
    private var closed = false
    /// With `missingFilesFail`: why lookups fail while a watched file is gone.
    private var missing: MapError?
    /// A deleted file makes lookups fail (temporary) instead of answering from the deleted version.
    public let missingFilesFail: Bool

    private let nextCheck: Atomic<UInt64>
    private let reloading = Atomic<Bool>(false)
    private let reloadCount = Atomic<Int>(0)

    /// Open `spec` through `registry` and share it. `checkInterval` is in milliseconds.
    public convenience init(_ spec: MapSpec, registry: MapRegistry, request: OpenRequest,
                            sharing: Sharing = .automatic, checkInterval: Int = 1000, missingFilesFail: Bool = false) throws(MapError) {
        try self.init(sharing: sharing, checkInterval: checkInterval, diagnostics: request.diagnostics,
                      missingFilesFail: missingFilesFail) { () throws(MapError) in
            try registry.open(spec, request)
        }
    }

    /// Share the table that `open` opens (called now, and again for each reopen and each extra handle).
    /// `checkInterval` is in milliseconds. With `missingFilesFail`, a watched file that is deleted (not
    /// replaced) makes lookups fail with a temporary error until it is back, as a Postfix daemon that
    /// restarts after the change cannot open the table; else the version opened before keeps answering.
    public init(sharing: Sharing = .automatic, checkInterval: Int = 1000, diagnostics: Diagnostics = .silent,
                missingFilesFail: Bool = false, open: @escaping Opener) throws(MapError) {
        self.sharing = sharing
        self.missingFilesFail = missingFilesFail
        self.checkInterval = UInt64(max(checkInterval, 0)) * 1_000_000
        self.opener = open
        self.diagnostics = diagnostics
        // The first handle tells which files to watch; they are examined again right after it is open,
        // so a file replaced meanwhile is caught at the first check.
        let handle = try open()
        let files = handle.sourceFiles
        let identities = FileIdentity.of(files)
        type = handle.type
        name = handle.name
        dictName = handle.dictName
        lookupsCanWait = handle.lookupsCanWait
        duplicateLabel = handle.duplicateLabel
        observed = identities
        current = Generation(handle, files: files, identities: identities, sharing: sharing)
        nextCheck = Atomic(monotonicNanoseconds() &+ self.checkInterval)
    }

    deinit { close() }

    /// Lookups are thread-safe.
    public var concurrentLookups: Bool { true }

    /// The files watched for changes.
    public var sourceFiles: [String] { state.reading { current?.files ?? [] } }

    /// How many times the table was opened again after a change.
    public var reloads: Int { reloadCount.load(ordering: .relaxed) }

    /// How many handles the current version has open (1 unless handles are per thread).
    public var handleCount: Int { state.reading { current?.handleCount ?? 0 } }

    public func lookup(_ key: [UInt8]) throws(MapError) -> [UInt8]? {
        checkIfDue()
        return try generation().lookup(key, table: self)
    }

    /// Visit every record of the current version, on a handle of its own while the walk lasts.
    public func forEach(_ body: ([UInt8], [UInt8]) throws(MapError) -> Void) throws(MapError) {
        try generation().forEach(body, table: self)
    }

    /// Begin a batch on the current version's handle (`LookupTable.beginBatch`), for a shared table that
    /// one thread uses alone (the map server's copies per event loop): its lookups then share one read
    /// transaction and one hold of the file lock until `endBatch()`. A reopen during the batch closes the
    /// old handle, which ends its batch; lookups after it run unbatched on the new handle. A table whose
    /// handles are per thread has no batch.
    public func beginBatch() throws(MapError) {
        guard let generation = state.reading({ current }), generation.mode != .pool else { return }
        try generation.beginBatch()
    }

    /// End the batch of `beginBatch()`, on the thread that began it.
    public func endBatch() {
        guard let generation = state.reading({ current }), generation.mode != .pool else { return }
        generation.endBatch()
    }

    /// Stop sharing: later lookups fail; lookups in flight finish, and the last one closes the handles.
    public func close() {
        let old: Generation? = state.writing {
            closed = true
            let old = current
            current = nil
            return old
        }
        _ = old  // released here, outside the lock
    }

    /// Examine the files now (whatever the interval) and reopen the table if one changed. Returns
    /// whether a new version was opened.
    @discardableResult
    public func reloadIfChanged() -> Bool {
        nextCheck.store(monotonicNanoseconds() &+ checkInterval, ordering: .relaxed)
        return reloadIfChangedNow()
    }

    // MARK: Versions

    private func generation() throws(MapError) -> Generation {
        let snapshot: (Generation?, MapError?) = state.reading { () -> (Generation?, MapError?) in (current, missing) }
        if let missing = snapshot.1 { throw missing }
        guard let generation = snapshot.0 else {
            throw .temporary("table \(type):\(name): table is closed")
        }
        return generation
    }

    /// Look at the files when the interval has passed; one thread per interval does it.
    @inline(__always)
    private func checkIfDue() {
        let now = monotonicNanoseconds()
        let due = nextCheck.load(ordering: .relaxed)
        guard now >= due else { return }
        guard nextCheck.compareExchange(expected: due, desired: now &+ checkInterval, ordering: .relaxed).exchanged else { return }
        reloadIfChangedNow()
    }

    /// Called by a handle-per-thread version that opened an extra handle from another version of the
    /// files: look at them on the next lookup.
    fileprivate func checkSoon() {
        nextCheck.store(0, ordering: .relaxed)
    }

    @discardableResult
    private func reloadIfChangedNow() -> Bool {
        // One reopen at a time; meanwhile the others go on with the version they have.
        guard !reloading.exchange(true, ordering: .acquiring) else { return false }
        defer { reloading.store(false, ordering: .releasing) }
        guard let (files, before) = state.reading({ () -> ([String], [FileIdentity?])? in
            guard let current, !closed else { return nil }
            return (current.files, observed)
        }), !files.isEmpty else { return false }
        // Examined before the open: a file replaced during the open is caught at the next check.
        let now = FileIdentity.of(files)
        guard now != before else { return false }
        if missingFilesFail, let gone = now.firstIndex(where: { $0 == nil }) {
            let error = MapError.temporary("table \(type):\(name): open \(files[gone]): No such file or directory", errno: ENOENT)
            state.writing {
                observed = now
                missing = error
            }
            diagnostics.warning("\(error.message); lookups fail until it is back")
            return false
        }
        let fresh: Generation
        do {
            let handle = try opener()
            let newFiles = handle.sourceFiles
            fresh = Generation(handle, files: newFiles, identities: newFiles == files ? now : FileIdentity.of(newFiles),
                               sharing: sharing)
        } catch {
            state.writing { observed = now }
            diagnostics.warning("table \(type):\(name): reopen after a change failed: \(error.message); still using the table opened before")
            return false
        }
        let old: Generation? = state.writing {
            observed = fresh.identities
            missing = nil
            guard !closed else { return nil }
            let old = current
            current = fresh
            return old
        }
        _ = old  // the last in-flight lookup on it closes its handles
        reloadCount.add(1, ordering: .relaxed)
        return true
    }

    /// The files and handles of one version of the table. The last reference closes the handles, so
    /// lookups that hold it finish on the handles they started with.
    ///
    /// `@unchecked Sendable`: `files`, `identities`, `mode` and `opener` are immutable; `idle` and
    /// `handles` are read and written only with `monitor` held. A handle is used by one thread at a time
    /// (a pool handle is taken out of `idle` for one operation; a serialized handle is used with
    /// `monitor` held), except a `.concurrent` handle, whose type declares `concurrentLookups`.
    fileprivate final class Generation: @unchecked Sendable {
        enum Mode { case serialized, pool, concurrent }

        let files: [String]
        let identities: [FileIdentity?]
        let mode: Mode
        private let monitor = Monitor()
        /// Pool handles not in use.
        private var idle: [any LookupTable] = []
        /// Every handle, for closing.
        private var handles: [any LookupTable]

        init(_ first: any LookupTable, files: [String], identities: [FileIdentity?], sharing: Sharing) {
            self.files = files
            self.identities = identities
            switch sharing {
            case .serialized: mode = .serialized
            case .handlePerThread: mode = .pool
            case .automatic: mode = first.concurrentLookups ? .concurrent : .pool
            }
            handles = [first]
            if mode == .pool { idle = [first] }
        }

        deinit {
            for handle in handles { handle.close() }
        }

        var handleCount: Int { monitor.withLock { handles.count } }

        func lookup(_ key: [UInt8], table: SharedTable) throws(MapError) -> [UInt8]? {
            switch mode {
            case .concurrent:
                return try handles[0].lookup(key)
            case .serialized:
                return try monitor.withLock { () throws(MapError) -> [UInt8]? in try handles[0].lookup(key) }
            case .pool:
                return try withPoolHandle(table) { (handle) throws(MapError) -> [UInt8]? in try handle.lookup(key) }
            }
        }

        func beginBatch() throws(MapError) {
            switch mode {
            case .concurrent: try handles[0].beginBatch()
            case .serialized: try monitor.withLock { () throws(MapError) in try handles[0].beginBatch() }
            case .pool: break
            }
        }

        func endBatch() {
            switch mode {
            case .concurrent: handles[0].endBatch()
            case .serialized: monitor.withLock { handles[0].endBatch() }
            case .pool: break
            }
        }

        func forEach(_ body: ([UInt8], [UInt8]) throws(MapError) -> Void, table: SharedTable) throws(MapError) {
            switch mode {
            case .concurrent, .serialized:
                try monitor.withLock { () throws(MapError) in try handles[0].forEach(body) }
            case .pool:
                try withPoolHandle(table) { (handle) throws(MapError) in try handle.forEach(body) }
            }
        }

        /// Run `body` with a handle no other thread is using: an idle one, or a new one.
        private func withPoolHandle<T>(_ table: SharedTable, _ body: (any LookupTable) throws(MapError) -> T) throws(MapError) -> T {
            if let handle = monitor.withLock({ idle.popLast() }) {
                defer { monitor.withLock { idle.append(handle); monitor.broadcast() } }
                return try body(handle)
            }
            // Open another, if the files are the ones this version read before and after the open;
            // a handle of a newer version would let a thread see that version and then an older one.
            let before = FileIdentity.of(files)
            if before == identities, let handle = try? table.opener() {
                if FileIdentity.of(files) == identities {
                    monitor.withLock { handles.append(handle) }
                    defer { monitor.withLock { idle.append(handle); monitor.broadcast() } }
                    return try body(handle)
                }
                handle.close()
            }
            if before != identities { table.checkSoon() }
            // No new handle (the files changed or went away): wait for one of this version's.
            let handle = monitor.withLock { () -> any LookupTable in
                while idle.isEmpty { monitor.wait() }
                return idle.removeLast()
            }
            defer { monitor.withLock { idle.append(handle); monitor.broadcast() } }
            return try body(handle)
        }
    }
}
