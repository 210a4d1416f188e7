import PostfixText
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The two lock styles Postfix uses on Linux: `flock(2)` for Berkeley DB files (`INTERNAL_LOCK`) and
/// `fcntl(2)` record locks for LMDB files. A process that shares a file with Postfix must use the same one.
public enum LockStyle: Sendable {
    case flock
    case fcntl
}

/// What lock to hold.
public enum LockOperation: Sendable {
    case shared
    case exclusive
    case unlock
}

/// Take, change or drop a whole-file lock on `fd`, waiting as long as needed. Retries `EINTR`.
/// Returns 0 or an errno value.
@discardableResult
public func lockFile(_ fd: Int32, style: LockStyle, _ operation: LockOperation) -> Int32 {
    while true {
        let rc: Int32
        switch style {
        case .flock:
            let op: Int32 = switch operation {
            case .shared: LOCK_SH
            case .exclusive: LOCK_EX
            case .unlock: LOCK_UN
            }
            rc = flock(fd, op)
        case .fcntl:
            var lock = flock()
            lock.l_type = switch operation {
            case .shared: Int16(F_RDLCK)
            case .exclusive: Int16(F_WRLCK)
            case .unlock: Int16(F_UNLCK)
            }
            lock.l_whence = Int16(SEEK_SET)
            lock.l_start = 0
            lock.l_len = 0
            rc = fcntl(fd, F_SETLKW, &lock)
        }
        if rc == 0 { return 0 }
        if errno != EINTR { return errno }
    }
}
