import PostfixText
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The temporary-file-and-rename protocol that every from-scratch build uses, so a reader never sees a
/// half-written or empty table and a failed or killed build leaves the old one in place.
public enum AtomicReplace {
    /// The temporary sibling for `target`: same directory, so `rename(2)` is atomic.
    public static func temporaryPath(for target: String) -> String {
        "\(target).tmp.\(getpid())"
    }

    /// Remove temporaries left by builds that were killed (their process no longer exists).
    public static func removeStaleTemporaries(for target: String) {
        let (dir, base) = splitPath(target)
        guard let handle = opendir(dir.isEmpty ? "." : dir) else { return }
        defer { closedir(handle) }
        let prefix = "\(base).tmp."
        while let entry = readdir(handle) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            guard name.hasPrefix(prefix), let pid = Int32(name.dropFirst(prefix.count)), pid > 0 else { continue }
            if pid != getpid(), kill(pid, 0) != 0, errno == ESRCH {
                unlink(dir.isEmpty ? name : "\(dir)/\(name)")
            }
        }
    }

    /// Split a path into directory (empty for none) and last component.
    public static func splitPath(_ path: String) -> (dir: String, base: String) {
        guard let slash = path.lastIndex(of: "/") else { return ("", path) }
        let dir = String(path[..<slash])
        return (dir.isEmpty ? "/" : dir, String(path[path.index(after: slash)...]))
    }

    /// Make `temporary` durable and rename it over `target`.
    ///
    /// When `target` exists, the new file takes its owner and mode (a rebuild keeps them, as an in-place
    /// rebuild would), and the rename happens under an exclusive lock of the old file in the style its
    /// readers use, so an in-place writer such as `postmap -i` is never cut off mid-update.
    public static func commit(temporary: String, target: String, lockStyle: LockStyle) throws(MapError) {
        let tfd = open(temporary, O_RDWR | O_CLOEXEC)
        guard tfd >= 0 else {
            let e = errno
            throw .temporary("open \(temporary): \(systemErrorText(e))", errno: e)
        }
        defer { close(tfd) }
        var old = stat()
        var oldfd: Int32 = -1
        if stat(target, &old) == 0 {
            let mode = old.st_mode & 0o7777
            if fchmod(tfd, mode) != 0 {
                let e = errno
                throw .temporary("change mode of \(temporary): \(systemErrorText(e))", errno: e)
            }
            var mine = stat()
            if fstat(tfd, &mine) == 0, mine.st_uid != old.st_uid || mine.st_gid != old.st_gid {
                if fchown(tfd, old.st_uid, old.st_gid) != 0 {
                    let e = errno
                    throw .temporary("preserve owner of \(target): \(systemErrorText(e))", errno: e)
                }
                // chown clears set-id bits; put the mode back.
                _ = fchmod(tfd, mode)
            }
            oldfd = open(target, (lockStyle == .fcntl ? O_RDWR : O_RDONLY) | O_CLOEXEC)
            if oldfd < 0, lockStyle == .fcntl { oldfd = open(target, O_RDONLY | O_CLOEXEC) }
        }
        // Threads of this process that read the old file share its lock (see `SharedFileLock`): the
        // rename waits for them too, and closing this descriptor, which would drop an fcntl lock they
        // hold, happens before they can take it again.
        let sharedLock = oldfd >= 0 ? SharedFileLock.register(fd: oldfd, style: lockStyle) : nil
        defer {
            if let sharedLock {
                sharedLock.exclusively(fd: nil) { _ in _ = close(oldfd) }
                sharedLock.unregister()
            } else if oldfd >= 0 {
                close(oldfd)
            }
        }
        if fsync(tfd) != 0 {
            let e = errno
            throw .temporary("fsync \(temporary): \(systemErrorText(e))", errno: e)
        }
        // A read-only descriptor cannot take an fcntl write lock; the rename goes ahead without it.
        let renamed: Int32
        if let sharedLock {
            renamed = sharedLock.exclusively(fd: oldfd) { _ in rename(temporary, target) == 0 ? 0 : errno }
        } else {
            if oldfd >= 0 { _ = lockFile(oldfd, style: lockStyle, .exclusive) }
            renamed = rename(temporary, target) == 0 ? 0 : errno
        }
        if renamed != 0 {
            throw .temporary("rename \(temporary) to \(target): \(systemErrorText(renamed))", errno: renamed)
        }
        let (dir, _) = splitPath(target)
        let dfd = open(dir.isEmpty ? "." : dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dfd >= 0 {
            _ = fsync(dfd)
            close(dfd)
        }
    }

    /// Finish a build whose backend has closed its temporary file: rename it over `target`, or, when
    /// `closeStatus` (the backend's close/sync result) or the rename fails, remove it and throw.
    public static func publish(temporary: String, target: String, lockStyle: LockStyle, closeStatus: Int32,
                               closeError: (Int32) -> MapError) throws(MapError) {
        guard closeStatus == 0 else {
            _ = unlink(temporary)
            throw closeError(closeStatus)
        }
        do {
            try commit(temporary: temporary, target: target, lockStyle: lockStyle)
        } catch {
            _ = unlink(temporary)
            throw error
        }
    }
}
