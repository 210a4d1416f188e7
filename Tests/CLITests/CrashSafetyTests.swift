import Foundation
import Maps
import MapsBerkeleyDB
import MapsLMDB
import Testing
import TestSupport

/// Rebuilds never show a reader a partial or empty table, and a killed build leaves the old one answering.
@Suite(.serialized)
struct CrashSafetyTests {
    static let types = ["hash", "btree", "lmdb"]

    /// A source whose every key maps to `tag`.
    static func source(records: Int, tag: String) -> [UInt8] {
        var text = ""
        text.reserveCapacity(records * 60)
        for n in 0..<records { text += "user\(n)@example.com\t\(tag)-\(n)\n" }
        return Array(text.utf8)
    }

    static func registry() -> MapRegistry { MapRegistry([BerkeleyDBMaps.hash, BerkeleyDBMaps.btree, LMDBMaps.lmdb]) }

    @Test("readers never fail while the table is rebuilt 50 times", arguments: types)
    func readersDuringRebuilds(type: String) async throws {
        let dir = TempDir("rebuild")
        dir.write("main.cf", "compatibility_level = 0\n")
        dir.write("a", Self.source(records: 5_000, tag: "old"))
        dir.write("b", Self.source(records: 5_000, tag: "new"))
        dir.write("map", Self.source(records: 5_000, tag: "old"))
        try run(Paths.ours("postmap"), ["-c", ".", "\(type):map"], in: dir.url)

        let done = ManagedAtomicFlag()
        let failures = FailureLog()
        let probeKeys = ["user0@example.com", "user2500@example.com", "user4999@example.com"]

        // Postfix's postmap and ours as reader processes; a library reader that reopens for each lookup.
        // Readers run on their own threads: they block, and the cooperative pool has only one per core.
        let group = DispatchGroup()
        let processReads = Counter(), libraryReads = Counter()
        let readsPerProgram = FailureLog()
        let readers = [Paths.ours("postmap")] + (Oracle.postmap(for: type) ? [Paths.postfix("postmap")] : [])
        for exe in readers {
            DispatchQueue.global().async(group: group) {
                var reads = 0
                while !done.isSet, reads < 2_000 {
                    let key = probeKeys[reads % probeKeys.count]
                    let n = key.dropFirst(4).prefix(while: { $0 != "@" })
                    let o: Outcome
                    do {
                        o = try run(exe, ["-c", ".", "-q", key, "\(type):map"], in: dir.url)
                    } catch {
                        // A reader that cannot start is a failure, not a reader to leave out.
                        failures.add("\(exe) did not start: \(error)")
                        break
                    }
                    let value = o.out
                    if o.status != 0 || (value != "old-\(n)\n" && value != "new-\(n)\n") || !o.stderr.isEmpty {
                        failures.add("\(exe) read \(key): status \(o.status) value \(value.debugDescription) stderr \(o.stderr)")
                    }
                    reads += 1
                }
                processReads.add(reads)
                readsPerProgram.add("\(exe): \(reads)")
            }
        }
        DispatchQueue.global().async(group: group) {
            var reads = 0
            let registry = Self.registry()
            while !done.isSet, reads < 200_000 {
                let key = probeKeys[reads % probeKeys.count]
                let n = key.dropFirst(4).prefix(while: { $0 != "@" })
                do {
                    let table = try registry.open(MapSpec(type: type, name: dir.file("map")),
                                                  OpenRequest(flags: DictFlags.commandLineDefault.union(.lock)))
                    let value = try table.lookup(Array(key.utf8)).map { String(decoding: $0, as: UTF8.self) }
                    table.close()
                    if value != "old-\(n)" && value != "new-\(n)" {
                        failures.add("library read \(key): \(value.debugDescription)")
                    }
                } catch {
                    failures.add("library read \(key): \(error)")
                }
                reads += 1
            }
            libraryReads.add(reads)
        }

        for round in 0..<50 {
            try FileManager.default.removeItem(atPath: dir.file("map"))
            try FileManager.default.copyItem(atPath: dir.file(round % 2 == 0 ? "b" : "a"), toPath: dir.file("map"))
            let o = try run(Paths.ours("postmap"), ["-c", ".", "\(type):map"], in: dir.url)
            #expect(o.status == 0 && o.stderr.isEmpty, "rebuild \(round): \(o)")
        }
        done.set()
        group.wait()
        #expect(failures.entries.isEmpty, "\(failures.entries.prefix(5))")
        #expect(processReads.value > 10 && libraryReads.value > 100,
                "readers ran: \(processReads.value) process reads, \(libraryReads.value) library reads")
        // Every reader process took part, Debian's postmap included when it is there.
        #expect(readsPerProgram.entries.count == readers.count, "\(readsPerProgram.entries)")
        for entry in readsPerProgram.entries {
            #expect(!entry.hasSuffix(": 0"), "a reader never read: \(entry)")
        }
        // No temporary files left behind.
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.contains(".tmp.") }
        #expect(leftovers.isEmpty)
    }

    // Synchronous on purpose: a polling loop with Task.sleep waits for a cooperative thread, which the
    // other tests running in parallel can hold for longer than the build takes.
    @Test("a build killed with SIGKILL leaves the old table answering", arguments: types)
    func killedBuild(type: String) throws {
        let dir = TempDir("kill")
        dir.write("main.cf", "compatibility_level = 0\n")
        dir.write("map", Self.source(records: 1_000, tag: "old"))
        try run(Paths.ours("postmap"), ["-c", ".", "\(type):map"], in: dir.url)
        dir.write("map", Self.source(records: 400_000, tag: "new"))

        let process = Process()
        process.executableURL = URL(fileURLWithPath: Paths.ours("postmap"))
        process.arguments = ["-c", ".", "\(type):map"]
        process.currentDirectoryURL = dir.url
        process.standardError = FileHandle.nullDevice
        try process.run()
        // Wait until the temporary file exists, then kill the build mid-way.
        var sawTemporary = false
        for _ in 0..<500 {
            if (try FileManager.default.contentsOfDirectory(atPath: dir.path)).contains(where: { $0.contains(".tmp.") }) {
                sawTemporary = true
                break
            }
            usleep(2_000)
        }
        usleep(50_000)
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        #expect(sawTemporary)
        #expect(process.terminationReason == .uncaughtSignal)

        let o = try run(Paths.ours("postmap"), ["-c", ".", "-q", "user7@example.com", "\(type):map"], in: dir.url)
        #expect(o.out == "old-7\n")
        if Oracle.postmap(for: type) {
            let p = try run(Paths.postfix("postmap"), ["-c", ".", "-q", "user7@example.com", "\(type):map"], in: dir.url)
            #expect(p.out == "old-7\n")
        }
        // The next build removes the dead build's temporary file and succeeds.
        dir.write("map", Self.source(records: 1_000, tag: "next"))
        let rebuilt = try run(Paths.ours("postmap"), ["-c", ".", "\(type):map"], in: dir.url)
        #expect(rebuilt.status == 0)
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.contains(".tmp.") }
        #expect(leftovers.isEmpty)
        #expect(try run(Paths.ours("postmap"), ["-c", ".", "-q", "user7@example.com", "\(type):map"], in: dir.url).out == "next-7\n")
    }

    @Test("SIGTERM during a build removes the temporary file", arguments: ["hash", "lmdb"])
    func terminatedBuild(type: String) throws {
        // Mid-build: the builder's own temporary file exists (Berkeley DB has renamed its "__db." file
        // into place) and the build has run for another 100 ms of its several seconds.
        try Self.terminate(type: type, settle: 100_000_000) { names in
            names.contains { $0.hasPrefix("map.db.tmp.") || $0.hasPrefix("map.lmdb.tmp.") }
        }
    }

    @Test("SIGTERM as the temporary file is being created", arguments: ["hash", "lmdb"])
    func terminatedAtCreation(type: String) throws {
        // The signals are held while the backend creates its temporary file, until the handler knows
        // the file's name (and Berkeley DB's "__db.NAME.tmp.PID" beside it): nothing is left behind.
        try Self.terminate(type: type, settle: 0) { names in names.contains { $0.contains(".tmp.") } }
    }

    /// Rebuild a 1,000-record table from 400,000 records, send SIGTERM once the directory listing
    /// satisfies `ready` (and `settle` nanoseconds more), and require that the build was cut off: the signal
    /// ended it (postmap's handler exits with 128 + the signal number), nothing is left behind, and the
    /// old table answers with none of the new records.
    static func terminate(type: String, settle: UInt64, ready: ([String]) -> Bool,
                          sourceLocation: SourceLocation = #_sourceLocation) throws {
        let dir = TempDir("term")
        dir.write("main.cf", "compatibility_level = 0\n")
        dir.write("map", Self.source(records: 1_000, tag: "old"))
        let old = try run(Paths.ours("postmap"), ["-c", ".", "\(type):map"], in: dir.url)
        #expect(old.status == 0 && old.stderr.isEmpty, "\(old)", sourceLocation: sourceLocation)
        dir.write("map", Self.source(records: 400_000, tag: "new"))
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Paths.ours("postmap"))
        process.arguments = ["-c", ".", "\(type):map"]
        process.currentDirectoryURL = dir.url
        process.standardError = FileHandle.nullDevice
        try runWithSignalsUnblocked(process)
        var seen: [String] = []
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline && process.isRunning {
            let names = try FileManager.default.contentsOfDirectory(atPath: dir.path)
            if ready(names) {
                seen = names
                break
            }
            // Catching a short-lived state takes a tight loop; otherwise leave the build the CPU.
            usleep(settle == 0 ? 200 : 2_000)
        }
        // A blocking sleep: Task.sleep waits for a cooperative thread, which the tests running in parallel
        // can hold for longer than the rest of the build takes.
        if settle > 0 { usleep(UInt32(settle / 1_000)) }
        kill(process.processIdentifier, SIGTERM)
        process.waitUntilExit()
        #expect(!seen.isEmpty, "the build did not reach the point to interrupt", sourceLocation: sourceLocation)
        let bySignal = process.terminationReason == .uncaughtSignal && process.terminationStatus == SIGTERM
        let byHandler = process.terminationReason == .exit && process.terminationStatus == 128 + SIGTERM
        let ending = "\(process.terminationReason == .exit ? "exit status" : "signal") \(process.terminationStatus)"
        #expect(bySignal || byHandler, "postmap ended with \(ending), not by SIGTERM", sourceLocation: sourceLocation)
        let names = try FileManager.default.contentsOfDirectory(atPath: dir.path)
        #expect(!names.contains(where: { $0.contains(".tmp.") }), "left behind: \(names) (seen before the signal: \(seen))",
                sourceLocation: sourceLocation)
        let q = try run(Paths.ours("postmap"), ["-c", ".", "-q", "-", "\(type):map"], in: dir.url,
                        stdin: Array("user7@example.com\nuser300000@example.com\n".utf8))
        #expect(q.out == "user7@example.com\told-7\n" && q.stderr.isEmpty, "\(q)", sourceLocation: sourceLocation)
        let dump = try run(Paths.ours("postmap"), ["-c", ".", "-s", "\(type):map"], in: dir.url)
        #expect(dump.status == 0 && dump.out.split(separator: "\n").count == 1_000, "records in the table after the signal",
                sourceLocation: sourceLocation)
    }
}

