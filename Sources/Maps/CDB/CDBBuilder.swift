import PostfixText
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Builds `NAME.cdb` as Postfix's `dict_cdb.c` does: into `NAME.cdb.tmp`, opened (not truncated) and
/// locked with `flock(2)` until the file that was locked is the one the name still refers to, then
/// truncated, written, and renamed over `NAME.cdb`. Two builds at once take turns on the temporary
/// file, ours and Postfix's alike; readers see the old file or the new one.
///
/// Records are written without a trailing NUL unless `-N` asks for it (Postfix's choice for cdb), keys
/// ASCII-folded under `.foldFixed`. Duplicates follow the flags: warn and keep the first (`NAME:
/// duplicate entry: "key"`), `-r` replace, `-w` store both (a lookup finds the first).
final class CDBBuilder: TableBuilder, RecordSink {
    let name: String
    let target: String
    let temporary: String
    private var fd: Int32
    private let writer: CDBWriter
    private let flags: DictFlags
    private let diagnostics: Diagnostics
    private var finished = false

    /// Postfix's create handle is named after the source (`NAME: duplicate entry`).
    var duplicateLabel: String { name }
    var dictName: String { name }
    var temporaryPath: String { temporary }

    init(name: String, request: OpenRequest) throws(MapError) {
        self.name = name
        target = name + ".cdb"
        temporary = name + ".cdb.tmp"
        flags = request.flags
        diagnostics = request.diagnostics
        let fd = try CDBBuilder.openLocked(temporary)
        self.fd = fd
        writer = CDBWriter(fd: fd)
    }

    /// Open and lock the temporary file, again and again until the locked file still has the name
    /// (another build may have renamed it away meanwhile), and empty it.
    private static func openLocked(_ path: String) throws(MapError) -> Int32 {
        while true {
            let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
            guard fd >= 0 else {
                let e = errno
                throw .temporary("open database \(path): \(systemErrorText(e))", errno: e)
            }
            var before = stat(), after = stat()
            guard fstat(fd, &before) == 0 else {
                let e = errno
                closeDescriptor(fd)
                throw MapError(.temporary, "fstat(\(path)): \(systemErrorText(e))", errno: e, fatalInPostfix: true)
            }
            let rc = lockFile(fd, style: .flock, .exclusive)
            if rc != 0 {
                closeDescriptor(fd)
                throw MapError(.temporary, "lock \(path): \(systemErrorText(rc))", errno: rc, fatalInPostfix: true)
            }
            guard stat(path, &after) == 0 else {
                let e = errno
                closeDescriptor(fd)
                if e == ENOENT { continue }
                throw MapError(.temporary, "stat(\(path)): \(systemErrorText(e))", errno: e, fatalInPostfix: true)
            }
            if before.st_ino == after.st_ino, before.st_dev == after.st_dev, before.st_nlink == after.st_nlink,
               after.st_nlink > 0 {
                if after.st_size > 0 { _ = ftruncate(fd, 0) }
                return fd
            }
            closeDescriptor(fd)
        }
    }

    func put(_ key: [UInt8], _ value: [UInt8], options: RecordOptions) throws(MapError) -> UpdateOutcome {
        guard !finished else { throw .temporary("\(target): build already finished") }
        var k = options.fold && flags.contains(.foldFixed) ? CaseFolding.asciiLowercased(key) : key
        var v = value
        // Postfix measures both with strlen: anything after a NUL is not stored.
        k = KeyCodec.cString(k)
        v = KeyCodec.cString(v)
        if options.trailingNul ?? flags.contains(.tryWithNul) {
            k.append(0)
            v.append(0)
        }
        let policy = options.duplicatePolicy ?? flags.duplicatePolicy
        let mode: CDBWriter.PutMode = switch policy {
        case .ignore: .add
        case .replace: .replace
        case .warn, .fatal: .insert
        }
        switch writer.put(k, v, mode: mode) {
        case .failure(let e):
            throw MapError(.temporary, "error writing \(temporary): \(systemErrorText(e.code))", errno: e.code,
                           fatalInPostfix: true)
        case .success(true) where mode == .insert:
            try reportDuplicate(label: duplicateLabel, key: k, policy: policy, diagnostics: diagnostics)
            return .duplicate
        case .success:
            return .stored
        }
    }

    func load(_ feed: (Bool, any RecordSink) throws -> Void) throws {
        try feed(false, self)
    }

    func commit() throws(MapError) {
        guard !finished else { throw .temporary("\(target): build already finished") }
        finished = true
        let fd = self.fd
        var rc = writer.finish()
        // Postfix does not sync; the rename is only crash-safe when the data is on disk first.
        if rc == 0, fsync(fd) != 0 { rc = errno }
        if rc != 0 {
            abortFile()
            throw MapError(.temporary, "finish database \(temporary): \(systemErrorText(rc))", errno: rc, fatalInPostfix: true)
        }
        if rename(temporary, target) != 0 {
            let e = errno
            abortFile()
            throw MapError(.temporary, "rename database from \(temporary) to \(target): \(systemErrorText(e))",
                           errno: e, fatalInPostfix: true)
        }
        // Closing releases the lock that other builds wait for.
        self.fd = -1
        if close(fd) != 0 {
            let e = errno
            throw MapError(.temporary, "close database \(target): \(systemErrorText(e))", errno: e, fatalInPostfix: true)
        }
        let (dir, _) = AtomicReplace.splitPath(target)
        let dfd = open(dir.isEmpty ? "." : dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dfd >= 0 {
            _ = fsync(dfd)
            closeDescriptor(dfd)
        }
    }

    /// Remove the temporary file while it is still locked (so it is ours), and close it.
    private func abortFile() {
        if fd >= 0 {
            _ = unlink(temporary)
            closeDescriptor(fd)
            fd = -1
        }
    }

    func abort() {
        finished = true
        abortFile()
    }

    deinit { abort() }
}
