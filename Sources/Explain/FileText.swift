import PostfixText
#if canImport(Glibc)
import Glibc
#endif

/// Whole-file reads for the small files explain looks at (master.cf, `:include:` files, `/file`
/// patterns of match lists).
enum FileText {
    /// The file's bytes, or the errno of the failure.
    static func read(_ path: String) -> Result<[UInt8], SystemErrno> {
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
            out.append(contentsOf: buffer[0..<n])
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
