import Foundation
import Maps
import MapsBerkeleyDB
import MapsLMDB
import Synchronization
import Testing
import TestSupport

/// The process-wide file lock (`SharedFileLock`) as another process sees it: threads and handles of one
/// process never drop each other's `fcntl` or `flock` lock, and a writer in another process gets its
/// turn while threads keep looking up.
@Suite(.serialized) struct SharedFileLockTests {
    static let flags = DictFlags.commandLineDefault.union(.lock)

    /// A directory for one test, removed afterwards.
    final class Scratch {
        let dir: String
        init() throws {
            dir = FileManager.default.temporaryDirectory.appendingPathComponent("lock-\(UUID().uuidString)").path
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        }
        deinit { try? FileManager.default.removeItem(atPath: dir) }
    }

    static func buildTable(_ type: String, _ name: String) throws {
        let builder = try ThreadSharingTests.registry.builder(MapSpec(type: type, name: name),
                                                              OpenRequest(mode: .readWriteCreate, flags: .commandLineDefault))
        try builder.load { _, sink in _ = try sink.put(Array("k".utf8), Array("v".utf8)) }
        try builder.commit()
    }

    static func open(_ type: String, _ name: String) throws -> any LookupTable {
        try ThreadSharingTests.registry.open(MapSpec(type: type, name: name), OpenRequest(flags: flags))
    }

    /// Whether another process could lock `path` exclusively right now, in `style`. The child process
    /// only makes system calls between fork and exit.
    static func otherProcessCanLock(_ path: String, style: LockStyle) -> Bool {
        guard let cPath = strdup(path) else { return false }
        defer { free(cPath) }
        var probe = flock()
        probe.l_type = Int16(F_WRLCK)
        probe.l_whence = Int16(SEEK_SET)
        let pid = fork()
        if pid == 0 {
            let fd = Glibc.open(cPath, O_RDWR)
            guard fd >= 0 else { _exit(2) }
            switch style {
            case .fcntl:
                // F_GETLK reports a conflicting lock of another process, or F_UNLCK.
                guard fcntl(fd, F_GETLK, &probe) == 0 else { _exit(2) }
                _exit(probe.l_type == Int16(F_UNLCK) ? 0 : 1)
            case .flock:
                let rc: Int32 = flock(fd, LOCK_EX | LOCK_NB)
                _exit(rc == 0 ? 0 : 1)
            }
        }
        var status: Int32 = 0
        waitpid(pid, &status, 0)
        return (status >> 8) & 0xff == 0
    }

    @Test("a thread's unlock or close never drops the lock another handle of the process holds", arguments: ["lmdb", "hash"])
    func lockSurvivesOtherHandles(type: String) throws {
        let scratch = try Scratch()
        let name = "\(scratch.dir)/map"
        try Self.buildTable(type, name)
        let file = type == "lmdb" ? "\(name).lmdb" : "\(name).db"
        let style: LockStyle = type == "lmdb" ? .fcntl : .flock
        let holder = try Self.open(type, name), other = try Self.open(type, name)
        #expect(Self.otherProcessCanLock(file, style: style))

        try holder.beginBatch()  // holds the shared lock
        #expect(Self.otherProcessCanLock(file, style: style) == false)
        // Another handle of the same file takes and releases the lock: the batch's lock stays.
        #expect(try other.lookup(Array("k".utf8)) == Array("v".utf8))
        #expect(Self.otherProcessCanLock(file, style: style) == false)

        // Closing the other handle (its descriptor) on another thread waits for the batch to end.
        let closed = Atomic<Bool>(false)
        let box = UncheckedBox(other)
        let closer = Thread {
            box.value.close()
            closed.store(true, ordering: .releasing)
        }
        closer.start()
        // It must not close while the batch holds the lock: 200 ms in which an early close fails at once.
        let closedEarly = waitUntil(deadline: 0.2, interval: 0.001) { closed.load(ordering: .acquiring) }
        #expect(closedEarly == false)
        #expect(Self.otherProcessCanLock(file, style: style) == false)

        holder.endBatch()
        let deadline = Date().addingTimeInterval(10)
        while !closed.load(ordering: .acquiring), Date() < deadline { usleep(1_000) }
        let closedAfterBatch = closed.load(ordering: .acquiring)
        #expect(closedAfterBatch)
        #expect(Self.otherProcessCanLock(file, style: style))
        holder.close()
    }

    @Test("a writer in another process gets the lmdb lock while 8 threads keep looking up")
    func outsideWriterIsNotStarved() throws {
        let scratch = try Scratch()
        let name = "\(scratch.dir)/map"
        try Self.buildTable("lmdb", name)
        let table = try SharedTable(MapSpec(type: "lmdb", name: name), registry: ThreadSharingTests.registry,
                                    request: OpenRequest(flags: Self.flags))
        let stop = Atomic<Bool>(false), lookups = Atomic<Int>(0), wrong = Atomic<Int>(0)
        var readers: [Thread] = []
        let finished = DispatchGroup()
        for _ in 0..<8 {
            finished.enter()
            let reader = Thread {
                while !stop.load(ordering: .acquiring) {
                    if (try? table.lookup(Array("k".utf8))) != Array("v".utf8) { wrong.add(1, ordering: .relaxed) }
                    lookups.add(1, ordering: .relaxed)
                }
                finished.leave()
            }
            readers.append(reader)
            reader.start()
        }
        defer {
            stop.store(true, ordering: .releasing)
            finished.wait()
        }
        while lookups.load(ordering: .relaxed) < 1000 { usleep(1_000) }
        // The child waits for an exclusive fcntl lock, holds it for 10 ms, and exits.
        guard let cPath = strdup("\(name).lmdb") else { return }
        defer { free(cPath) }
        var lock = flock()
        lock.l_type = Int16(F_WRLCK)
        lock.l_whence = Int16(SEEK_SET)
        let started = Date()
        let pid = fork()
        if pid == 0 {
            let fd = Glibc.open(cPath, O_RDWR)
            guard fd >= 0, fcntl(fd, F_SETLKW, &lock) == 0 else { _exit(2) }
            usleep(10_000)
            _exit(0)
        }
        var status: Int32 = 0
        var waited = 0
        while waitpid(pid, &status, WNOHANG) == 0 {
            usleep(1_000)
            waited += 1
            if waited > 20_000 { kill(pid, SIGKILL) }
        }
        let elapsed = Date().timeIntervalSince(started)
        #expect((status >> 8) & 0xff == 0 && status & 0x7f == 0, "the writer did not get the lock")
        #expect(elapsed < 5, "the writer waited \(elapsed) s")
        let wrongAnswers = wrong.load(ordering: .relaxed)
        #expect(wrongAnswers == 0)
    }
}

/// Carries a handle to the one thread that uses it next.
final class UncheckedBox<T>: @unchecked Sendable {
    // `@unchecked Sendable`: handed over once; the receiving thread is the only user afterwards.
    let value: T
    init(_ value: T) { self.value = value }
}
