import PostfixText
import CLMDB
import Maps
#if canImport(Glibc)
import Glibc
#endif

/// Builds a new `NAME.lmdb` in a temporary sibling in one write transaction and renames it into place.
/// When the map fills, the transaction is dropped, the map grows and the load starts over, as Postfix's
/// bulk mode does (the map size doubles each time). The first size is estimated from the source, so
/// a large table rarely needs a restart.
final class LMDBBuilder: TableBuilder, RecordSink {
    let name: String
    let target: String
    let temporary: String
    private var environment: LMDBEnvironment?
    private var txn: OpaquePointer?
    private var codec: KeyCodec
    private let flags: DictFlags
    private let diagnostics: Diagnostics
    private var finished = false
    private var recordsThisPass = 0
    private var bytesThisPass = 0
    /// Postfix allows 2 x bits(size_t) restarts of a bulk transaction.
    private static let bulkRetryLimit = 2 * 64

    var duplicateLabel: String { "lmdb:\(name)" }
    var dictName: String { name }

    /// Thrown by `put` to unwind the caller's feed when the map is full.
    private struct MapFull: Error {}

    init(name: String, request: OpenRequest) throws(MapError) {
        self.name = name
        target = name + ".lmdb"
        AtomicReplace.removeStaleTemporaries(for: target)
        temporary = AtomicReplace.temporaryPath(for: target)
        _ = unlink(temporary)
        flags = request.flags
        codec = KeyCodec(flags: request.flags)
        diagnostics = request.diagnostics
        do {
            // Commit once at the end and sync then; no per-transaction sync is needed for a private file.
            // Start from lmdb_map_size, or from three times the source size when that is larger (a table
            // takes about 2.3 bytes per source byte), so a large build rarely has to restart. The map
            // size is address space, not disk: the file grows only as pages are written.
            let estimate = (request.sizeHint * 3 + (1 << 20) - 1) & ~((1 << 20) - 1)
            environment = try LMDBEnvironment(path: temporary, readOnly: false,
                                              mapSize: max(request.settings.lmdbMapSize, estimate),
                                              extraFlags: UInt32(MDB_NOSYNC))
        } catch {
            _ = unlink(temporary)
            throw MapError(error.code, "open database \(target): \(error.message.split(separator: ":").last.map { $0.trimmingLeadingSpace } ?? "")", errno: error.errno)
        }
    }

    func put(_ key: [UInt8], _ value: [UInt8], options: RecordOptions) throws(MapError) -> UpdateOutcome {
        guard let env = environment, let txn else { throw .temporary("\(target): table is closed") }
        let (k, v) = codec.encodeForUpdate(key, value, options: options)
        let policy = codec.policy(options)
        let putFlags: UInt32 = policy == .replace ? 0 : UInt32(MDB_NOOVERWRITE)
        let rc = withVal(k) { kv in withVal(v) { vv in mdb_put(txn, env.dbi, &kv, &vv, putFlags) } }
        recordsThisPass += 1
        bytesThisPass += k.count + v.count
        switch rc {
        case 0:
            return .stored
        case MDB_KEYEXIST:
            try reportDuplicate(label: duplicateLabel, key: KeyCodec.cString(k), policy: policy, diagnostics: diagnostics)
            return .duplicate
        case MDB_MAP_FULL:
            fullSignal = true
            throw .temporary("\(target): map full")
        default:
            throw LMDBEnvironment.error("error updating lmdb:\(name)", rc)
        }
    }

    private var fullSignal = false

    func load(_ feed: (Bool, any RecordSink) throws -> Void) throws {
        guard let env = environment else { throw MapError.temporary("\(target): table is closed") }
        var replay = false
        for _ in 0...LMDBBuilder.bulkRetryLimit {
            txn = try env.begin(readOnly: false)
            recordsThisPass = 0
            bytesThisPass = 0
            fullSignal = false
            do {
                try feed(replay, self)
            } catch {
                if let t = txn { mdb_txn_abort(t) }
                txn = nil
                guard fullSignal else { throw error }
                try grow(env)
                replay = true
                continue
            }
            guard let t = txn else { return }
            txn = nil
            let rc = mdb_txn_commit(t)
            if rc == 0 { return }
            if rc == MDB_MAP_FULL {
                try grow(env)
                replay = true
                continue
            }
            throw flushError(rc, env)
        }
        throw MapError.temporary("table lmdb:\(name): write error: map size retry limit exceeded")
    }

    private func grow(_ env: LMDBEnvironment) throws(MapError) {
        let rc = env.grow()
        if rc != 0 { throw LMDBEnvironment.error("table lmdb:\(name): grow map", rc) }
    }

    func commit() throws(MapError) {
        guard let env = environment else { throw .temporary("\(target): build already finished") }
        let rc = env.sync()
        let failure = rc == 0 ? nil : flushError(rc, env)
        env.close()
        environment = nil
        finished = true
        try AtomicReplace.publish(temporary: temporary, target: target, lockStyle: .fcntl, closeStatus: rc) { _ in
            failure ?? .temporary("flush database \(target)")
        }
    }

    /// A failed commit or sync, named after the file as for a Berkeley DB table (`flush database
    /// NAME.lmdb: ...`). LMDB turns a short write into `EIO`, which is what a full disk gives; one page
    /// written past the end of the file tells whether that was the cause.
    private func flushError(_ rc: Int32, _ env: LMDBEnvironment) -> MapError {
        var code = rc
        let fd = env.fd
        var st = stat()
        if rc == EIO, fd >= 0, fstat(fd, &st) == 0 {
            let page = [UInt8](repeating: 0, count: 4096)
            let offset = (st.st_size + 4095) / 4096 * 4096
            let n = page.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, off_t(offset)) }
            if n < 0, errno == ENOSPC || errno == EDQUOT { code = errno }
            _ = ftruncate(fd, st.st_size)
        }
        return LMDBEnvironment.error("flush database \(target)", code)
    }

    var temporaryPath: String { temporary }

    func abort() {
        if let t = txn { mdb_txn_abort(t) }
        txn = nil
        environment?.close()
        environment = nil
        if !finished { _ = unlink(temporary) }
        finished = true
    }

    deinit { if !finished { abort() } }
}

extension Substring {
    var trimmingLeadingSpace: String { String(drop(while: { $0 == " " })) }
}

/// The `lmdb` table type.
public enum LMDBMaps {
    /// This module's types, which MapBackends registers (scripts/gen-backends).
    public static let types: [MapType] = [lmdb]

    /// `lmdb:NAME` → `NAME.lmdb`.
    public static let lmdb = MapType(
        name: "lmdb",
        open: { name, request throws(MapError) in try LMDBTable(name: name, request: request) },
        build: { name, request throws(MapError) in try LMDBBuilder(name: name, request: request) })
}
