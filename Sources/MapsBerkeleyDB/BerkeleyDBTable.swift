import PostfixText
import CBerkeleyDB
import Maps
#if canImport(Glibc)
import Glibc
#endif

/// A `hash:` or `btree:` table: Berkeley DB 5.3 files with Postfix 3.7's record layout
/// (keys and values with a trailing NUL on Linux, ASCII-folded keys) and its `flock(2)` locking.
public final class BerkeleyDBTable: LookupTable {
    public let type: String
    public let name: String
    /// The file path, `NAME.db`.
    public let path: String
    private var handle: BerkeleyDBHandle?
    private var codec: KeyCodec
    private let flags: DictFlags
    private let diagnostics: Diagnostics
    /// Held for the whole life of a read-write handle (postmap -i / -d), like Postfix's mkmap lock.
    private var writerLockFD: Int32 = -1
    /// The database's descriptor, for per-record locks.
    private var dbFD: Int32 = -1
    /// A batch holds the shared lock; per-record locking is then skipped.
    private var inBatch = false
    /// The process-wide lock of a reader's file, beside its `flock` lock (see `SharedFileLock`); nil for
    /// a writer (which holds its own exclusive lock for its whole life) or an unidentifiable file.
    private var fileLock: SharedFileLock?

    public var duplicateLabel: String { path }
    public var dictName: String { path }
    public var sourceFiles: [String] { [path] }

    init(type: String, name: String, dbType: DBTYPE, request: OpenRequest) throws(MapError) {
        self.type = type
        self.name = name
        self.path = name + ".db"
        self.flags = request.flags
        self.codec = KeyCodec(flags: request.flags)
        self.diagnostics = request.diagnostics
        switch request.mode {
        case .readOnly:
            try openReader(dbType: dbType, request: request)
        case .readWrite, .readWriteCreate:
            try openWriter(dbType: dbType, request: request)
        }
    }

    private func openReader(dbType: DBTYPE, request: OpenRequest) throws(MapError) {
        // Hold a shared lock while opening, so an in-place writer is not caught mid-update.
        var lockFD: Int32 = -1
        if flags.contains(.lock) {
            lockFD = open(path, O_RDONLY | O_CLOEXEC)
            if lockFD < 0 {
                let e = errno
                if e != ENOENT { throw .temporary("open database \(path): \(systemErrorText(e))", errno: e) }
            } else {
                _ = lockFile(lockFD, style: .flock, .shared)
            }
        }
        defer { if lockFD >= 0 { Glibc.close(lockFD) } }
        let h = try BerkeleyDBHandle(path: path, type: dbType, flags: UInt32(DB_FCNTL_LOCKING | DB_RDONLY),
                                     cacheSize: request.settings.berkeleyDBReadBufferSize)
        handle = h
        dbFD = h.fd
        if flags.contains(.lock) { fileLock = SharedFileLock.register(fd: dbFD, style: .flock) }
        // Warn when the source changed after the index, unless only moments ago.
        var dbStat = stat(), srcStat = stat()
        if flags.contains(.lock), fstat(h.fd, &dbStat) == 0, stat(name, &srcStat) == 0,
           srcStat.st_mtim.tv_sec > dbStat.st_mtim.tv_sec, srcStat.st_mtim.tv_sec < time(nil) - 100 {
            diagnostics.warning("database \(path) is older than source file \(name)")
        }
    }

