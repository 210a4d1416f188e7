import Foundation
import Maps
import MapsBerkeleyDB
import MapsLMDB
import MapsPCRE2
import Synchronization
import Testing

/// Tables shared by threads (`SharedTable`): 8 threads look up in every table type while a writer
/// rebuilds each table's files 20 times, atomically (the library's builders for indexed files, a
/// rename for rule and source files). Every answer must be a whole answer of one version, no thread may
/// see a version older than one it saw before, and after the last rebuild every table must answer
/// from it. Run under Thread Sanitizer by `make tsan-test`.
@Suite(.serialized) struct ThreadSharingTests {
    static let registry = MapRegistry([BerkeleyDBMaps.hash, BerkeleyDBMaps.btree, LMDBMaps.lmdb,
                                       PatternMaps.regexp, PCRE2Maps.pcre, CIDRMaps.cidr, StaticTable.mapType]
                                      + SimpleTables.all)
    static let readers = 8
    static let rebuilds = 20
    /// Lookups the readers must have made before the run ends.
    static let minimumLookups = 1000
    static let keyCount = 24

    /// One table under test.
    struct Scenario: Sendable {
        let spec: MapSpec
        /// The keys looked up; a key's index is what its answers carry.
        let keys: [[UInt8]]
        /// For an answer to key `index`: the version of each part of it, or nil when it is wrong.
        let decode: @Sendable (_ index: Int, _ answer: [UInt8]?) -> [Int]?
        /// Write version `n` of the table's files (nil: nothing to rebuild).
        let rebuild: (@Sendable (_ version: Int) throws -> Void)?
        /// Every lookup fails with a temporary error (`fail:`).
        var failing = false
    }

    // MARK: Writing versions

    /// Replace `path` atomically with `text`, its modification time in the past (so `texthash:` need
    /// not wait for it to cool down): the inode change alone must be noticed.
    static func replace(_ path: String, with text: String) throws {
        let temporary = "\(path).new"
        try Data(text.utf8).write(to: URL(fileURLWithPath: temporary))
        var times = [timespec(tv_sec: time(nil) - 10, tv_nsec: 0), timespec(tv_sec: time(nil) - 10, tv_nsec: 0)]
        _ = utimensat(AT_FDCWD, temporary, &times, 0)
        guard rename(temporary, path) == 0 else { throw MapError.temporary("rename \(temporary): \(errno)") }
    }

    static func key(_ i: Int) -> String { "k\(i)" }
    static func value(_ version: Int, _ i: Int) -> String { "v\(version)-\(i)" }

    /// Build an indexed table with the library's builder: key `k<i>` → `v<version>-<i>`.
    static func buildIndexed(_ type: String, _ name: String, version: Int, keyPrefix: String = "k") throws {
        let builder = try registry.builder(MapSpec(type: type, name: name),
                                           OpenRequest(mode: .readWriteCreate, flags: .commandLineDefault))
        try builder.load { _, sink in
            for i in 0..<keyCount { _ = try sink.put(Array("\(keyPrefix)\(i)".utf8), Array(value(version, i).utf8)) }
        }
        try builder.commit()
    }

    /// The version in `v<version>-<index>`, or nil when the text is not that for `index`.
    static func version(of part: some Collection<UInt8>, index: Int) -> Int? {
        let text = String(decoding: part, as: UTF8.self)
        guard text.hasPrefix("v"), let dash = text.firstIndex(of: "-"),
              let version = Int(text[text.index(after: text.startIndex)..<dash]),
              Int(text[text.index(after: dash)...]) == index, (0...rebuilds).contains(version) else { return nil }
        return version
    }

    /// One versioned value per answer.
    static let single: @Sendable (Int, [UInt8]?) -> [Int]? = { index, answer in
        guard let answer, let v = version(of: answer, index: index) else { return nil }
        return [v]
    }

