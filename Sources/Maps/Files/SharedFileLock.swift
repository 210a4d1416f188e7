import PostfixText
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The lock that all threads of this process hold together on one table file: an in-process
/// readers-writer lock in front of the file lock that other processes see.
///
/// Why it is needed: `fcntl(2)` locks belong to the process, not to a thread or a descriptor. If two
/// threads each take a shared `fcntl` lock on `NAME.lmdb`, the first `F_UNLCK` releases the lock of
/// both, and closing *any* descriptor of the file (another handle, a rebuild's look at the old file)
/// releases every lock the process holds on it. `flock(2)` locks belong to the open file description,
/// so threads that share a descriptor share one lock, and the first unlock releases it for all.
///
/// So a process keeps one `SharedFileLock` per file (device and inode) and lock style:
/// - the first thread to want it shared takes the file lock (shared); later readers only count
///   themselves in; the last one out releases the file lock through the descriptor that took it;
/// - an exclusive holder waits until no thread of the process holds the file, then takes the file
///   lock exclusively; readers that arrive meanwhile wait for it (writers go first, so a rebuild in
///   the same process is not starved by a stream of lookups);
/// - a descriptor of the file is closed only while no thread holds the lock (`exclusively(fd: nil)`),
///   so a close never drops a lock that another thread still relies on;
/// - a shared hold that has lasted `maximumHold` lets new readers wait until it drains, and the next
///   one pauses briefly before locking again, so a writer in another process (`postmap -i`, a
///   rebuild) that waits for the file lock gets its turn even while many threads keep looking up.
///
/// A thread that already holds the lock shared may take it shared again (two handles of one file in
/// one thread); taking it exclusively while holding it shared fails with `EDEADLK`.
public final class SharedFileLock: @unchecked Sendable {
    // `@unchecked Sendable`: `key` and `style` are immutable; every other stored property is read and
    // written only with `monitor` held (the registry's use counts only with `registryMonitor` held).

    private struct Key: Hashable {
        let device: UInt64
        let inode: UInt64
        let style: Int
    }

    private struct Registration {
        let lock: SharedFileLock
        var users: Int
    }

    /// Every file a handle of this process has registered, with the number of handles using it; only
    /// with `registryMonitor` held. (A POSIX mutex rather than `Synchronization.Mutex`, which Thread
    /// Sanitizer does not see on Linux.)
    nonisolated(unsafe) private static var registry: [Key: Registration] = [:]
    private static let registryMonitor = Monitor()

    /// How long one uninterrupted shared hold may last before new readers let it drain.
    static let maximumHold: UInt64 = 50_000_000
    /// The pause after a drained hold before the next reader locks again, in microseconds.
    static let drainPause: UInt32 = 1_000

    private let key: Key
    /// The file lock style of this file.
    public let style: LockStyle
    private let monitor = Monitor()

    /// Threads holding the lock shared, and how many times each.
    private var holders: [(thread: pthread_t, count: Int)] = []
    private var sharedHolds = 0
    private var exclusiveHeld = false
    private var writersWaiting = 0
    /// A thread is taking the file lock for the first reader; others wait for it to finish.
    private var acquiring = false
    /// The current shared hold has expired: new readers wait for it to drain.
    private var draining = false
    /// The last hold drained for fairness: pause before locking again.
    private var pauseBeforeLocking = false
    /// The descriptor through which the shared file lock was taken.
    private var lockFD: Int32 = -1
    /// When the current shared hold began (monotonic nanoseconds).
    private var holdStarted: UInt64 = 0

    private init(key: Key, style: LockStyle) {
        self.key = key
        self.style = style
    }

    /// The lock of the file open on `fd`, registered as used by one more handle; `nil` when the file
    /// cannot be identified (`fstat` fails). Each registration needs one `unregister()`.
    public static func register(fd: Int32, style: LockStyle) -> SharedFileLock? {
        var st = stat()
        guard fd >= 0, fstat(fd, &st) == 0 else { return nil }
        let key = Key(device: UInt64(st.st_dev), inode: UInt64(st.st_ino), style: style == .flock ? 0 : 1)
        return registryMonitor.withLock {
            if var entry = registry[key] {
                entry.users += 1
                registry[key] = entry
                return entry.lock
            }
            let lock = SharedFileLock(key: key, style: style)
            registry[key] = Registration(lock: lock, users: 1)
            return lock
        }
    }

    /// Drop one handle's registration; the last one forgets the file.
    public func unregister() {
        let key = self.key
        Self.registryMonitor.withLock {
            guard var entry = Self.registry[key], entry.lock === self else { return }
            entry.users -= 1
            Self.registry[key] = entry.users > 0 ? entry : nil
        }
    }

