import PostfixText
import CLMDB
import Maps
#if canImport(Glibc)
import Glibc
#endif

/// An `lmdb:` table: `NAME.lmdb`, one LMDB file with Postfix 3.7's record layout (trailing NUL on Linux,
/// ASCII-folded keys), opened without an LMDB lock file and locked with `fcntl(2)` as Postfix does.
public final class LMDBTable: LookupTable {
    public let type = "lmdb"
    public let name: String
    /// The file path, `NAME.lmdb`.
    public let path: String
    private var environment: LMDBEnvironment?
    private var codec: KeyCodec
    private let flags: DictFlags
    private let diagnostics: Diagnostics
    private let readOnly: Bool
    /// The read transaction of a batch, under a shared lock held until `endBatch()`.
    private var batchTransaction: OpaquePointer?
    /// Updates retry this many times after growing a full map (Postfix: 2 per call).
    private static let apiRetryLimit = 2
    /// The process-wide lock of this file, beside its `fcntl` lock (see `SharedFileLock`); nil when the
    /// file could not be identified, and then the `fcntl` lock is taken directly.
    private var fileLock: SharedFileLock?

    public var duplicateLabel: String { "lmdb:\(name)" }
    /// Lookups run in read transactions of their own, beside each other (outside a batch).
    public var concurrentLookups: Bool { true }
    public var sourceFiles: [String] { [path] }

    init(name: String, request: OpenRequest) throws(MapError) {
        self.name = name
        self.path = name + ".lmdb"
        self.flags = request.flags
        self.codec = KeyCodec(flags: request.flags)
        self.diagnostics = request.diagnostics
        self.readOnly = request.mode == .readOnly
        // A table changed in place must be the file its name says (no symbolic or hard links).
        if !readOnly { try SafeOpen.checkBeforeWrite(path) }
        let env = try LMDBEnvironment(path: path, readOnly: readOnly, mapSize: request.settings.lmdbMapSize)
        if !readOnly {
            do {
                try SafeOpen.checkOpened(env.fd, path: path)
            } catch {
                env.close()
                throw error
            }
        }
        environment = env
        fileLock = SharedFileLock.register(fd: env.fd, style: .fcntl)
        var dbStat = stat(), srcStat = stat()
        if readOnly, flags.contains(.lock), fstat(env.fd, &dbStat) == 0, stat(name, &srcStat) == 0,
           srcStat.st_mtim.tv_sec > dbStat.st_mtim.tv_sec, srcStat.st_mtim.tv_sec < time(nil) - 100 {
            diagnostics.warning("database \(path) is older than source file \(name)")
        }
    }

    private func locked<T>(_ op: LockOperation, _ body: (LMDBEnvironment) throws(MapError) -> T) throws(MapError) -> T {
        guard let env = environment else { throw .temporary("\(path): table is closed") }
        let lock = flags.contains(.lock)
        if lock { try acquire(op, env) }
        defer { if lock { release(op, env) } }
        return try body(env)
    }

    /// Take the file's lock for this thread: through the process-wide lock, so that threads never
    /// release each other's `fcntl` lock.
    private func acquire(_ op: LockOperation, _ env: LMDBEnvironment) throws(MapError) {
        let rc = fileLock.map { $0.acquire(op, fd: env.fd) } ?? lockFile(env.fd, style: .fcntl, op)
        if rc != 0 { throw MapError(.temporary, "\(path): lock dictionary: \(systemErrorText(rc))", errno: rc, fatalInPostfix: true) }
    }

    private func release(_ op: LockOperation, _ env: LMDBEnvironment) {
        if let fileLock { fileLock.release(op) } else { _ = lockFile(env.fd, style: .fcntl, .unlock) }
    }

    public func lookupTraced(_ key: [UInt8]) throws(MapError) -> (value: [UInt8]?, detail: LookupDetail) {
        let before = codec.forms(key)
        let value = try lookup(key)
        return (value, LookupDetail(keys: codec.triedForms(before, found: value != nil)))
    }

    public func lookup(_ key: [UInt8]) throws(MapError) -> [UInt8]? {
        if let txn = batchTransaction, let env = environment { return try lookup(key, txn: txn, env: env) }
        return try locked(.shared) { env throws(MapError) in
            let txn = try env.beginRead()
            defer { env.endRead(txn) }
            return try lookup(key, txn: txn, env: env)
        }
    }

    private func lookup(_ key: [UInt8], txn: OpaquePointer, env: LMDBEnvironment) throws(MapError) -> [UInt8]? {
        let name = self.name
        return try codec.probe(key) { k -> Result<[UInt8]?, MapError> in
            var keyVal = MDB_val(mv_size: k.count, mv_data: UnsafeMutableRawPointer(mutating: k.baseAddress))
            var data = MDB_val()
            let rc = mdb_get(txn, env.dbi, &keyVal, &data)
            if rc == 0 { return .success(KeyCodec.cString(UnsafeRawBufferPointer(start: data.mv_data, count: data.mv_size))) }
            if rc == MDB_NOTFOUND { return .success(nil) }
            var failure = LMDBEnvironment.error("error reading lmdb:\(name)", rc)
            failure.fatalInPostfix = true  // dict_lmdb_get: msg_fatal
            return .failure(failure)
        }
    }