    static func scenarios(in dir: String) throws -> [Scenario] {
        let keys = (0..<keyCount).map { Array(key($0).utf8) }
        var all: [Scenario] = []
        for type in ["hash", "btree", "lmdb"] {
            let name = "\(dir)/\(type)-map"
            try buildIndexed(type, name, version: 0)
            all.append(Scenario(spec: MapSpec(type: type, name: name), keys: keys, decode: single,
                                rebuild: { try buildIndexed(type, name, version: $0) }))
        }
        for type in ["regexp", "pcre"] {
            let name = "\(dir)/\(type)-rules"
            // A literal rule per key (the prefilter's path) and a catch-all with a capture (the engine's).
            let rules: @Sendable (Int) -> String = { version in
                (0..<keyCount / 2).map { "/^k\($0)$/ \(value(version, $0))\n" }.joined()
                    + "/^k([0-9]+)$/ v\(version)-$1\n"
            }
            try replace(name, with: rules(0))
            all.append(Scenario(spec: MapSpec(type: type, name: name), keys: keys, decode: single,
                                rebuild: { try replace(name, with: rules($0)) }))
        }
        do {
            let name = "\(dir)/cidr-rules"
            let rules: @Sendable (Int) -> String = { version in
                (0..<keyCount).map { "10.0.\($0).0/24 \(value(version, $0))\n" }.joined()
            }
            try replace(name, with: rules(0))
            all.append(Scenario(spec: MapSpec(type: "cidr", name: name), keys: (0..<keyCount).map { Array("10.0.\($0).7".utf8) },
                                decode: single, rebuild: { try replace(name, with: rules($0)) }))
        }
        do {
            let name = "\(dir)/texthash-source"
            let text: @Sendable (Int) -> String = { version in (0..<keyCount).map { "\(key($0)) \(value(version, $0))\n" }.joined() }
            try replace(name, with: text(0))
            all.append(Scenario(spec: MapSpec(type: "texthash", name: name), keys: keys, decode: single,
                                rebuild: { try replace(name, with: text($0)) }))
        }
        // unionmap: two members rebuilt one after the other; each part has its own version.
        do {
            let first = "\(dir)/union-hash", second = "\(dir)/union-lmdb"
            try buildIndexed("hash", first, version: 0)
            try buildIndexed("lmdb", second, version: 0)
            all.append(Scenario(spec: MapSpec(type: "unionmap", name: "{hash:\(first), lmdb:\(second)}"), keys: keys,
                                decode: { index, answer in
                                    guard let answer else { return nil }
                                    let parts = answer.split(separator: UInt8(ascii: ","), omittingEmptySubsequences: false)
                                    guard parts.count == 2, let a = version(of: parts[0], index: index),
                                          let b = version(of: parts[1], index: index) else { return nil }
                                    return [a, b]
                                },
                                rebuild: { try buildIndexed("hash", first, version: $0); try buildIndexed("lmdb", second, version: $0) }))
        }
        // pipemap: a fixed inline member maps k<i> to m<i>, a rebuilt btree member maps that on.
        do {
            let name = "\(dir)/pipe-btree"
            try buildIndexed("btree", name, version: 0, keyPrefix: "m")
            let inline = "inline:{" + (0..<keyCount).map { "k\($0)=m\($0)" }.joined(separator: ", ") + "}"
            all.append(Scenario(spec: MapSpec(type: "pipemap", name: "{\(inline), btree:\(name)}"), keys: keys, decode: single,
                                rebuild: { try buildIndexed("btree", name, version: $0, keyPrefix: "m") }))
        }
        // Tables without files: answers never change.
        all.append(Scenario(spec: MapSpec(type: "static", name: "{ the same }"), keys: keys,
                            decode: { _, answer in answer == Array("the same".utf8) ? [] : nil }, rebuild: nil))
        let inline = "{" + (0..<keyCount).map { "k\($0)=i\($0)" }.joined(separator: ", ") + "}"
        all.append(Scenario(spec: MapSpec(type: "inline", name: inline), keys: keys,
                            decode: { index, answer in answer == Array("i\(index)".utf8) ? [] : nil }, rebuild: nil))
        all.append(Scenario(spec: MapSpec(type: "fail", name: "down"), keys: keys, decode: { _, _ in nil }, rebuild: nil,
                            failing: true))
        return all
    }

    // MARK: The run

