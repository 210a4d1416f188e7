import PostfixText
#if canImport(Glibc)
import Glibc
#endif

/// Whole-file reads for the small files explain looks at (master.cf, `:include:` files, `/file`
/// patterns of match lists).
enum FileText {
    /// The file's bytes, or the errno of the failure.
    static func read(_ path: String, limit: Int = Int.max) -> Result<[UInt8], SystemErrno> {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 { return .failure(SystemErrno(errno)) }
        defer { close(fd) }
        var out: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                return .failure(SystemErrno(errno))
            }
            if n == 0 { return .success(out) }
            out.append(contentsOf: buffer[0..<min(n, limit - out.count)])
            if out.count >= limit { return .success(out) }
        }
    }

    /// Why local(8) (local/include.c) refuses an `:include:` file; each is a 5.3.5 bounce.
    struct IncludeProblem: Error {
        /// local(8)'s warning.
        var warning: String
    }

    /// An `:include:` file checked as local(8) checks it before opening it: an absolute path, a regular
    /// file (symbolic links followed), not world-writable; then at most `limit` bytes of it, and
    /// whether there was more.
    static func includeFile(_ path: String, limit: Int) -> Result<([UInt8], Bool), IncludeProblem> {
        guard path.hasPrefix("/") else { return .failure(IncludeProblem(warning: ":include:\(path) uses a relative path")) }
        var st = stat()
        if stat(path, &st) < 0 {
            return .failure(IncludeProblem(warning: "unable to lookup :include: file \(path): \(SystemErrno(errno).text)"))
        }
        if st.st_mode & S_IFMT != S_IFREG {
            return .failure(IncludeProblem(warning: ":include: file \(path) is not a regular file"))
        }
        if st.st_mode & S_IWOTH != 0 {
            return .failure(IncludeProblem(warning: ":include: file \(path) is world writable"))
        }
        switch read(path, limit: limit + 1) {
        case .failure(let e): return .failure(IncludeProblem(warning: "cannot open include file \(path): \(e.text)"))
        case .success(var bytes):
            let truncated = bytes.count > limit
            if truncated { bytes.removeLast(bytes.count - limit) }
            return .success((bytes, truncated))
        }
    }

    /// Split into lines (without their newlines), numbered from 1.
    static func lines(_ bytes: [UInt8]) -> [(number: Int, text: [UInt8])] {
        var out: [(Int, [UInt8])] = []
        var start = 0
        var number = 0
        for (i, b) in bytes.enumerated() where b == 0x0A {
            number += 1
            out.append((number, Array(bytes[start..<i])))
            start = i + 1
        }
        if start < bytes.count { out.append((number + 1, Array(bytes[start...]))) }
        return out
    }
}

/// A system error number with its `strerror` text.
struct SystemErrno: Error {
    var code: Int32
    init(_ code: Int32) { self.code = code }
    var text: String { systemErrorText(code) }
}