    /// Take the lock shared or exclusively, the file lock through `fd`. Returns 0, or the file lock's
    /// errno (nothing is then held).
    public func acquire(_ operation: LockOperation, fd: Int32) -> Int32 {
        switch operation {
        case .shared: return acquireShared(fd)
        case .exclusive: return acquireExclusive(fd)
        case .unlock: return EINVAL
        }
    }

    /// Give back one `acquire` of `operation`.
    public func release(_ operation: LockOperation) {
        switch operation {
        case .shared: releaseShared()
        case .exclusive: releaseExclusive()
        case .unlock: break
        }
    }

    /// Run `body` while no other thread of the process holds the file: with the file lock taken
    /// exclusively through `fd` when one is given (`body` learns whether that worked; it runs either
    /// way), or without touching the file lock when `fd` is nil (to close a descriptor of the file).
    public func exclusively<T, E: Error>(fd: Int32?, _ body: (_ fileLocked: Bool) throws(E) -> T) throws(E) -> T {
        if let rc = enterExclusive(), rc != 0 {
            // This thread holds the lock shared; nothing else can be excluded. Run without the file lock.
            return try body(false)
        }
        var fileLocked = false
        if let fd { fileLocked = lockFile(fd, style: style, .exclusive) == 0 }
        defer {
            if let fd, fileLocked { _ = lockFile(fd, style: style, .unlock) }
            leaveExclusive()
        }
        return try body(fileLocked)
    }

    // MARK: Shared

    private func acquireShared(_ fd: Int32) -> Int32 {
        let me = pthread_self()
        monitor.lock()
        if let i = holders.firstIndex(where: { pthread_equal($0.thread, me) != 0 }) {
            // Already held by this thread: count it, never wait (a waiting writer waits for us).
            holders[i].count += 1
            sharedHolds += 1
            monitor.unlock()
            return 0
        }
        while true {
            if exclusiveHeld || writersWaiting > 0 || acquiring || draining {
                monitor.wait()
                continue
            }
            if sharedHolds > 0, monotonicNanoseconds() &- holdStarted > Self.maximumHold {
                draining = true
                continue
            }
            break
        }
        if sharedHolds == 0 {
            acquiring = true
            let pause = pauseBeforeLocking
            pauseBeforeLocking = false
            monitor.unlock()
            if pause { usleep(Self.drainPause) }
            let rc = lockFile(fd, style: style, .shared)
            monitor.lock()
            acquiring = false
            guard rc == 0 else {
                monitor.broadcast()
                monitor.unlock()
                return rc
            }
            lockFD = fd
            holdStarted = monotonicNanoseconds()
        }
        sharedHolds += 1
        holders.append((me, 1))
        monitor.broadcast()
        monitor.unlock()
        return 0
    }

    private func releaseShared() {
        let me = pthread_self()
        monitor.withLock {
            guard let i = holders.firstIndex(where: { pthread_equal($0.thread, me) != 0 }) else { return }
            holders[i].count -= 1
            if holders[i].count == 0 { holders.remove(at: i) }
            sharedHolds -= 1
            guard sharedHolds == 0 else { return }
            _ = lockFile(lockFD, style: style, .unlock)
            lockFD = -1
            if draining {
                draining = false
                pauseBeforeLocking = true
            }
            monitor.broadcast()
        }
    }

    // MARK: Exclusive

    /// Wait until no thread holds the lock and hold it in-process; `EDEADLK` (holding nothing) when
    /// this thread holds it shared.
    private func enterExclusive() -> Int32? {
        let me = pthread_self()
        return monitor.withLock { () -> Int32? in
            if holders.contains(where: { pthread_equal($0.thread, me) != 0 }) { return EDEADLK }
            writersWaiting += 1
            while sharedHolds > 0 || exclusiveHeld || acquiring { monitor.wait() }
            writersWaiting -= 1
            exclusiveHeld = true
            return nil
        }
    }

    private func leaveExclusive() {
        monitor.withLock {
            exclusiveHeld = false
            monitor.broadcast()
        }
    }

    /// The descriptor of the current exclusive file lock.
    private var exclusiveFD: Int32 = -1

    private func acquireExclusive(_ fd: Int32) -> Int32 {
        if let rc = enterExclusive() { return rc }
        let rc = lockFile(fd, style: style, .exclusive)
        guard rc == 0 else {
            leaveExclusive()
            return rc
        }
        monitor.withLock { exclusiveFD = fd }
        return 0
    }

    private func releaseExclusive() {
        let fd = monitor.withLock { () -> Int32 in
            let fd = exclusiveFD
            exclusiveFD = -1
            return fd
        }
        if fd >= 0 { _ = lockFile(fd, style: style, .unlock) }
        leaveExclusive()
    }
}