    private func openWriter(dbType: DBTYPE, request: OpenRequest) throws(MapError) {
        // A table changed in place must be the file its name says (no symbolic or hard links).
        try SafeOpen.checkBeforeWrite(path)
        // Lock an existing file before opening it; Berkeley DB will not open a zero-length file, so
        // such a file is removed (under the lock) and created anew.
        var fd = open(path, O_RDWR | O_CLOEXEC)
        if fd < 0 {
            let e = errno
            if e != ENOENT { throw .temporary("open \(path): \(systemErrorText(e))", errno: e) }
        } else {
            _ = lockFile(fd, style: .flock, .exclusive)
            var st = stat()
            if fstat(fd, &st) == 0, st.st_size == 0 {
                if st.st_nlink > 0 {
                    if unlink(path) != 0 {
                        let e = errno
                        Glibc.close(fd)
                        throw .temporary("cannot remove zero-length database file \(path): \(systemErrorText(e))", errno: e)
                    }
                    diagnostics.warning("removing zero-length database file: \(path)")
                }
                Glibc.close(fd)
                fd = -1
            }
        }
        writerLockFD = fd
        let h: BerkeleyDBHandle
        do {
            let create = request.mode == .readWriteCreate ? UInt32(DB_CREATE) : 0
            h = try BerkeleyDBHandle(path: path, type: dbType, flags: UInt32(DB_FCNTL_LOCKING) | create,
                                     cacheSize: request.settings.berkeleyDBReadBufferSize)
        } catch {
            if writerLockFD >= 0 { Glibc.close(writerLockFD); writerLockFD = -1 }
            throw error
        }
        do {
            try SafeOpen.checkOpened(h.fd, path: path)
        } catch {
            h.close()
            if writerLockFD >= 0 { Glibc.close(writerLockFD); writerLockFD = -1 }
            throw error
        }
        handle = h
        dbFD = h.fd
        if writerLockFD < 0 {
            writerLockFD = open(path, O_RDWR | O_CLOEXEC)
            if writerLockFD >= 0 { _ = lockFile(writerLockFD, style: .flock, .exclusive) }
        }
    }

    private func withRecordLock<T>(_ op: LockOperation, _ body: (UnsafeMutablePointer<DB>) throws(MapError) -> T) throws(MapError) -> T {
        guard let db = handle?.db else { throw .temporary("\(path): table is closed") }
        let perRecord = flags.contains(.lock) && writerLockFD < 0 && !inBatch
        if perRecord { _ = recordLock(op) }
        defer { if perRecord { recordUnlock(op) } }
        return try body(db)
    }

    public func lookupTraced(_ key: [UInt8]) throws(MapError) -> (value: [UInt8]?, detail: LookupDetail) {
        let before = codec.forms(key)
        let value = try lookup(key)
        return (value, LookupDetail(keys: codec.triedForms(before, found: value != nil)))
    }

    /// Lock the file for one record operation or a batch: through the process-wide lock when there is
    /// one, so that threads never release each other's lock. Returns 0 or an errno value.
    private func recordLock(_ op: LockOperation) -> Int32 {
        fileLock.map { $0.acquire(op, fd: dbFD) } ?? lockFile(dbFD, style: .flock, op)
    }

    private func recordUnlock(_ op: LockOperation) {
        if let fileLock { fileLock.release(op) } else { _ = lockFile(dbFD, style: .flock, .unlock) }
    }

    public func lookup(_ key: [UInt8]) throws(MapError) -> [UInt8]? {
        let path = self.path
        return try withRecordLock(.shared) { db throws(MapError) in
            try codec.probe(key) { k -> Result<[UInt8]?, MapError> in
                var data: UnsafeMutableRawPointer?
                var size: UInt32 = 0
                let rc = CBDB_get(db, k.baseAddress, UInt32(k.count), &data, &size)
                if rc == 0 { return .success(KeyCodec.cString(UnsafeRawBufferPointer(start: data, count: Int(size)))) }
                if rc == DB_NOTFOUND { return .success(nil) }
                return .failure(MapError(.temporary, "error reading \(path): \(systemErrorText(rc))", errno: rc > 0 ? rc : 0, libraryResult: rc, fatalInPostfix: true))
            }
        }
    }

    public func update(_ key: [UInt8], _ value: [UInt8], options: RecordOptions) throws(MapError) -> UpdateOutcome {
        let (k, v) = codec.encodeForUpdate(key, value, options: options)
        let policy = codec.policy(options)
        let outcome: UpdateOutcome = try withRecordLock(.exclusive) { db throws(MapError) in
            try BerkeleyDBTable.put(db, k, v, replace: policy == .replace, path: path)
        }
        if outcome == .duplicate {
            try reportDuplicate(label: path, key: KeyCodec.cString(k), policy: policy, diagnostics: diagnostics)
        }
        return outcome
    }