    /// What the readers found, shared by them.
    ///
    /// `@unchecked Sendable`: `problems` and `sawLast` are touched only with `monitor` held (a POSIX
    /// mutex, which Thread Sanitizer sees; it does not see `Synchronization.Mutex` on Linux); the rest
    /// are atomics.
    final class Findings: @unchecked Sendable {
        let lookups = Atomic<Int>(0)
        let rebuildsDone = Atomic<Int>(0)
        let stop = Atomic<Bool>(false)
        private let monitor = Monitor()
        private var problems: [String] = []
        /// Per scenario: whether a lookup started after the last rebuild answered from the last version.
        private var sawLast: [Bool]

        init(scenarios: Int) { sawLast = Array(repeating: false, count: scenarios) }

        func problem(_ text: String) {
            monitor.withLock { if problems.count < 20 { problems.append(text) } }
        }

        var allProblems: [String] { monitor.withLock { problems } }
        func markLast(_ n: Int) { monitor.withLock { sawLast[n] = true } }
        func sawLast(_ n: Int) -> Bool { monitor.withLock { sawLast[n] } }
    }

    /// Start `count` POSIX threads running `body(index)` and wait for all of them.
    static func runThreads(_ count: Int, _ body: @escaping @Sendable (Int) -> Void) {
        final class Box: @unchecked Sendable {
            // Written before the thread starts, read by it only.
            let body: @Sendable () -> Void
            init(_ body: @escaping @Sendable () -> Void) { self.body = body }
        }
        var threads: [pthread_t] = []
        for index in 0..<count {
            let box = Unmanaged.passRetained(Box({ body(index) })).toOpaque()
            var thread = pthread_t()
            let rc = pthread_create(&thread, nil, { raw in
                let box = Unmanaged<Box>.fromOpaque(raw!).takeRetainedValue()
                box.body()
                return nil
            }, box)
            precondition(rc == 0, "pthread_create: \(rc)")
            threads.append(thread)
        }
        for thread in threads { pthread_join(thread, nil) }
    }

    func run(sharing: SharedTable.Sharing) throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("threads-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let scenarios = try Self.scenarios(in: dir)
        let request = OpenRequest(mode: .readOnly, flags: DictFlags.commandLineDefault.union(.lock))
        // Half the tables look at their files before every lookup, half at most every 2 ms.
        let tables = try scenarios.enumerated().map { n, scenario in
            try SharedTable(scenario.spec, registry: Self.registry, request: request, sharing: sharing,
                            checkInterval: n % 2 == 0 ? 0 : 2)
        }
        let findings = Findings(scenarios: scenarios.count)
        let versioned = scenarios.indices.filter { scenarios[$0].rebuild != nil }
        let started = Date()

        Self.runThreads(Self.readers + 1) { thread in
            if thread == Self.readers {
                // The writer: 20 rebuilds of every table, then wait (bounded) for the readers to see the last,
                // and for enough lookups however slow the machine (Thread Sanitizer, other load) is.
                for version in 1...Self.rebuilds {
                    for scenario in scenarios {
                        do { try scenario.rebuild?(version) } catch { findings.problem("rebuild \(scenario.spec) v\(version): \(error)") }
                    }
                    findings.rebuildsDone.store(version, ordering: .releasing)
                    usleep(5_000)
                }
                let deadline = Date().addingTimeInterval(60)
                while Date() < deadline, !versioned.allSatisfy({ findings.sawLast($0) })
                        || findings.lookups.load(ordering: .relaxed) <= Self.minimumLookups {
                    usleep(2_000)
                }
                findings.stop.store(true, ordering: .releasing)
                return
            }
            var generator = SystemRandomNumberGenerator()
            // The newest version of each part this thread has seen, per scenario: never to go back.
            var newest = scenarios.map { _ in [Int]() }
            while !findings.stop.load(ordering: .acquiring) {
                let n = Int.random(in: 0..<scenarios.count, using: &generator)
                let scenario = scenarios[n]
                let index = Int.random(in: 0..<scenario.keys.count, using: &generator)
                let afterLast = findings.rebuildsDone.load(ordering: .acquiring) == Self.rebuilds
                let answer: [UInt8]?
                do {
                    answer = try tables[n].lookup(scenario.keys[index])
                } catch {
                    if !scenario.failing { findings.problem("\(scenario.spec): \(error)") }
                    findings.lookups.add(1, ordering: .relaxed)
                    continue
                }
                findings.lookups.add(1, ordering: .relaxed)
                if scenario.failing {
                    findings.problem("\(scenario.spec): an answer instead of an error")
                    continue
                }
                guard let versions = scenario.decode(index, answer) else {
                    findings.problem("\(scenario.spec) key \(index): wrong answer \(answer.map { String(decoding: $0, as: UTF8.self) } ?? "(not found)")")
                    continue
                }
                if !newest[n].isEmpty, zip(versions, newest[n]).contains(where: { $0 < $1 }) {
                    findings.problem("\(scenario.spec): version \(versions) after \(newest[n])")
                }
                newest[n] = newest[n].isEmpty ? versions : zip(versions, newest[n]).map { max($0, $1) }
                if afterLast, !versions.isEmpty, versions.allSatisfy({ $0 == Self.rebuilds }) {
                    findings.markLast(n)
                }
                // An absent key is never found.
                if scenario.spec.type != "static", (try? tables[n].lookup(Array("absent-key".utf8))) != nil {
                    findings.problem("\(scenario.spec): found an absent key")
                }
            }
        }

        let elapsed = Date().timeIntervalSince(started)
        let problems = findings.allProblems
        #expect(problems.isEmpty, "\(problems.joined(separator: "\n"))")
        for n in versioned {
            #expect(findings.sawLast(n), "\(scenarios[n].spec) never answered from the last version")
            #expect(tables[n].reloads >= 1, "\(scenarios[n].spec) was never reopened")
        }
        #expect(findings.lookups.load(ordering: .relaxed) > Self.minimumLookups)
        #expect(elapsed < 120)
        for table in tables { table.close() }
    }

