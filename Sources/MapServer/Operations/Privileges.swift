import Logging
#if canImport(Glibc)
import Glibc
#endif

/// Privilege handling: the unix sockets' owner and mode, and the drop to an unprivileged user after
/// the listeners are bound (as Postfix's daemons drop to `mail_owner`).
enum Privileges {
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// Drop to `user` (its uid, gid and groups) when running as root; nothing otherwise.
    static func drop(to user: String?, logger: Logger) throws {
        guard let user else { return }
        guard geteuid() == 0 else {
            logger.info("not running as root: user = \(user) is ignored")
            return
        }
        guard let entry = getpwnam(user) else { throw Failure(description: "unknown user: \(user)") }
        let uid = entry.pointee.pw_uid
        let gid = entry.pointee.pw_gid
        guard uid != 0 else { throw Failure(description: "user = \(user): refusing to run as a user with uid 0") }
        guard initgroups(user, gid) == 0 else { throw Failure(description: "initgroups \(user): \(String(cString: strerror(errno)))") }
        guard setgid(gid) == 0 else { throw Failure(description: "setgid \(gid): \(String(cString: strerror(errno)))") }
        guard setuid(uid) == 0 else { throw Failure(description: "setuid \(uid): \(String(cString: strerror(errno)))") }
    }

    /// Give a unix socket its owner (`user` or `user:group`) and mode.
    static func setSocket(_ path: String, owner: String?, mode: mode_t) throws {
        guard chmod(path, mode) == 0 else { throw Failure(description: "chmod \(path): \(String(cString: strerror(errno)))") }
        guard let owner else { return }
        let parts = owner.split(separator: ":", maxSplits: 1).map(String.init)
        guard let name = parts.first, let entry = getpwnam(name) else { throw Failure(description: "unix_socket_owner: unknown user: \(owner)") }
        var gid = entry.pointee.pw_gid
        if parts.count == 2 {
            guard let group = getgrnam(parts[1]) else { throw Failure(description: "unix_socket_owner: unknown group: \(parts[1])") }
            gid = group.pointee.gr_gid
        }
        guard chown(path, entry.pointee.pw_uid, gid) == 0 else {
            throw Failure(description: "chown \(path): \(String(cString: strerror(errno)))")
        }
    }
}
