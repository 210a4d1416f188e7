import PostfixText
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// `open(2)` for reading; outside `TextHash`, whose own `open` would shadow it.
private func openForReading(_ path: String) -> Int32 { open(path, O_RDONLY | O_CLOEXEC) }

/// `texthash:FILE`: a postmap source file read into memory at open (Postfix's `dict_thash.c`), with
/// postmap's parser and warnings, and duplicates handled at every load as the flags say.
public enum TextHash {
    /// The type name.
    public static let typeName = "texthash"

    /// Read `path` into a table. A file modified within the last second may still be being written, so,
    /// as Postfix does, the result is then discarded and the file read again after 0.3 s until it has
    /// been quiet for a second (each read repeats its warnings).
    public static func open(_ path: String, _ request: OpenRequest) throws(MapError) -> any LookupTable {
        guard request.mode == .readOnly else {
            throw .usage("\(typeName):\(path) map requires O_RDONLY access mode")
        }
        var before = time(nil)
        while true {
            let (entries, modified) = try load(path, request)
            let after = time(nil)
            if modified < before - 1 || modified > after {
                let table = MemoryTable(type: typeName, name: path, entries: entries,
                                        foldLookups: !request.utf8Active && request.flags.contains(.foldFixed))
                return request.withUTF8Layer(table, fold: request.flags.contains(.foldFixed))
            }
            usleep(300_000)
            before = after
        }
    }

    /// One read of the file: its records and its modification time when the read ended.
    private static func load(_ path: String, _ request: OpenRequest) throws(MapError) -> (PostfixHashTable, time_t) {
        let fd = openForReading(path)
        guard fd >= 0 else {
            let e = errno
            throw .temporary("open database \(path): \(systemErrorText(e))", errno: e)
        }
        defer { close(fd) }
        let diagnostics = request.diagnostics
        let lines = LogicalLineReader(ByteReader(fd: fd, path: path), warning: { diagnostics.warning($0) })
        var entries = PostfixHashTable()
        while let line = lines.next() {
            try store(line, into: &entries, path: path, request: request)
        }
        var st = stat()
        guard fstat(fd, &st) == 0 else {
            let e = errno
            throw .temporary("fstat \(path): \(systemErrorText(e))", errno: e)
        }
        if lines.reader.readError != 0 {
            let e = lines.reader.readError
            throw .temporary("read \(path): \(systemErrorText(e))", errno: e)
        }
        return (entries, st.st_mtim.tv_sec)
    }

    /// Parse one logical line as postmap does and store its record under the duplicate policy.
    private static func store(_ line: LogicalLine, into entries: inout PostfixHashTable, path: String,
                              request: OpenRequest) throws(MapError) {
        let warn = request.diagnostics.warning
        let text = KeyCodec.cString(line.text)
        let at = "\(path), line \(line.lineNumber)"
        if request.utf8Active, !CaseFolding.isASCII(text), !CaseFolding.isValidUTF8(text) {
            warn("\(at): non-UTF-8 input \"\(ByteText.string(text))\" -- ignoring this line")
            return
        }
        var record: (key: [UInt8], value: [UInt8])
        switch SourceRecord.split(text) {
        case .failure(.unbalancedQuote):
            warn("\(at): unbalanced '\"' in '\(ByteText.string(text))' -- ignoring this line")
            return
        case .failure(.expectedKeyValue):
            warn("\(at): expected format: key whitespace value -- ignoring this line")
            return
        case .success(let split):
            record = split
        }
        if record.key.last == 0x3A {
            warn("\(at): record is in \"key: value\" format; is this an alias file?")
        }
        if request.flags.contains(.sourceValueIsFile) {
            switch ValueFiles.encodedContents(of: record.value) {
            case .failure(let failure):
                warn("\(at): \(failure.message): skipping this entry")
                return
            case .success(let encoded):
                record.value = encoded
            }
        }
        let key = request.storedFixedKey(record.key)
        guard entries.contains(key) else {
            entries.set(key, record.value)
            return
        }
        // Postfix names the key as written in the file, not as folded.
        let duplicate = "\(at): duplicate entry: \"\(ByteText.string(record.key))\""
        switch request.flags.duplicatePolicy {
        case .ignore: break
        case .replace: entries.set(key, record.value)
        case .warn: warn(duplicate)
        case .fatal: throw .configuration(duplicate)
        }
    }
}