    public func beginBatch() throws(MapError) {
        guard batchTransaction == nil, let env = environment else { return }
        let lock = flags.contains(.lock)
        if lock { try acquire(.shared, env) }
        do {
            batchTransaction = try env.beginRead()
        } catch {
            if lock { release(.shared, env) }
            throw error
        }
    }

    public func endBatch() {
        guard let txn = batchTransaction, let env = environment else { return }
        env.endRead(txn)
        batchTransaction = nil
        if flags.contains(.lock), let env = environment { release(.shared, env) }
    }

    /// Run a write transaction, growing the map and retrying when it is full.
    private func write(_ body: (OpaquePointer, LMDBEnvironment) -> Int32) throws(MapError) -> Int32 {
        try locked(.exclusive) { env throws(MapError) in
            var attempt = 0
            while true {
                let txn = try env.begin(readOnly: false)
                var rc = body(txn, env)
                if rc == 0 || rc == MDB_KEYEXIST || rc == MDB_NOTFOUND {
                    let status = rc
                    if rc == 0 { rc = mdb_txn_commit(txn) } else { mdb_txn_abort(txn) }
                    if rc == 0 || rc == MDB_KEYEXIST || rc == MDB_NOTFOUND { return status }
                } else {
                    mdb_txn_abort(txn)
                }
                if rc == MDB_MAP_FULL, attempt < LMDBTable.apiRetryLimit, env.grow() == 0 {
                    attempt += 1
                    continue
                }
                throw LMDBEnvironment.error("error updating lmdb:\(name)", rc)
            }
        }
    }

    public func update(_ key: [UInt8], _ value: [UInt8], options: RecordOptions) throws(MapError) -> UpdateOutcome {
        let (k, v) = codec.encodeForUpdate(key, value, options: options)
        let policy = codec.policy(options)
        let flagsForPut: UInt32 = policy == .replace ? 0 : UInt32(MDB_NOOVERWRITE)
        let rc = try write { txn, env in
            withVal(k) { kv in withVal(v) { vv in mdb_put(txn, env.dbi, &kv, &vv, flagsForPut) } }
        }
        if rc == MDB_KEYEXIST {
            try reportDuplicate(label: duplicateLabel, key: KeyCodec.cString(k), policy: policy, diagnostics: diagnostics)
            return .duplicate
        }
        return .stored
    }

    public func delete(_ key: [UInt8]) throws(MapError) -> Bool {
        // Each form is tried in its own write transaction, as Postfix does.
        var forms: [([UInt8], Bool)] = []
        let base = codec.folded(key)
        if codec.flags.contains(.tryWithNul) { forms.append((base + [0], true)) }
        if codec.flags.contains(.tryWithoutNul) { forms.append((base, false)) }
        for (bytes, withNul) in forms {
            let rc = try write { txn, env in
                withVal(bytes) { k in mdb_del(txn, env.dbi, &k, nil) }
            }
            if rc == 0 {
                codec.pin(withNul: withNul)
                return true
            }
        }
        return false
    }

    public func forEach(_ body: ([UInt8], [UInt8]) throws(MapError) -> Void) throws(MapError) {
        // One read transaction and cursor for the walk, with a shared lock around each step, as
        // Postfix's sequence does.
        guard let env = environment else { throw .temporary("\(path): table is closed") }
        let txn = try env.beginRead()
        defer { env.endRead(txn) }
        var cursor: OpaquePointer?
        let rc = mdb_cursor_open(txn, env.dbi, &cursor)
        guard rc == 0 else { throw LMDBEnvironment.error("error seeking lmdb:\(name)", rc) }
        defer { mdb_cursor_close(cursor) }
        var op = MDB_FIRST
        while true {
            let record: ([UInt8], [UInt8])? = try locked(.shared) { _ throws(MapError) in
                var k = MDB_val(), v = MDB_val()
                let rc = mdb_cursor_get(cursor, &k, &v, op)
                if rc == MDB_NOTFOUND { return nil }
                guard rc == 0 else { throw LMDBEnvironment.error("error seeking lmdb:\(name)", rc) }
                return (k.bytes, v.bytes)
            }
            guard let (rawKey, rawValue) = record else { return }
            op = MDB_NEXT
            try body(KeyCodec.cString(rawKey), KeyCodec.cString(rawValue))
        }
    }

    public func close() {
        endBatch()
        if let env = environment {
            // Closing the descriptor drops every fcntl lock this process holds on the file: wait until
            // no other thread holds it.
            if let fileLock {
                fileLock.exclusively(fd: nil) { _ in env.close() }
                fileLock.unregister()
            } else {
                env.close()
            }
        }
        fileLock = nil
        environment = nil
    }

    deinit { close() }
}

@available(*, unavailable)
extension LMDBTable: Sendable {}
