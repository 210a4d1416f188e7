import PostfixText
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// `close(2)`, outside `CDBTable`, whose own `close` would shadow it.
func closeDescriptor(_ fd: Int32) { _ = close(fd) }

/// A `cdb:` table: `NAME.cdb` in tinycdb's format, as Debian's `postfix-cdb` (Postfix's `dict_cdb.c`)
/// reads and writes it. The file is constant: it is only ever read, without locks, and replaced as a
/// whole by a rebuild (`CDBBuilder`); `-i` and `-d` are refused with Postfix's text; 3.7 has no
/// sequence operation for it, 3.10 lists the records in file order (`ClientBehaviour.cdbSequence`).
///
/// Keys are ASCII-folded under `.foldFixed`; a lookup tries the key with a trailing NUL, then without
/// (Postfix writes cdb records without one unless told `-N`), and pins the table to the form that matched.
public final class CDBTable: LookupTable {
    public let type = "cdb"
    public let name: String
    /// The file, `NAME.cdb`.
    public let path: String
    private var reader: CDBReader?
    private var fd: Int32
    private let codec: KeyCodec

    /// Postfix names a cdb query handle after its file.
    public var dictName: String { path }
    public var duplicateLabel: String { name }
    /// The mapping is read-only and the NUL form is pinned atomically.
    public var concurrentLookups: Bool { true }
    public var sourceFiles: [String] { [path] }

    /// Postfix's `dict_cdb_open` accepts only read-only and create modes; updates in place are not possible.
    static let inappropriateMode = MapError(
        .usage, "dict_cdb_open: inappropriate open flags for cdb database - specify O_RDONLY or O_WRONLY|O_CREAT|O_TRUNC",
        fatalInPostfix: true)

    init(name: String, request: OpenRequest) throws(MapError) {
        guard request.mode == .readOnly else { throw CDBTable.inappropriateMode }
        self.name = name
        path = name + ".cdb"
        codec = KeyCodec(flags: request.flags)
        fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            let e = errno
            throw .temporary("open database \(path): \(systemErrorText(e))", errno: e)
        }
        do {
            reader = try CDBReader(fd: fd)
        } catch {
            closeDescriptor(fd)
            throw MapError(.temporary, "dict_cdbq_open: unable to init \(path): \(systemErrorText(error.code))",
                           errno: error.code, fatalInPostfix: true)
        }
        var dbStat = stat(), srcStat = stat()
        if fstat(fd, &dbStat) == 0, stat(name, &srcStat) == 0,
           srcStat.st_mtim.tv_sec > dbStat.st_mtim.tv_sec, srcStat.st_mtim.tv_sec < time(nil) - 100 {
            request.diagnostics.warning("database \(path) is older than source file \(name)")
        }
    }

    public func lookup(_ key: [UInt8]) throws(MapError) -> [UInt8]? {
        guard let reader else { throw .temporary("\(path): table is closed") }
        let path = self.path
        return try codec.probe(key) { bytes -> Result<[UInt8]?, MapError> in
            switch reader.find(bytes) {
            case .success(let value): return .success(value)
            case .failure(let e):
                return .failure(MapError(.temporary, "error reading \(path): \(systemErrorText(e.code))",
                                         errno: e.code, fatalInPostfix: true))
            }
        }
    }

    public func lookupTraced(_ key: [UInt8]) throws(MapError) -> (value: [UInt8]?, detail: LookupDetail) {
        let before = codec.forms(key)
        let value = try lookup(key)
        return (value, LookupDetail(keys: codec.triedForms(before, found: value != nil)))
    }

    public func update(_ key: [UInt8], _ value: [UInt8], options: RecordOptions) throws(MapError) -> UpdateOutcome {
        throw CDBTable.inappropriateMode
    }

    public func delete(_ key: [UInt8]) throws(MapError) -> Bool {
        throw CDBTable.inappropriateMode
    }

    public func forEach(_ body: ([UInt8], [UInt8]) throws(MapError) -> Void) throws(MapError) {
        guard PostfixRelease.current.clients.cdbSequence else {
            throw .notSupported("table cdb:\(path): sequence operation is not supported")
        }
        guard let reader else { throw .temporary("\(path): table is closed") }
        // 3.10's dict_cdbq_sequence: the records in file order (tinycdb's cdb_seqnext), each key and
        // value read as C strings; an inconsistent record is fatal ("error seeking NAME.cdb: ...").
        var cursor = CDBReader.Cursor()
        while true {
            switch reader.next(&cursor) {
            case .success(nil): return
            case .success(let record?): try body(record.key, record.value)
            case .failure(let e):
                throw MapError(.temporary, "error seeking \(path): \(systemErrorText(e.code))",
                               errno: e.code, fatalInPostfix: true)
            }
        }
    }

    public func close() {
        reader = nil
        if fd >= 0 { closeDescriptor(fd) }
        fd = -1
    }

    deinit { close() }
}

@available(*, unavailable)
extension CDBTable: Sendable {}

/// The `cdb` table type.
public enum CDBMaps {
    /// `cdb:NAME` → `NAME.cdb`, built as `NAME.cdb.tmp` and renamed into place.
    public static let cdb = MapType(
        name: "cdb",
        open: { name, request throws(MapError) in try CDBTable(name: name, request: request) },
        build: { name, request throws(MapError) in try CDBBuilder(name: name, request: request) })
}
