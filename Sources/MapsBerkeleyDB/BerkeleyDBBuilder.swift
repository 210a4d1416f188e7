import PostfixText
import CBerkeleyDB
import Maps
#if canImport(Glibc)
import Glibc
#endif

/// Builds a new `NAME.db` in a temporary sibling file and renames it into place on commit.
final class BerkeleyDBBuilder: TableBuilder, RecordSink {
    let target: String
    let temporary: String
    private var handle: BerkeleyDBHandle?
    private var codec: KeyCodec
    private let flags: DictFlags
    private let diagnostics: Diagnostics
    private var finished = false

    var duplicateLabel: String { target }
    var dictName: String { target }

    init(name: String, dbType: DBTYPE, request: OpenRequest) throws(MapError) {
        target = name + ".db"
        AtomicReplace.removeStaleTemporaries(for: target)
        temporary = AtomicReplace.temporaryPath(for: target)
        _ = unlink(temporary)
        flags = request.flags
        codec = KeyCodec(flags: request.flags)
        diagnostics = request.diagnostics
        // Postfix opens an existing table for writing before Berkeley DB does (mkmap_db), so a table the
        // user may not write, or a directory the user may not search, is reported against NAME.db.
        let probe = open(target, O_RDWR | O_CLOEXEC)
        if probe >= 0 {
            close(probe)
        } else if errno != ENOENT {
            let e = errno
            throw .temporary("open \(target): \(systemErrorText(e))", errno: e)
        }
        // Postfix removes a zero-length file it finds in the way and says so; keep that message.
        var st = stat()
        if stat(target, &st) == 0, st.st_size == 0, (st.st_mode & S_IFMT) == S_IFREG {
            diagnostics.warning("removing zero-length database file: \(target)")
        }
        do {
            handle = try BerkeleyDBHandle(path: temporary, type: dbType,
                                          flags: UInt32(DB_FCNTL_LOCKING | DB_CREATE | DB_EXCL),
                                          cacheSize: BerkeleyDBBuilder.cacheSize(request), quiet: true)
        } catch {
            _ = unlink(temporary)
            Self.removeCreationLeftover(of: temporary)
            // Report the failure against the file the user named, as Postfix would: it opens an existing
            // file itself before Berkeley DB does.
            if error.message.hasPrefix("open database"), access(target, F_OK) == 0 {
                throw MapError(error.code, "open \(target): \(systemErrorText(error.errno))", errno: error.errno, libraryResult: error.libraryResult)
            }
            throw MapError(error.code, error.message.replacingTemporary(temporary, with: target), errno: error.errno, libraryResult: error.libraryResult)
        }
    }

    /// The build cache: `berkeley_db_create_buffer_size`, grown for a large source to half its size,
    /// up to twice the configured value. A hash file is written in random page order, so every page
    /// that stays cached saves a write and a read; the cap keeps memory within twice Postfix's.
    static func cacheSize(_ request: OpenRequest) -> Int {
        let configured = request.settings.berkeleyDBCreateBufferSize
        return max(configured, min(2 * configured, request.sizeHint / 2))
    }

    func put(_ key: [UInt8], _ value: [UInt8], options: RecordOptions) throws(MapError) -> UpdateOutcome {
        guard let db = handle?.db else { throw .temporary("\(target): table is closed") }
        let (k, v) = codec.encodeForUpdate(key, value, options: options)
        let policy = codec.policy(options)
        let outcome = try BerkeleyDBTable.put(db, k, v, replace: policy == .replace, path: target)
        if outcome == .duplicate {
            try reportDuplicate(label: target, key: KeyCodec.cString(k), policy: policy, diagnostics: diagnostics)
        }
        return outcome
    }

    func load(_ feed: (Bool, any RecordSink) throws -> Void) throws {
        try feed(false, self)
    }

    func commit() throws(MapError) {
        guard let h = handle else { throw .temporary("\(target): build already finished") }
        // Flush first, as Postfix's dict_db_close does, so a full disk is reported in its words.
        let flushed = h.sync()
        let closed = h.close()
        handle = nil
        finished = true
        let target = self.target
        try AtomicReplace.publish(temporary: temporary, target: target, lockStyle: .flock,
                                  closeStatus: flushed != 0 ? flushed : closed) { rc in
            .temporary("\(flushed != 0 ? "flush" : "close") database \(target): \(systemErrorText(rc))", result: rc)
        }
    }

    /// Berkeley DB creates a new file under a temporary name (`__db.NAME`) and renames it; a create that
    /// fails (a full disk) can leave that name behind.
    static func removeCreationLeftover(of path: String) {
        let (dir, base) = AtomicReplace.splitPath(path)
        _ = unlink(dir.isEmpty ? "__db.\(base)" : "\(dir)/__db.\(base)")
    }

    var temporaryPath: String { temporary }

    func abort() {
        handle?.close()
        handle = nil
        if !finished {
            _ = unlink(temporary)
            Self.removeCreationLeftover(of: temporary)
        }
        finished = true
    }

    deinit { if !finished { abort() } }
}

extension String {
    func replacingTemporary(_ temporary: String, with target: String) -> String {
        guard let range = firstRange(of: temporary) else { return self }
        var copy = self
        copy.replaceSubrange(range, with: target)
        return copy
    }
}

/// The `hash` and `btree` table types.
public enum BerkeleyDBMaps {
    /// This module's types, which MapBackends registers (scripts/gen-backends).
    public static let types: [MapType] = [hash, btree]

    /// `hash:NAME` → `NAME.db`, a Berkeley DB hash file.
    public static let hash = MapType(
        name: "hash",
        open: { name, request throws(MapError) in try BerkeleyDBTable(type: "hash", name: name, dbType: DB_HASH, request: request) },
        build: { name, request throws(MapError) in try BerkeleyDBBuilder(name: name, dbType: DB_HASH, request: request) })

    /// `btree:NAME` → `NAME.db`, a Berkeley DB btree file.
    public static let btree = MapType(
        name: "btree",
        open: { name, request throws(MapError) in try BerkeleyDBTable(type: "btree", name: name, dbType: DB_BTREE, request: request) },
        build: { name, request throws(MapError) in try BerkeleyDBBuilder(name: name, dbType: DB_BTREE, request: request) })
}
