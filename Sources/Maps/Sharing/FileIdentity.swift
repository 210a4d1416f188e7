import PostfixText
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// What identifies one version of a file for change detection (Postfix's `dict_changed`): the inode it
/// names, its modification time and its size. An atomic rebuild renames a new inode into place; an
/// in-place update (`postmap -i`) changes the modification time.
public struct FileIdentity: Hashable, Sendable {
    public let device: UInt64
    public let inode: UInt64
    public let modifiedSeconds: Int
    public let modifiedNanoseconds: Int
    public let size: Int64

    /// The identity of the file `path` names now (following symlinks); nil when it cannot be
    /// examined (for example, it does not exist).
    public init?(path: String) {
        var st = stat()
        guard stat(path, &st) == 0 else { return nil }
        self.init(st)
    }

    /// The identity of an open file.
    public init?(fd: Int32) {
        var st = stat()
        guard fstat(fd, &st) == 0 else { return nil }
        self.init(st)
    }

    private init(_ st: stat) {
        device = UInt64(st.st_dev)
        inode = UInt64(st.st_ino)
        modifiedSeconds = Int(st.st_mtim.tv_sec)
        modifiedNanoseconds = Int(st.st_mtim.tv_nsec)
        size = Int64(st.st_size)
    }

    /// The identities of `paths`, in order (nil for each that cannot be examined).
    public static func of(_ paths: [String]) -> [FileIdentity?] {
        paths.map { FileIdentity(path: $0) }
    }
}
