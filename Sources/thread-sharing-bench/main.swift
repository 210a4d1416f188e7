// Lookups per second with 8 threads through `SharedTable`, for each way of sharing: one handle with
// serialized use, a handle per thread, and (automatic) one handle used concurrently where the type
// allows it; a plain handle from one thread (and from 8 where the type allows it) for reference.
// Prints a table. Run by scripts/bench-threads (a release build); not installed.
//
//   thread-sharing-bench DIR [TYPES]     DIR: an empty directory for the tables; TYPES: e.g. hash,lmdb
import Maps
import MapsBerkeleyDB
import MapsLMDB
import MapsPCRE2
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

let threadCount = 8
let lookupsPerThread = 50_000
let repetitions = 5

func now() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

/// User and system CPU seconds of the whole process (all threads).
func cpuSeconds() -> Double {
    var usage = rusage()
    getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
    return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
}

/// Carries a handle to the threads that use it.
final class UncheckedBox<T>: @unchecked Sendable {
    // @unchecked Sendable: the table handed over is either used by one thread at a time or is one whose
    // type allows concurrent lookups (SharedTable, or a plain handle of a type that says so); that is what
    // the benchmark measures.
    let value: T
    init(_ value: T) { self.value = value }
}

/// Run `body(i)` on `count` POSIX threads and wait for all of them.
func runThreads(_ count: Int, _ body: @escaping @Sendable (Int) -> Void) {
    final class Box: @unchecked Sendable {
        // @unchecked Sendable: written before the thread starts, read by it only.
        let body: @Sendable () -> Void
        init(_ body: @escaping @Sendable () -> Void) { self.body = body }
    }
    var threads: [pthread_t] = []
    for index in 0..<count {
        let box = Unmanaged.passRetained(Box({ body(index) })).toOpaque()
        var thread = pthread_t()
        let rc = pthread_create(&thread, nil, { raw in
            guard let raw else { return nil }
            Unmanaged<Box>.fromOpaque(raw).takeRetainedValue().body()
            return nil
        }, box)
        precondition(rc == 0, "pthread_create: \(rc)")
        threads.append(thread)
    }
    for thread in threads { pthread_join(thread, nil) }
}

/// Wall-clock lookups per second and CPU nanoseconds per lookup.
func measure(_ table: any LookupTable, keys: [[UInt8]], threads: Int) -> (rate: Double, cpu: Double) {
    let wrong = Atomic<Int>(0)
    let box = UncheckedBox(table)
    let cpuBefore = cpuSeconds()
    let start = now()
    runThreads(threads) { thread in
        var i = thread * 7919
        for _ in 0..<lookupsPerThread {
            i = (i &+ 1) % keys.count
            if (try? box.value.lookup(keys[i])) == nil { wrong.add(1, ordering: .relaxed) }
        }
    }
    let elapsed = now() - start
    let cpu = cpuSeconds() - cpuBefore
    precondition(wrong.load(ordering: .relaxed) == 0, "lookups failed")
    let lookups = Double(threads * lookupsPerThread)
    return (lookups / elapsed, cpu / lookups * 1e9)
}

/// `value` with `digits` decimals.
func fixed(_ value: Double, _ digits: Int) -> String {
    var scale = 1.0
    for _ in 0..<digits { scale *= 10 }
    let n = Int((value * scale).rounded())
    guard digits > 0 else { return String(n) }
    let whole = n / Int(scale), part = String(n % Int(scale))
    return "\(whole)." + String(repeating: "0", count: digits - part.count) + part
}

func fail(_ text: String) -> Never {
    let line = Array("thread-sharing-bench: \(text)\n".utf8)
    _ = line.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
    exit(1)
}

