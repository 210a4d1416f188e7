import PostfixText
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A mutex with one condition variable (POSIX threads), for state that threads wait on. The standard
/// library's `Mutex` has no condition variable, and Thread Sanitizer understands these calls.
///
/// `@unchecked Sendable`: the only stored properties are two pointers fixed at init, to a mutex and a
/// condition variable that POSIX lets any thread use concurrently; they are freed in `deinit`, when no
/// thread can hold a reference.
public final class Monitor: @unchecked Sendable {
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private let condition: UnsafeMutablePointer<pthread_cond_t>

    /// A monitor; `recursive` lets the thread that holds it take it again (each `lock` needs its `unlock`).
    public init(recursive: Bool = false) {
        mutex = .allocate(capacity: 1)
        condition = .allocate(capacity: 1)
        var attributes = pthread_mutexattr_t()
        pthread_mutexattr_init(&attributes)
        if recursive { pthread_mutexattr_settype(&attributes, Int32(PTHREAD_MUTEX_RECURSIVE)) }
        pthread_mutex_init(mutex, &attributes)
        pthread_mutexattr_destroy(&attributes)
        pthread_cond_init(condition, nil)
    }

    deinit {
        pthread_cond_destroy(condition)
        pthread_mutex_destroy(mutex)
        condition.deallocate()
        mutex.deallocate()
    }

    public func lock() { pthread_mutex_lock(mutex) }
    public func unlock() { pthread_mutex_unlock(mutex) }

    /// Wait for a `broadcast`; only with the monitor held. Wake-ups may be spurious: wait in a loop.
    public func wait() { pthread_cond_wait(condition, mutex) }
    /// Wake every waiter.
    public func broadcast() { pthread_cond_broadcast(condition) }

    /// Run `body` with the monitor held.
    @inline(__always)
    public func withLock<T, E: Error>(_ body: () throws(E) -> T) throws(E) -> T {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body()
    }
}

/// Nanoseconds of `CLOCK_MONOTONIC`.
func monotonicNanoseconds() -> UInt64 {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return UInt64(now.tv_sec) &* 1_000_000_000 &+ UInt64(now.tv_nsec)
}

/// A readers-writer lock (POSIX threads): many readers at once, or one writer. Readers that do not
/// meet a writer only update the lock's counter; they never sleep. A waiting writer goes first (a
/// stream of readers cannot starve it), so a thread must not take it for reading twice.
///
/// `@unchecked Sendable`: the only stored property is a pointer, fixed at init, to a lock that POSIX lets
/// any thread use concurrently; it is freed in `deinit`, when no thread can hold a reference.
final class ReadWriteLock: @unchecked Sendable {
    private let lock: UnsafeMutablePointer<pthread_rwlock_t>

    init() {
        lock = .allocate(capacity: 1)
        var attributes = pthread_rwlockattr_t()
        pthread_rwlockattr_init(&attributes)
        pthread_rwlockattr_setkind_np(&attributes, Int32(PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP))
        pthread_rwlock_init(lock, &attributes)
        pthread_rwlockattr_destroy(&attributes)
    }

    deinit {
        pthread_rwlock_destroy(lock)
        lock.deallocate()
    }

    @inline(__always)
    func reading<T>(_ body: () -> T) -> T {
        pthread_rwlock_rdlock(lock)
        defer { pthread_rwlock_unlock(lock) }
        return body()
    }

    @inline(__always)
    func writing<T>(_ body: () -> T) -> T {
        pthread_rwlock_wrlock(lock)
        defer { pthread_rwlock_unlock(lock) }
        return body()
    }
}
