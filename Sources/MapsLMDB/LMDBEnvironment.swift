import PostfixText
import CLMDB
import Maps
#if canImport(Glibc)
import Glibc
#endif

/// Owns one LMDB environment opened the way Postfix opens it: a single file (`MDB_NOSUBDIR`) and no
/// LMDB lock file (`MDB_NOLOCK`); Postfix serializes with `fcntl(2)` locks on the database file instead.
final class LMDBEnvironment {
    private(set) var env: OpaquePointer?
    private(set) var dbi: MDB_dbi = 0
    let path: String
    private(set) var mapSize: Int
    /// Read transactions of several threads hold this shared; changing the map size (which LMDB allows
    /// only while no transaction of the process is active) holds it exclusively.
    private let remap = UnsafeMutablePointer<pthread_rwlock_t>.allocate(capacity: 1)

    init(path: String, readOnly: Bool, mapSize: Int, extraFlags: UInt32 = 0) throws(MapError) {
        self.path = path
        self.mapSize = mapSize
        pthread_rwlock_init(remap, nil)
        var envp: OpaquePointer?
        var rc = mdb_env_create(&envp)
        guard rc == 0, let envp else { throw LMDBEnvironment.error("open database \(path)", rc) }
        env = envp
        rc = mdb_env_set_mapsize(envp, mapSize)
        guard rc == 0 else { throw LMDBEnvironment.error("open database \(path)", rc) }
        var flags = UInt32(MDB_NOSUBDIR | MDB_NOLOCK) | extraFlags
        if readOnly { flags |= UInt32(MDB_RDONLY) }
        rc = mdb_env_open(envp, path, flags, 0o644)
        guard rc == 0 else { throw LMDBEnvironment.error("open database \(path)", rc) }
        // An existing file may have grown beyond the size asked for; adopt its size.
        var info = MDB_envinfo()
        if mdb_env_info(envp, &info) == 0 { self.mapSize = info.me_mapsize }
        // Open the main database once, in a short transaction.
        var txn: OpaquePointer?
        rc = mdb_txn_begin(envp, nil, readOnly ? UInt32(MDB_RDONLY) : 0, &txn)
        guard rc == 0 else { throw LMDBEnvironment.error("open database \(path)", rc) }
        rc = mdb_dbi_open(txn, nil, 0, &dbi)
        guard rc == 0 else {
            mdb_txn_abort(txn)
            throw LMDBEnvironment.error("open database \(path)", rc)
        }
        rc = mdb_txn_commit(txn)
        guard rc == 0 else { throw LMDBEnvironment.error("open database \(path)", rc) }
    }

    static func error(_ what: String, _ rc: Int32) -> MapError {
        .temporary("\(what): \(String(cString: mdb_strerror(rc)))", result: rc)
    }

    /// The database file descriptor, for fcntl locks and stat.
    var fd: Int32 {
        var fd: Int32 = -1
        if let env { _ = mdb_env_get_fd(env, &fd) }
        return fd
    }

    /// Double the map size (Postfix's growth step) or set an explicit size. No transaction may be open.
    func grow(to newSize: Int? = nil) -> Int32 {
        guard let env else { return EINVAL }
        pthread_rwlock_wrlock(remap)
        defer { pthread_rwlock_unlock(remap) }
        let size = newSize ?? mapSize * 2
        let rc = mdb_env_set_mapsize(env, size)
        if rc == 0 { mapSize = size }
        return rc
    }

    /// Adopt a size that another process set (after `MDB_MAP_RESIZED`), once no other thread of this
    /// process has a read transaction open on the environment.
    func adoptCurrentSize() -> Int32 {
        guard let env else { return EINVAL }
        pthread_rwlock_wrlock(remap)
        defer { pthread_rwlock_unlock(remap) }
        let rc = mdb_env_set_mapsize(env, 0)
        var info = MDB_envinfo()
        if rc == 0, mdb_env_info(env, &info) == 0 { mapSize = info.me_mapsize }
        return rc
    }

    /// Begin a read transaction that may run beside other threads' read transactions on this
    /// environment; `endRead(_:)` must follow, on the same thread.
    func beginRead() throws(MapError) -> OpaquePointer {
        guard let env else { throw .temporary("\(path): table is closed") }
        for _ in 0..<3 {
            pthread_rwlock_rdlock(remap)
            var txn: OpaquePointer?
            let rc = mdb_txn_begin(env, nil, UInt32(MDB_RDONLY), &txn)
            if rc == 0, let txn { return txn }
            pthread_rwlock_unlock(remap)
            if rc == MDB_MAP_RESIZED, adoptCurrentSize() == 0 { continue }
            throw LMDBEnvironment.error("\(path): begin transaction", rc)
        }
        throw LMDBEnvironment.error("\(path): begin transaction", MDB_MAP_RESIZED)
    }

    /// End a read transaction from `beginRead()`.
    func endRead(_ txn: OpaquePointer) {
        mdb_txn_abort(txn)
        pthread_rwlock_unlock(remap)
    }

    /// Begin a transaction, following a map another writer resized.
    func begin(readOnly: Bool) throws(MapError) -> OpaquePointer {
        guard let env else { throw .temporary("\(path): table is closed") }
        for _ in 0..<3 {
            var txn: OpaquePointer?
            let rc = mdb_txn_begin(env, nil, readOnly ? UInt32(MDB_RDONLY) : 0, &txn)
            if rc == 0, let txn { return txn }
            if rc == MDB_MAP_RESIZED, adoptCurrentSize() == 0 { continue }
            throw LMDBEnvironment.error("\(path): begin transaction", rc)
        }
        throw LMDBEnvironment.error("\(path): begin transaction", MDB_MAP_RESIZED)
    }

    func sync() -> Int32 {
        guard let env else { return EINVAL }
        return mdb_env_sync(env, 1)
    }

    func close() {
        if let env { mdb_env_close(env) }
        env = nil
    }

    deinit {
        close()
        pthread_rwlock_destroy(remap)
        remap.deallocate()
    }
}

@available(*, unavailable)
extension LMDBEnvironment: Sendable {}

extension MDB_val {
    /// The bytes, copied out (LMDB values point into the map and die with the transaction).
    var bytes: [UInt8] {
        guard let data = mv_data else { return [] }
        return Array(UnsafeRawBufferPointer(start: data, count: mv_size))
    }
}

/// Run `body` with an `MDB_val` over `bytes` (LMDB does not write through key or data pointers).
@inline(__always)
func withVal<T>(_ bytes: [UInt8], _ body: (inout MDB_val) -> T) -> T {
    bytes.withUnsafeBytes { raw in
        var val = MDB_val(mv_size: raw.count, mv_data: UnsafeMutableRawPointer(mutating: raw.baseAddress))
        return body(&val)
    }
}