    // MARK: Versions

    /// A table that answers its version for every key, can hold a lookup until released, and records
    /// when it is closed.
    final class Probe: LookupTable, @unchecked Sendable {
        // `@unchecked Sendable`: `version`, `file` and the gates are immutable or atomic.
        let type = "probe"
        let name: String
        let version: Int
        let isClosed = Atomic<Bool>(false)
        let entered = Atomic<Bool>(false)
        let release = Atomic<Bool>(true)
        init(name: String, version: Int) { self.name = name; self.version = version }
        var concurrentLookups: Bool { true }
        var sourceFiles: [String] { [name] }
        func lookup(_ key: [UInt8]) throws(MapError) -> [UInt8]? {
            entered.store(true, ordering: .releasing)
            while !release.load(ordering: .acquiring) { usleep(1_000) }
            if isClosed.load(ordering: .acquiring) { throw .temporary("used after close") }
            return Array("v\(version)".utf8)
        }
        func close() { isClosed.store(true, ordering: .releasing) }
    }

    /// Opens `Probe`s of the version written in the file, and remembers them.
    final class ProbeOpener: @unchecked Sendable {
        // `@unchecked Sendable`: `opened` is touched only with `monitor` held.
        let path: String
        private let monitor = Monitor()
        private var opened: [Probe] = []
        init(path: String) { self.path = path }
        func open() throws(MapError) -> Probe {
            guard let text = try? String(contentsOfFile: path, encoding: .utf8),
                  let version = Int(text.trimmingCharacters(in: .whitespacesAndNewlines)) else {
                throw .temporary("open \(path): no version")
            }
            let probe = Probe(name: path, version: version)
            monitor.withLock { opened.append(probe) }
            return probe
        }
        var all: [Probe] { monitor.withLock { opened } }
    }