extension CrashSafetyTests {
    @Test("a -q - reader waiting for input holds no lock, so a writer gets through",
          .enabled(if: Oracle.enabled(Paths.oracleAvailable)), arguments: types)
    func batchReleasesLockWhileWaiting(type: String) async throws {
        guard Oracle.postmap(for: type) else { return }
        let dir = TempDir("batch")
        dir.write("main.cf", "compatibility_level = 0\n")
        dir.write("map", "a 1\n")
        try run(Paths.ours("postmap"), ["-c", ".", "\(type):map"], in: dir.url)
        let reader = Process()
        reader.executableURL = URL(fileURLWithPath: Paths.ours("postmap"))
        reader.arguments = ["-c", ".", "-q", "-", "\(type):map"]
        reader.currentDirectoryURL = dir.url
        let input = Pipe(), output = Pipe()
        reader.standardInput = input
        reader.standardOutput = output
        try reader.run()
        try input.fileHandleForWriting.write(contentsOf: Data("a\n".utf8))
        // postmap buffers its answers until the end, as Postfix's does: the reader has answered when it
        // has taken the key from the pipe and sits in read(2) on its standard input again.
        // Bounded, and generous: on a loaded machine the first lookup of a debug build can take seconds.
        let notAnswered = try await waitUntilWaitingForInput(reader, input: input, limit: 60)
        #expect(notAnswered == nil, "the reader did not take its first key within 60 s: \(notAnswered ?? "")")
        // Waiting for input, it holds no lock on anything.
        let locks = (try? String(contentsOfFile: "/proc/locks", encoding: .utf8)) ?? ""
        // "1: POSIX  ADVISORY  READ 1234 ...": the fifth field is the holder's process id.
        let held = locks.split(separator: "\n").filter { line in
            line.split(separator: " ").dropFirst(4).first == "\(reader.processIdentifier)"
        }
        #expect(held.isEmpty, "locks held by the waiting reader: \(held)")
        // Postfix's in-place writer takes the exclusive lock; it must not wait for our idle reader.
        let writer = try run(Paths.postfix("postmap"), ["-c", ".", "-i", "\(type):map"], in: dir.url,
                             stdin: Array("b 2\n".utf8), timeout: 10)
        #expect(writer.status == 0, "\(writer)")
        try input.fileHandleForWriting.write(contentsOf: Data("b\n".utf8))
        try input.fileHandleForWriting.close()
        reader.waitUntilExit()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(text == "a\t1\nb\t2\n")
    }
}

