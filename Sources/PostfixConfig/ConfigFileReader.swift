import PostfixText
#if canImport(Glibc)
import Glibc
#endif

/// Postfix's `dict_load_file_xt()` / `dict_load_fp()`: read `name = value` logical lines into a table,
/// warning `overriding earlier entry` when a later line changes a value.
public enum ConfigFileReader {
    /// Why a file could not be read.
    public enum Failure: Error {
        /// `open()` failed with this errno (the caller words the message).
        case open(Int32)
        /// A fatal error with Postfix's text.
        case fatal(Fatal)
    }

    /// Read `path` into `table`. With `rereadHotFile`, a file modified within the last second is read
    /// again after 300 ms until it has cooled down, as Postfix does (so a file that is being written is
    /// not taken half-way; the repeated reads repeat the `overriding` warnings, as in Postfix).
    public static func load(_ path: String, into table: ParameterDictionary, warn: @escaping (String) -> Void,
                     rereadHotFile: Bool) throws(Failure) {
        var before = time(nil)
        while true {
            let fd = open(path, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else { throw .open(errno) }
            defer { close(fd) }
            let reader = ByteReader(fd: fd, path: path)
            do throws(Fatal) {
                try loadLines(LogicalLineReader(reader, warning: warn), path: path, into: table, warn: warn)
            } catch {
                throw .fatal(error)
            }
            if reader.readError != 0 {
                throw .fatal(Fatal("read \(path): \(systemErrorText(reader.readError))"))
            }
            var st = stat()
            let statOK = fstat(fd, &st) == 0
            let after = time(nil)
            guard rereadHotFile, statOK else { return }
            if st.st_mtim.tv_sec < before - 1 || st.st_mtim.tv_sec > after { return }
            usleep(300_000)
            before = after
        }
    }

    /// Read logical lines from memory (tests, database client files already open).
    public static func loadLines(_ lines: LogicalLineReader, path: String, into table: ParameterDictionary,
                          warn: (String) -> Void) throws(Fatal) {
        while let line = lines.next() {
            let text = ConfigText.cString(line.text)
            switch ConfigText.splitNameValue(text) {
            case .failure(let e):
                throw Fatal("\(path), line \(line.lineNumber): \(e.text): \"\(ConfigText.text(text))\"")
            case .success(let (name, value)):
                if let old = table[name], old != value {
                    warn("\(path), line \(line.lineNumber): overriding earlier entry: \(ConfigText.text(name))=\(ConfigText.text(old))")
                }
                table.set(name, value)
            }
        }
    }
}
