import Foundation
import Maps
import Synchronization
import Testing

/// Lookups per second with 8 threads through `SharedTable`, for each way of sharing: one handle with
/// serialized use, a handle per thread, and (automatic) one handle used concurrently where the type
/// allows it. Prints a table; runs only with `THREAD_BENCH=1`, best in a release build:
///
///     swift build -c release --build-tests -Xswiftc -enable-testing
///     THREAD_BENCH=1 swift test -c release --skip-build --filter ThreadSharingBenchmark
@Suite struct ThreadSharingBenchmark {
    static let enabled = ProcessInfo.processInfo.environment["THREAD_BENCH"] == "1"
    static let threads = 8
    static let lookupsPerThread = 50_000

    /// Wall-clock lookups per second and CPU nanoseconds (user + system, all threads) per lookup.
    static func measure(_ table: any LookupTable, keys: [[UInt8]], threads: Int) -> (rate: Double, cpu: Double) {
        let wrong = Atomic<Int>(0)
        let box = UncheckedBox(table)
        let cpuBefore = cpuSeconds()
        let start = Date()
        ThreadSharingTests.runThreads(threads) { thread in
            var i = thread * 7919
            for _ in 0..<lookupsPerThread {
                i = (i &+ 1) % keys.count
                if (try? box.value.lookup(keys[i])) == nil { wrong.add(1, ordering: .relaxed) }
            }
        }
        let elapsed = Date().timeIntervalSince(start)
        let cpu = cpuSeconds() - cpuBefore
        precondition(wrong.load(ordering: .relaxed) == 0, "lookups failed")
        let lookups = Double(threads * lookupsPerThread)
        return (lookups / elapsed, cpu / lookups * 1e9)
    }

    static func cpuSeconds() -> Double {
        var usage = rusage()
        getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
        return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec)
            + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
    }

    @Test(.enabled(if: enabled)) func sharingStrategies() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("bench-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let registry = ThreadSharingTests.registry
        let records = 10_000
        var specs: [(MapSpec, [[UInt8]])] = []
        for type in ["hash", "lmdb"] {
            let name = "\(dir)/\(type)"
            let builder = try registry.builder(MapSpec(type: type, name: name), OpenRequest(mode: .readWriteCreate))
            try builder.load { _, sink in
                for i in 0..<records { _ = try sink.put(Array("user\(i)@example.com".utf8), Array("mailbox\(i)".utf8)) }
            }
            try builder.commit()
            specs.append((MapSpec(type: type, name: name), (0..<records).map { Array("user\($0)@example.com".utf8) }))
        }
        do {
            let name = "\(dir)/pcre"
            let rules = (0..<200).map { "/^dept\($0)-([a-z]+)@example\\.com$/ route\($0)-$1\n" }.joined()
            try Data(rules.utf8).write(to: URL(fileURLWithPath: name))
            specs.append((MapSpec(type: "pcre", name: name), (0..<records).map { Array("dept\($0 % 200)-user@example.com".utf8) }))
        }
        let request = OpenRequest(flags: DictFlags.commandLineDefault.union(.lock))
        let modes: [(String, SharedTable.Sharing?, Int)] = [
            ("1 thread, plain handle", nil, 0), ("8 threads, one plain handle", nil, 1), ("serialized", .serialized, 1000), ("handle per thread", .handlePerThread, 1000),
            ("automatic", .automatic, 1000), ("automatic, files checked every lookup", .automatic, 0),
        ]
        var lines = ["| table | " + modes.map { $0.0 }.joined(separator: " | ") + " |",
                     "|---|" + modes.map { _ in "---:" }.joined(separator: "|") + "|"]
        let repetitions = 5
        let only = ProcessInfo.processInfo.environment["THREAD_BENCH_TYPES"].map { $0.split(separator: ",").map(String.init) }
        for (spec, keys) in specs where only?.contains(spec.type) ?? true {
            // Modes interleaved in each round, so a burst of load elsewhere touches all of them.
            var results = modes.map { _ in [(rate: Double, cpu: Double)]() }
            for _ in 0..<repetitions {
                for (n, mode) in modes.enumerated() {
                    if let sharing = mode.1 {
                        let table = try SharedTable(spec, registry: registry, request: request, sharing: sharing, checkInterval: mode.2)
                        _ = Self.measure(table, keys: keys, threads: Self.threads)  // warm up: handles, JIT
                        results[n].append(Self.measure(table, keys: keys, threads: Self.threads))
                        table.close()
                    } else if mode.2 == 0 || spec.type != "hash" {
                        // Plain handles: one thread, or 8 on one handle where the type allows it.
                        let threads = mode.2 == 0 ? 1 : Self.threads
                        let table = try registry.open(spec, request)
                        _ = Self.measure(table, keys: keys, threads: threads)
                        results[n].append(Self.measure(table, keys: keys, threads: threads))
                        table.close()
                    } else {
                        results[n].append((0, 0))
                    }
                }
            }
            let cells = results.map { runs -> String in
                let rate = runs.map(\.rate).sorted()[repetitions / 2], cpu = runs.map(\.cpu).sorted()[repetitions / 2]
                if rate == 0 { return "(not thread-safe)" }
                return String(format: "%.0f k/s, %.2f µs CPU", rate / 1000, cpu / 1000)
            }
            lines.append("| \(spec.type) | " + cells.joined(separator: " | ") + " |")
        }
        print("THREAD_BENCH \(Self.threads) threads, \(Self.lookupsPerThread) lookups each, median of 5 (wall-clock lookups per second; CPU time per lookup), \(ProcessInfo.processInfo.activeProcessorCount) cores")
        for line in lines { print("THREAD_BENCH \(line)") }
    }
}
