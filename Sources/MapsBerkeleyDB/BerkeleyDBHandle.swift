import PostfixText
import CBerkeleyDB
import Maps
#if canImport(Glibc)
import Glibc
#endif

/// Owns one Berkeley DB environment and database handle; closes both in `deinit`.
/// Not thread-safe: Berkeley DB handles opened without `DB_THREAD` must stay on one thread at a time.
final class BerkeleyDBHandle {
    private(set) var env: UnsafeMutablePointer<DB_ENV>?
    private(set) var db: UnsafeMutablePointer<DB>?

    /// Open `path` (a full `NAME.db` path) as `type` with Postfix's environment: a private memory pool
    /// of `cacheSize` bytes, homed in the file's directory, and 4096 expected elements for hash files.
    ///
    /// With `quiet`, Berkeley DB's own messages (one or more per page it fails to write, on a full disk)
    /// are dropped: the caller reports the error code once.
    init(path: String, type: DBTYPE, flags: UInt32, cacheSize: Int, quiet: Bool = false) throws(MapError) {
        var envp: UnsafeMutablePointer<DB_ENV>?
        var rc = CBDB_env_create(&envp)
        guard rc == 0, let envp else { throw .temporary("create DB environment: \(systemErrorText(rc))", result: rc) }
        env = envp
        if quiet { CBDB_env_set_errcall(envp) { _, _, _ in } }
        var gbytes: UInt32 = 0, bytes: UInt32 = 0
        var ncache: Int32 = 0
        if CBDB_env_get_cachesize(envp, &gbytes, &bytes, &ncache) == 0, gbytes == 0, bytes < UInt32(cacheSize) {
            _ = CBDB_env_set_cache_max(envp, 0, UInt32(cacheSize))
            _ = CBDB_env_set_cachesize(envp, 0, UInt32(cacheSize), ncache)
        }
        let (dir, base) = AtomicReplace.splitPath(path)
        rc = CBDB_env_open(envp, dir.isEmpty ? "." : dir, UInt32(DB_INIT_MPOOL | DB_CREATE | DB_PRIVATE))
        guard rc == 0 else { throw .temporary("open DB environment: \(systemErrorText(rc))", result: rc) }
        var dbp: UnsafeMutablePointer<DB>?
        rc = CBDB_create(&dbp, envp)
        guard rc == 0, let dbp else { throw .temporary("create DB database: \(systemErrorText(rc))", result: rc) }
        db = dbp
        if type == DB_HASH {
            rc = CBDB_set_h_nelem(dbp, 4096)
            guard rc == 0 else { throw .temporary("set DB hash element count 4096: \(systemErrorText(rc))", result: rc) }
        }
        rc = CBDB_open(dbp, base, type, flags, 0o644)
        guard rc == 0 else {
            throw .temporary("open database \(path): \(systemErrorText(rc))", result: rc)
        }
    }

    /// The database file descriptor (for locks and stat).
    var fd: Int32 {
        var fd: Int32 = -1
        if let db { _ = CBDB_fd(db, &fd) }
        return fd
    }

    /// Write every cached page to the file (`DB->sync`); the error code, or 0.
    func sync() -> Int32 {
        guard let db else { return EINVAL }
        return CBDB_sync(db)
    }

    /// Close the database and its environment; returns the first error code.
    @discardableResult
    func close() -> Int32 {
        var first: Int32 = 0
        if let db {
            first = CBDB_close(db)
            self.db = nil
        }
        if let env {
            let rc = CBDB_env_close(env)
            if first == 0 { first = rc }
            self.env = nil
        }
        return first
    }

    deinit { close() }
}

@available(*, unavailable)
extension BerkeleyDBHandle: Sendable {}
