import ToolSupport
import PostfixText
import Maps
#if canImport(Glibc)
import Glibc
#endif

/// The temporary file of the build in progress and Berkeley DB's region file beside it
/// (`__db.NAME.tmp.PID`), removed by the signal handler. Written only by the main thread while the
/// signals are blocked; read only by the handler.
nonisolated(unsafe) private var interruptedBuildPath: UnsafeMutablePointer<CChar>?
nonisolated(unsafe) private var interruptedRegionPath: UnsafeMutablePointer<CChar>?

private func removeTemporaryAndExit(_ signal: Int32) {
    if let path = interruptedBuildPath { unlink(path) }
    if let path = interruptedRegionPath { unlink(path) }
    _exit(128 + signal)
}

/// The signals that end a build and remove its temporary file.
private let buildSignals = [SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGPIPE, SIGXFSZ]

/// Block or unblock `buildSignals` for this thread.
private func blockBuildSignals(_ block: Bool) {
    var set = sigset_t()
    sigemptyset(&set)
    for sig in buildSignals { sigaddset(&set, sig) }
    pthread_sigmask(block ? SIG_BLOCK : SIG_UNBLOCK, &set, nil)
}

/// A source file opened for a build.
struct SourceFile {
    let reader: ByteReader
    let status: stat
}

/// How records of one input line are stored: either into a bulk build or as in-place updates.
typealias StoreRecord = (_ key: [UInt8], _ value: [UInt8], _ options: RecordOptions) throws(MapError) -> Void

