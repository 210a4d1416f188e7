import ToolSupport
import PostfixConfig
import PostfixText
import Maps
#if canImport(Glibc)
import Glibc
#endif

/// Postfix's `edit_file` protocol: the new content goes to `PATH.tmp` (created mode 0600 and locked
/// exclusively, so two editors take turns), is flushed to disk, gets mode 0644 and is renamed over PATH.
/// A crash at any point leaves either the old or the new file under PATH, never a partial one.
final class EditFile {
    let path: String
    let temporaryPath: String
    private var fd: Int32

    /// Open and lock `PATH.tmp`; the message of a failure is Postfix's `open PATH.tmp: ERROR`.
    init(path: String) throws(Fatal) {
        self.path = path
        temporaryPath = path + ".tmp"
        while true {
            let fd = open(temporaryPath, O_CREAT | O_WRONLY | O_CLOEXEC, 0o600)
            guard fd >= 0 else { throw Fatal("open \(temporaryPath): \(systemErrorText(errno))") }
            if flock(fd, LOCK_EX) < 0 {
                let e = errno
                close(fd)
                throw Fatal("lock \(temporaryPath): \(systemErrorText(e))")
            }
            var before = stat(), after = stat()
            if fstat(fd, &before) < 0 {
                let e = errno
                close(fd)
                throw Fatal("open \(temporaryPath): \(systemErrorText(e))")
            }
            // Another editor may have renamed the file while we waited for the lock: start over.
            if stat(temporaryPath, &after) < 0 || before.st_dev != after.st_dev || before.st_ino != after.st_ino {
                close(fd)
                continue
            }
            // Left over by a crash in an unexpected state: remove it and start over.
            if after.st_mode & S_IFMT != S_IFREG || after.st_nlink > 1 || after.st_mode & 0o7777 != 0o600 {
                if unlink(temporaryPath) < 0, errno != ENOENT {
                    let e = errno
                    close(fd)
                    throw Fatal("unlink \(temporaryPath): \(systemErrorText(e))")
                }
                close(fd)
                continue
            }
            if ftruncate(fd, 0) < 0 {
                let e = errno
                close(fd)
                throw Fatal("truncate \(temporaryPath): \(systemErrorText(e))")
            }
            self.fd = fd
            return
        }
    }

    /// Remove the temporary file without touching PATH.
    func abandon() {
        guard fd >= 0 else { return }
        unlink(temporaryPath)
        close(fd)
        fd = -1
    }

    /// Write `content`, flush it to disk, set mode 0644 and rename it over PATH (then flush the directory
    /// entry too). On failure the temporary file is removed and PATH is left as it was.
    func commit(_ content: [UInt8]) throws(Fatal) {
        let ok = content.withUnsafeBytes { OutputBuffer.writeAll(fd, $0) }
        if !ok || fchmod(fd, 0o644) < 0 || fsync(fd) < 0 || rename(temporaryPath, path) < 0 {
            let e = errno
            abandon()
            throw Fatal("close \(temporaryPath): \(systemErrorText(e))")
        }
        close(fd)
        fd = -1
        syncDirectory()
    }

    private func syncDirectory() {
        let dir: String
        if let slash = path.lastIndex(of: "/") {
            dir = slash == path.startIndex ? "/" : String(path[..<slash])
        } else {
            dir = "."
        }
        let dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dfd >= 0 {
            fsync(dfd)
            close(dfd)
        }
    }

    /// The lines of the original file, each with its newline (the last may have none); the failure is
    /// Postfix's `open PATH for reading: ERROR` or `read PATH: ERROR`.
    func readOriginal() throws(Fatal) -> [[UInt8]] {
        let src = open(path, O_RDONLY | O_CLOEXEC)
        guard src >= 0 else {
            let e = errno
            abandon()
            throw Fatal("open \(path) for reading: \(systemErrorText(e))")
        }
        defer { close(src) }
        var data: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(src, $0.baseAddress, $0.count) }
            if n > 0 { data.append(contentsOf: chunk[0..<n]); continue }
            if n == 0 { break }
            if errno == EINTR { continue }
            let e = errno
            abandon()
            throw Fatal("read \(path): \(systemErrorText(e))")
        }
        var lines: [[UInt8]] = []
        var start = 0
        for (i, c) in data.enumerated() where c == 0x0A {
            lines.append(Array(data[start...i]))
            start = i + 1
        }
        if start < data.count { lines.append(Array(data[start...])) }
        return lines
    }
}