    @Test("a lookup in flight finishes on the old handle, which is closed after it")
    func inFlightLookupSurvivesReopen() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("threads-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = "\(dir)/version"
        try Self.replace(path, with: "1")
        let opener = ProbeOpener(path: path)
        let table = try SharedTable(checkInterval: 60_000) { () throws(MapError) in try opener.open() }
        let first = opener.all[0]
        first.release.store(false, ordering: .releasing)
        let answer = Locked<[UInt8]?>(nil)
        let reader = Thread {
            let value = try? table.lookup(Array("k".utf8))
            answer.withLock { $0 = value }
        }
        reader.start()
        while !first.entered.load(ordering: .acquiring) { usleep(1_000) }
        // Replaced while the lookup runs: the next lookup opens version 2; the old handle stays open.
        try Self.replace(path, with: "2")
        #expect(table.reloadIfChanged())
        #expect(try table.lookup(Array("k".utf8)) == Array("v2".utf8))
        let closedEarly = first.isClosed.load(ordering: .acquiring)
        #expect(closedEarly == false)
        first.release.store(true, ordering: .releasing)
        while answer.withLock({ $0 }) == nil { usleep(1_000) }
        #expect(answer.withLock { $0 } == Array("v1".utf8))
        // The reader's reference was the last one: the old handle is closed now, the new one is not.
        let deadline = Date().addingTimeInterval(10)
        while !first.isClosed.load(ordering: .acquiring), Date() < deadline { usleep(1_000) }
        let closedAfter = first.isClosed.load(ordering: .acquiring)
        #expect(closedAfter)
        #expect(opener.all.count == 2)
        let secondClosed = opener.all[1].isClosed.load(ordering: .acquiring)
        #expect(secondClosed == false)
        table.close()
        let secondClosedAtEnd = opener.all[1].isClosed.load(ordering: .acquiring)
        #expect(secondClosedAtEnd)
        #expect(throws: MapError.self) { try table.lookup(Array("k".utf8)) }
    }

    @Test("a reopen that fails keeps the table opened before, warns once, and is tried again at the next change")
    func failedReopenKeepsOldTable() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("threads-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let name = "\(dir)/rules"
        try Self.replace(name, with: "/^a/ first\n")
        let warnings = Locked<[String]>([])
        let request = OpenRequest(diagnostics: Diagnostics(warning: { text in warnings.withLock { $0.append(text) } }))
        let table = try SharedTable(MapSpec(type: "pcre", name: name), registry: Self.registry, request: request, checkInterval: 0)
        #expect(try table.lookup(Array("abc".utf8)) == Array("first".utf8))
        try FileManager.default.removeItem(atPath: name)
        #expect(try table.lookup(Array("abc".utf8)) == Array("first".utf8))
        #expect(try table.lookup(Array("abc".utf8)) == Array("first".utf8))
        let texts = warnings.withLock { $0 }
        #expect(texts.count == 1)
        #expect(texts.first?.hasPrefix("table pcre:\(name): reopen after a change failed: open \(name): No such file or directory") == true)
        try Self.replace(name, with: "/^a/ second\n")
        #expect(try table.lookup(Array("abc".utf8)) == Array("second".utf8))
        #expect(table.reloads == 1)
        table.close()
    }

    @Test("the README's shared-table example")
    func readmeExample() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("threads-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try Self.buildIndexed("lmdb", "\(dir)/virtual", version: 3, keyPrefix: "user")
        let registry = Self.registry
        let shared = try SharedTable(MapSpec(parsing: "lmdb:\(dir)/virtual", defaultType: "hash"),
                                     registry: registry, request: OpenRequest(flags: DictFlags.commandLineDefault.union(.lock)),
                                     checkInterval: 1000)
        let value = try shared.lookup(Array("user2".utf8))
        #expect(value == Array("v3-2".utf8))
        #expect(shared.concurrentLookups && shared.handleCount == 1)
    }

    @Test("8 threads share each table type while its files are rebuilt 20 times (automatic sharing)")
    func automatic() throws { try run(sharing: .automatic) }

    @Test("the same with one handle whose use is serialized")
    func serialized() throws { try run(sharing: .serialized) }

    @Test("the same with a handle per thread")
    func handlePerThread() throws { try run(sharing: .handlePerThread) }
}

/// A value behind a POSIX mutex (Thread Sanitizer does not see `Synchronization.Mutex` on Linux).
final class Locked<Value>: @unchecked Sendable {
    // `@unchecked Sendable`: `value` is touched only with `monitor` held.
    private var value: Value
    private let monitor = Monitor()
    init(_ value: Value) { self.value = value }
    func withLock<T>(_ body: (inout Value) -> T) -> T { monitor.withLock { body(&value) } }
}