/// Start `process` with no signal blocked. A child inherits the signal mask of the thread that starts
/// it, and the test's threads (Dispatch's and the concurrency pool's) block most signals: a SIGTERM sent
/// to a child started with `Process.run()` alone stays pending, and the child runs to its end.
func runWithSignalsUnblocked(_ process: Process) throws {
    var none = sigset_t(), saved = sigset_t()
    sigemptyset(&none)
    pthread_sigmask(SIG_SETMASK, &none, &saved)
    defer { pthread_sigmask(SIG_SETMASK, &saved, nil) }
    try process.run()
}

#if arch(x86_64)
private let readSyscall: Int? = 0
#elseif arch(arm64)
private let readSyscall: Int? = 63
#else
private let readSyscall: Int? = nil
#endif

/// Wait, at most `limit` seconds, until `process` has read everything written to `input` and is blocked
/// reading its standard input again (Linux: /proc/PID/syscall names read(2) on fd 0), twice in a row.
/// Returns nil once it is, or what was seen last.
func waitUntilWaitingForInput(_ process: Process, input: Pipe, limit: TimeInterval) async throws -> String? {
    let deadline = Date().addingTimeInterval(limit)
    var streak = 0
    var last = ""
    while Date() < deadline && process.isRunning {
        var pending = pollfd(fd: input.fileHandleForReading.fileDescriptor, events: Int16(POLLIN), revents: 0)
        let polled = poll(&pending, 1, 0)
        let drained = polled == 0
        let waiting: Bool
        let state: String
        if let readSyscall {
            // "NR 0x0 ...": system call NR, read(2), with file descriptor 0.
            state = (try? String(contentsOfFile: "/proc/\(process.processIdentifier)/syscall", encoding: .utf8)) ?? ""
            waiting = state.hasPrefix("\(readSyscall) 0x0 ")
        } else {
            state = (try? String(contentsOfFile: "/proc/\(process.processIdentifier)/wchan", encoding: .utf8)) ?? ""
            waiting = state.contains("pipe")
        }
        last = "poll \(polled), state \(state.prefix(60))"
        if drained && waiting { streak += 1 } else { streak = 0 }
        if streak >= 2 { return nil }
        try await Task.sleep(nanoseconds: 20_000_000)
    }
    return process.isRunning ? last : "the process ended with status \(process.terminationStatus)"
}

/// A flag readers poll to stop.
final class ManagedAtomicFlag: @unchecked Sendable {
    // Guarded by `lock`; only a Bool is shared.
    private let lock = NSLock()
    private var value = false
    var isSet: Bool { lock.lock(); defer { lock.unlock() }; return value }
    func set() { lock.lock(); value = true; lock.unlock() }
}

/// A shared count.
final class Counter: @unchecked Sendable {
    // Guarded by `lock`.
    private let lock = NSLock()
    private var total = 0
    func add(_ n: Int) { lock.lock(); total += n; lock.unlock() }
    var value: Int { lock.lock(); defer { lock.unlock() }; return total }
}

/// Failures collected from concurrent readers.
final class FailureLog: @unchecked Sendable {
    // Guarded by `lock`.
    private let lock = NSLock()
    private var items: [String] = []
    func add(_ s: String) { lock.lock(); items.append(s); lock.unlock() }
    var entries: [String] { lock.lock(); defer { lock.unlock() }; return items }
}