let args = CommandLine.arguments
guard args.count == 2 || args.count == 3 else {
    print("usage: thread-sharing-bench DIR [TYPES]   (DIR: an empty directory; TYPES: a comma list of hash, lmdb, pcre)")
    exit(2)
}
let dir = args[1]
let only: [String]? = args.count == 3 ? args[2].split(separator: ",").map(String.init) : nil
let registry = MapRegistry([BerkeleyDBMaps.hash, LMDBMaps.lmdb, PCRE2Maps.pcre])
let records = 10_000
var specs: [(MapSpec, [[UInt8]])] = []
do {
    for type in ["hash", "lmdb"] {
        let name = "\(dir)/\(type)"
        let builder = try registry.builder(MapSpec(type: type, name: name), OpenRequest(mode: .readWriteCreate))
        try builder.load { _, sink in
            for i in 0..<records { _ = try sink.put(Array("user\(i)@example.com".utf8), Array("mailbox\(i)".utf8)) }
        }
        try builder.commit()
        specs.append((MapSpec(type: type, name: name), (0..<records).map { Array("user\($0)@example.com".utf8) }))
    }
    let name = "\(dir)/pcre"
    let rules = (0..<200).map { "/^dept\($0)-([a-z]+)@example\\.com$/ route\($0)-$1\n" }.joined()
    guard let file = fopen(name, "w"), fputs(rules, file) >= 0, fclose(file) == 0 else { fail("cannot write \(name)") }
    specs.append((MapSpec(type: "pcre", name: name), (0..<records).map { Array("dept\($0 % 200)-user@example.com".utf8) }))
} catch {
    fail("cannot build the tables: \(error)")
}

let request = OpenRequest(flags: DictFlags.commandLineDefault.union(.lock))
let modes: [(String, SharedTable.Sharing?, Int)] = [
    ("1 thread, plain handle", nil, 0), ("8 threads, one plain handle", nil, 1), ("serialized", .serialized, 1000),
    ("handle per thread", .handlePerThread, 1000), ("automatic", .automatic, 1000), ("automatic, files checked every lookup", .automatic, 0),
]
var lines = ["| table | " + modes.map { $0.0 }.joined(separator: " | ") + " |",
             "|---|" + modes.map { _ in "---:" }.joined(separator: "|") + "|"]
do {
    for (spec, keys) in specs where only?.contains(spec.type) ?? true {
        // Modes interleaved in each round, so a burst of load elsewhere touches all of them.
        var results = modes.map { _ in [(rate: Double, cpu: Double)]() }
        for _ in 0..<repetitions {
            for (n, mode) in modes.enumerated() {
                if let sharing = mode.1 {
                    let table = try SharedTable(spec, registry: registry, request: request, sharing: sharing, checkInterval: mode.2)
                    _ = measure(table, keys: keys, threads: threadCount)  // warm up: handles, caches
                    results[n].append(measure(table, keys: keys, threads: threadCount))
                    table.close()
                } else if mode.2 == 0 || spec.type != "hash" {
                    // Plain handles: one thread, or 8 on one handle where the type allows it.
                    let threads = mode.2 == 0 ? 1 : threadCount
                    let table = try registry.open(spec, request)
                    _ = measure(table, keys: keys, threads: threads)
                    results[n].append(measure(table, keys: keys, threads: threads))
                    table.close()
                } else {
                    results[n].append((0, 0))
                }
            }
        }
        let cells = results.map { runs -> String in
            let rate = runs.map(\.rate).sorted()[repetitions / 2], cpu = runs.map(\.cpu).sorted()[repetitions / 2]
            if rate == 0 { return "(not thread-safe)" }
            return "\(fixed(rate / 1000, 0)) k/s, \(fixed(cpu / 1000, 2)) µs CPU"
        }
        lines.append("| \(spec.type) | " + cells.joined(separator: " | ") + " |")
    }
} catch {
    fail("\(error)")
}
print("\(threadCount) threads, \(lookupsPerThread) lookups each, median of \(repetitions) (wall-clock lookups per second; "
      + "CPU time per lookup), \(sysconf(Int32(_SC_NPROCESSORS_ONLN))) cores")
for line in lines { print(line) }
