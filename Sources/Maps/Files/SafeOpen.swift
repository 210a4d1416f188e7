import PostfixText
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Postfix's `safe_open()` rules for a table file that is about to be changed in place (`postmap -i`,
/// `-d`): it must not be a symbolic link, unless the link belongs to root and sits in a directory that
/// belongs to root and that group and other cannot write; it must have exactly one hard link; and the file
/// opened must be the file the name points at. Otherwise a user who can write the directory could make a
/// tool that root runs write into any table on the system. Messages are `open PATH: ` followed by
/// safe_open's own reason (`file is a symbolic link`, `file has 2 hard links`).
public enum SafeOpen {
    /// Check `path` before it is opened for writing. A missing file passes (it will be created); a
    /// dangling symbolic link does not.
    public static func checkBeforeWrite(_ path: String) throws(MapError) {
        var lst = stat()
        guard lstat(path, &lst) == 0 else { return }
        var target = lst
        if isLink(lst) {
            guard stat(path, &target) == 0 else { throw refusal(path, "file is a symbolic link") }
        }
        if target.st_nlink != 1 { throw refusal(path, "file has \(target.st_nlink) hard links") }
        if isLink(lst), !trustedLink(path, lst) { throw refusal(path, "file is a symbolic link") }
    }

    /// Check, after a backend opened `path` for writing, that its descriptor `fd` is that file
    /// (`safe_open_exist`'s comparison of the open file with `lstat`).
    public static func checkOpened(_ fd: Int32, path: String) throws(MapError) {
        var fst = stat()
        guard fd >= 0, fstat(fd, &fst) == 0 else {
            let e = errno
            throw .temporary("\(path): bad open file status: \(systemErrorText(e))", errno: e)
        }
        if fst.st_nlink != 1 { throw refusal(path, "file has \(fst.st_nlink) hard links") }
        var lst = stat()
        guard lstat(path, &lst) == 0 else {
            let e = errno
            throw refusal(path, "file status changed unexpectedly: \(systemErrorText(e))")
        }
        if isLink(lst) {
            if trustedLink(path, lst) { return }
            throw refusal(path, "file is a symbolic link")
        }
        if fst.st_dev != lst.st_dev || fst.st_ino != lst.st_ino || fst.st_nlink != lst.st_nlink
            || fst.st_mode != lst.st_mode {
            throw refusal(path, "file status changed unexpectedly")
        }
    }

    private static func isLink(_ st: stat) -> Bool { (st.st_mode & S_IFMT) == S_IFLNK }

    /// safe_open's exception: a link owned by root in a root-owned directory that only root can write.
    private static func trustedLink(_ path: String, _ link: stat) -> Bool {
        guard link.st_uid == 0 else { return false }
        let (dir, _) = AtomicReplace.splitPath(path)
        var parent = stat()
        return stat(dir.isEmpty ? "." : dir, &parent) == 0 && parent.st_uid == 0
            && (parent.st_mode & (S_IWGRP | S_IWOTH)) == 0
    }

    private static func refusal(_ path: String, _ why: String) -> MapError {
        .temporary("open \(path): \(why)", errno: EPERM)
    }
}