    static func put(_ db: UnsafeMutablePointer<DB>, _ k: [UInt8], _ v: [UInt8], replace: Bool, path: String) throws(MapError) -> UpdateOutcome {
        let rc = k.withUnsafeBytes { kb in
            v.withUnsafeBytes { vb in
                CBDB_put(db, kb.baseAddress, UInt32(kb.count), vb.baseAddress, UInt32(vb.count), replace ? 0 : 1)
            }
        }
        if rc == 0 { return .stored }
        if rc == DB_KEYEXIST { return .duplicate }
        throw .temporary("error writing \(path): \(systemErrorText(rc))", result: rc)
    }

    public func delete(_ key: [UInt8]) throws(MapError) -> Bool {
        let path = self.path
        return try withRecordLock(.exclusive) { db throws(MapError) in
            try codec.probe(key) { k -> Result<Bool?, MapError> in
                let rc = CBDB_del(db, k.baseAddress, UInt32(k.count))
                if rc == 0 { return .success(true) }
                if rc == DB_NOTFOUND { return .success(nil) }
                return .failure(.temporary("error deleting from \(path): \(systemErrorText(rc))", result: rc))
            } ?? false
        }
    }

    public func forEach(_ body: ([UInt8], [UInt8]) throws(MapError) -> Void) throws(MapError) {
        guard let db = handle?.db else { throw .temporary("\(path): table is closed") }
        var cursor: UnsafeMutablePointer<DBC>?
        var rc = CBDB_cursor(db, &cursor)
        guard rc == 0, let cursor else { throw .temporary("\(path): cursor: \(systemErrorText(rc))", result: rc) }
        defer { _ = CBDB_cursor_close(cursor) }
        while true {
            var k: UnsafeMutableRawPointer?, v: UnsafeMutableRawPointer?
            var kl: UInt32 = 0, vl: UInt32 = 0
            let perRecord = flags.contains(.lock) && writerLockFD < 0 && !inBatch
            if perRecord { _ = recordLock(.shared) }
            rc = CBDB_cursor_next(cursor, &k, &kl, &v, &vl)
            if perRecord { recordUnlock(.shared) }
            if rc == DB_NOTFOUND { return }
            guard rc == 0 else { throw .temporary("error [\(rc)] seeking \(path): \(systemErrorText(rc))", result: rc) }
            let key = KeyCodec.cString(UnsafeRawBufferPointer(start: k, count: Int(kl)))
            let value = KeyCodec.cString(UnsafeRawBufferPointer(start: v, count: Int(vl)))
            try body(key, value)
        }
    }

    public func beginBatch() throws(MapError) {
        guard !inBatch, flags.contains(.lock), writerLockFD < 0, handle != nil else { return }
        let rc = recordLock(.shared)
        if rc != 0 { throw MapError(.temporary, "\(path): lock dictionary: \(systemErrorText(rc))", errno: rc, fatalInPostfix: true) }
        inBatch = true
    }

    public func endBatch() {
        guard inBatch else { return }
        recordUnlock(.shared)
        inBatch = false
    }

    public func close() {
        endBatch()
        if let h = handle, let fileLock {
            // The descriptor may be the one through which the process holds the file's lock for other
            // threads: close it only while no thread holds that lock.
            fileLock.exclusively(fd: nil) { _ in _ = h.close() }
            fileLock.unregister()
        } else {
            handle?.close()
        }
        fileLock = nil
        handle = nil
        if writerLockFD >= 0 {
            Glibc.close(writerLockFD)
            writerLockFD = -1
        }
    }

    deinit { close() }
}

@available(*, unavailable)
extension BerkeleyDBTable: Sendable {}