extension Tool {
    /// Open the source of a build (`open FILE: %m` on failure). A directory is refused up front, where
    /// Postfix would read it as empty and write an empty table.
    func openSource(_ path: String) throws(Fatal) -> SourceFile {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw Fatal("open \(path): \(systemErrorText(errno))") }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw Fatal("fstat \(path): \(systemErrorText(errno))") }
        if (st.st_mode & S_IFMT) == S_IFDIR { throw Fatal("open \(path): \(systemErrorText(EISDIR))") }
        return SourceFile(reader: ByteReader(fd: fd, path: path), status: st)
    }

    /// Standard input as the source of `-i`.
    func standardInputSource() throws(Fatal) -> SourceFile {
        var st = stat()
        guard fstat(0, &st) == 0 else { throw Fatal("fstat stdin: \(systemErrorText(errno))") }
        return SourceFile(reader: ByteReader(fd: 0, path: "stdin"), status: st)
    }

    /// Postfix's permission rules for new files: copy group/other read bits from a regular source file
    /// (unless `-p`), and when run as root, act as the source file's owner (unless `-o`).
    func adoptSourceIdentity(_ st: stat, saveMode: Bool, asOwner: Bool) throws(Fatal) {
        if saveMode, (st.st_mode & S_IFMT) == S_IFREG {
            umask(0o022 | (~st.st_mode & 0o077))
        }
        if asOwner, getuid() == 0, st.st_uid != 0 {
            var gid = st.st_gid
            if seteuid(0) != 0 { throw Fatal("seteuid(0): \(systemErrorText(errno))") }
            if setegid(st.st_gid) != 0 { throw Fatal("setegid(\(st.st_gid)): \(systemErrorText(errno))") }
            if setgroups(1, &gid) != 0 { throw Fatal("setgroups(1, &\(st.st_gid)): \(systemErrorText(errno))") }
            if seteuid(st.st_uid) != 0 { throw Fatal("seteuid(\(st.st_uid)): \(systemErrorText(errno))") }
        }
    }

    /// Build `spec` from scratch into a temporary file and swap it in. `parse` reads the source and
    /// stores records; it runs again from the top if the backend restarts the load.
    func bulkBuild(_ spec: MapSpec, source: SourceFile, flags: DictFlags, settings: MapSettings,
                   parse: (LogicalLineReader, StoreRecord) throws(MapError) -> Void) throws(Fatal) {
        if spec.type == "proxy" { throw Fatal("can't create maps via the proxy service") }
        info("open \(spec.type) \(spec.name)")
        var request = OpenRequest(mode: .readWriteCreate, flags: flags.union(.bulkUpdate), settings: settings,
                                  diagnostics: diagnostics)
        request.sizeHint = Int(source.status.st_size)
        // The builder creates its temporary file; a signal that arrives before the handler knows the
        // file's name is held until it does, so an interrupted build never leaves the file behind.
        blockBuildSignals(true)
        for sig in buildSignals { signal(sig, removeTemporaryAndExit) }
        let builder: any TableBuilder
        do {
            builder = try Tool.registry.builder(spec, request)
        } catch {
            blockBuildSignals(false)
            try refuseWithoutCreator(spec)
            throw Fatal(error.message)
        }
        let temporary = strdup(builder.temporaryPath)
        let slash = builder.temporaryPath.lastIndex(of: "/")
        let region = slash.map { builder.temporaryPath[...$0] + "__db." + builder.temporaryPath[builder.temporaryPath.index(after: $0)...] }
            ?? "__db." + builder.temporaryPath
        let regionPath = strdup(String(region))
        interruptedBuildPath = temporary
        interruptedRegionPath = regionPath
        blockBuildSignals(false)
        cleanups.append { builder.abort() }
        let lines = LogicalLineReader(source.reader, warning: { [unowned self] in self.warning($0) })
        do {
            try builder.load { replay, sink in
                if replay {
                    messages.muted.store(true, ordering: .relaxed)
                    guard lines.rewind() else { throw Fatal("seek \(source.reader.path): \(systemErrorText(errno))") }
                }
                try parse(lines) { (key, value, options) throws(MapError) in
                    _ = try sink.put(key, value, options: options)
                }
                if source.reader.readError != 0 {
                    throw Fatal("read \(source.reader.path): \(systemErrorText(source.reader.readError))")
                }
            }
            messages.muted.store(false, ordering: .relaxed)
            try builder.commit()
        } catch let error as MapError {
            // Backend messages are complete, in Postfix's words ("error writing NAME.db: ...").
            messages.muted.store(false, ordering: .relaxed)
            throw Fatal(error.message)
        } catch {
            throw Fatal("table \(spec.type):\(spec.name): write error: \(error)")
        }
        cleanups.removeLast()
        blockBuildSignals(true)
        interruptedBuildPath = nil
        interruptedRegionPath = nil
        blockBuildSignals(false)
        free(temporary)
        free(regionPath)
    }

    /// Postfix builds and `-i` updates go through its bulk-mode creators (`mkmap_open`), so a type without
    /// one is refused before any table is opened, with Debian's texts.
    func refuseWithoutCreator(_ spec: MapSpec) throws(Fatal) {
        let clients = PostfixRelease.current.clients
        guard let type = Tool.registry.type(named: spec.type) else {
            if !spec.name.isEmpty {
                if let warning = clients.unknownTypeWarning { self.warning(ClientBehaviour.fill(warning, spec.type)) }
                throw Fatal(ClientBehaviour.fill(clients.buildUnknownType, spec.type))
            }
            return
        }
        if type.build == nil {
            throw Fatal(ClientBehaviour.fill(clients.buildWithoutCreator, spec.type))
        }
    }

    /// Apply records to an existing table in place (`-i`), under the table's own locks.
    func incrementalUpdate(_ spec: MapSpec, source: SourceFile, flags: DictFlags, settings: MapSettings,
                           parse: (LogicalLineReader, StoreRecord) throws(MapError) -> Void) throws(Fatal) {
        try refuseWithoutCreator(spec)
        let table = try openTable(spec, mode: .readWriteCreate, flags: flags.union(.lock), settings: settings)
        let lines = LogicalLineReader(source.reader, warning: { [unowned self] in self.warning($0) })
        do {
            try parse(lines) { (key, value, options) throws(MapError) in
                _ = try table.update(key, value, options: options)
            }
        } catch {
            throw Fatal(error.message)
        }
        table.close()
    }
}
