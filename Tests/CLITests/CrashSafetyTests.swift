import Foundation
import Maps
import MapsBerkeleyDB
import MapsLMDB
import Testing

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
        for exe in [Paths.ours("postmap")] + (Paths.oracleAvailable && (type != "lmdb" || Paths.lmdbOracleAvailable) ? [Paths.postfix("postmap")] : []) {
            DispatchQueue.global().async(group: group) {
                var reads = 0
                while !done.isSet, reads < 2_000 {
                    let key = probeKeys[reads % probeKeys.count]
                    let n = key.dropFirst(4).prefix(while: { $0 != "@" })
                    guard let o = try? run(exe, ["-c", ".", "-q", key, "\(type):map"], in: dir.url) else { continue }
                    let value = o.out
                    if o.status != 0 || (value != "old-\(n)\n" && value != "new-\(n)\n") || !o.stderr.isEmpty {
                        failures.add("\(exe) read \(key): status \(o.status) value \(value.debugDescription) stderr \(o.stderr)")
                    }
                    reads += 1
                }
                processReads.add(reads)
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
        // No temporary files left behind.
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.contains(".tmp.") }
        #expect(leftovers.isEmpty)
    }

    @Test("a build killed with SIGKILL leaves the old table answering", arguments: types)
    func killedBuild(type: String) async throws {
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
            try await Task.sleep(nanoseconds: 2_000_000)
        }
        try await Task.sleep(nanoseconds: 50_000_000)
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        #expect(sawTemporary)
        #expect(process.terminationReason == .uncaughtSignal)

        let o = try run(Paths.ours("postmap"), ["-c", ".", "-q", "user7@example.com", "\(type):map"], in: dir.url)
        #expect(o.out == "old-7\n")
        if Paths.oracleAvailable && (type != "lmdb" || Paths.lmdbOracleAvailable) {
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
    func terminatedBuild(type: String) async throws {
        let dir = TempDir("term")
        dir.write("main.cf", "compatibility_level = 0\n")
        dir.write("map", Self.source(records: 400_000, tag: "new"))
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Paths.ours("postmap"))
        process.arguments = ["-c", ".", "\(type):map"]
        process.currentDirectoryURL = dir.url
        try process.run()
        for _ in 0..<500 {
            if (try FileManager.default.contentsOfDirectory(atPath: dir.path)).contains(where: { $0.contains(".tmp.") }) { break }
            try await Task.sleep(nanoseconds: 2_000_000)
        }
        kill(process.processIdentifier, SIGTERM)
        process.waitUntilExit()
        let names = try FileManager.default.contentsOfDirectory(atPath: dir.path)
        #expect(!names.contains(where: { $0.contains(".tmp.") }), "\(names)")
    }
}

extension CrashSafetyTests {
    @Test("a -q - reader waiting for input holds no lock, so a writer gets through",
          .enabled(if: Paths.oracleAvailable), arguments: types)
    func batchReleasesLockWhileWaiting(type: String) async throws {
        if type == "lmdb", !Paths.lmdbOracleAvailable { return }
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
        try await Task.sleep(nanoseconds: 300_000_000)
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
