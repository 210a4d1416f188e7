import NIOConcurrencyHelpers
import Prometheus
import Synchronization

/// The server's Prometheus metrics, served by `MetricsEndpoint`.
///
/// - `postmapd_lookups_total{table,result}`: answers by table and result (found, notfound, temp, perm).
/// - `postmapd_lookup_duration_seconds{table}`: lookup latency, a histogram.
/// - `postmapd_table_reloads_total{table}`: tables opened again after their files changed.
/// - `postmapd_config_reloads_total{result}`: SIGHUP re-reads (ok, failed).
/// - `postmapd_errors_total{kind}`: protocol errors, request timeouts, refused clients, connection limit.
/// - `postmapd_connections{listener}`: open connections.
///
/// The two lookup metrics are counted where the lookups run, with no lock shared between threads: each
/// table has one set of counters per event loop (`LookupCounts`, written by that loop only) and one
/// for every other thread; a scrape adds them up. The others change once per connection or reload and
/// live in swift-prometheus's registry.
public final class ServerMetrics: Sendable {
    public let registry = PrometheusCollectorRegistry()
    /// Sets of lookup counters per table: one per event loop, and the last for any other thread.
    public let shards: Int
    /// Tables by name, in the order they were first opened; kept across reloads, so that the counters
    /// only grow.
    private let tables = NIOLockedValueBox<[TableMetrics]>([])

    /// `loops`: the number of event loops that count lookups.
    public init(loops: Int = MapServer.maximumLoops) {
        self.shards = max(1, loops) + 1
    }

    func table(_ name: String) -> TableMetrics {
        tables.withLockedValue { tables in
            if let known = tables.first(where: { $0.table == name }) { return known }
            let made = TableMetrics(table: name, shards: shards)
            tables.append(made)
            return made
        }
    }

    func configReload(ok: Bool) {
        registry.makeCounter(descriptor: Self.configReloads, labels: [("result", ok ? "ok" : "failed")]).increment()
    }

    func error(_ kind: String) {
        registry.makeCounter(descriptor: Self.errors, labels: [("kind", kind)]).increment()
    }

    func connections(_ listener: String) -> Gauge {
        registry.makeGauge(descriptor: Self.connectionGauge, labels: [("listener", listener)])
    }

    func tableReloads(_ table: String, total: Int) {
        registry.makeGauge(descriptor: Self.tableReloads, labels: [("table", table)]).set(Double(total))
    }

    /// The text exposition format: the lookup counters summed over the loops, then the registry's.
    public func exposition() -> [UInt8] {
        let all = tables.withLockedValue { $0 }
        var out: [UInt8] = []
        if !all.isEmpty {
            let lookups = Self.lookups, latency = Self.latency
            out += Array("# HELP \(lookups.name) \(lookups.help)\n# TYPE \(lookups.name) counter\n".utf8)
            for table in all {
                let sums = table.sums()
                for (index, result) in LookupCounts.results.enumerated() {
                    out += Array("\(lookups.name){table=\"\(Self.escape(table.table))\",result=\"\(result)\"} \(sums.results[index])\n".utf8)
                }
            }
            out += Array("# HELP \(latency.name) \(latency.help)\n# TYPE \(latency.name) histogram\n".utf8)
            for table in all {
                let sums = table.sums()
                let label = "table=\"\(Self.escape(table.table))\""
                var cumulative = 0
                for (index, bound) in Self.buckets.enumerated() {
                    cumulative += sums.buckets[index]
                    out += Array("\(latency.name)_bucket{\(label),le=\"\(bound.bucketRepresentation)\"} \(cumulative)\n".utf8)
                }
                let count = sums.results.reduce(0, +)
                out += Array("\(latency.name)_bucket{\(label),le=\"+Inf\"} \(count)\n".utf8)
                let sum = Duration.nanoseconds(sums.nanoseconds)
                out += Array("\(latency.name)_sum{\(label)} \(sum.bucketRepresentation)\n".utf8)
                out += Array("\(latency.name)_count{\(label)} \(count)\n".utf8)
            }
        }
        return out + registry.emitToBuffer()
    }

    static func escape(_ text: String) -> String {
        var out = ""
        for c in text {
            switch c {
            case "\\": out += "\\\\"
            case "\"": out += "\\\""
            case "\n": out += "\\n"
            default: out.append(c)
            }
        }
        return out
    }

    static let lookups = (name: "postmapd_lookups_total", help: "Lookups answered, by table and result.")
    static let latency = (name: "postmapd_lookup_duration_seconds", help: "Time to answer a lookup.")
    static var tableReloads: MetricNameDescriptor { MetricNameDescriptor(namespace: "postmapd", metricName: "table_reloads", unitName: "total",
                                                   helpText: "Tables opened again after their files changed.") }
    static var configReloads: MetricNameDescriptor { MetricNameDescriptor(namespace: "postmapd", metricName: "config_reloads", unitName: "total",
                                                    helpText: "Configuration re-reads on SIGHUP, by result.") }
    static var errors: MetricNameDescriptor { MetricNameDescriptor(namespace: "postmapd", metricName: "errors", unitName: "total",
                                             helpText: "Connections cut off or refused, by reason.") }
    static var connectionGauge: MetricNameDescriptor { MetricNameDescriptor(namespace: "postmapd", metricName: "connections", unitName: "open",
                                                      helpText: "Open client connections, by listener.") }
    static let buckets: [Duration] = [.microseconds(50), .microseconds(100), .microseconds(250), .microseconds(500),
                                      .milliseconds(1), .milliseconds(2.5), .milliseconds(5), .milliseconds(10),
                                      .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250),
                                      .seconds(1), .seconds(5)]
    /// The bucket bounds in nanoseconds.
    static let bucketNanoseconds: [Int64] = buckets.map { $0.components.seconds * 1_000_000_000 + $0.components.attoseconds / 1_000_000_000 }
}

/// One table's lookup counters: a `LookupCounts` per event loop, and one for other threads.
final class TableMetrics: Sendable {
    let table: String
    private let shards: [LookupCounts]

    init(table: String, shards: Int) {
        self.table = table
        self.shards = (0..<shards).map { _ in LookupCounts() }
    }

    /// The counters of event loop `loop` (0-based), or of other threads (nil or out of range).
    func counts(loop: Int?) -> LookupCounts {
        guard let loop, loop >= 0, loop < shards.count - 1 else { return shards[shards.count - 1] }
        return shards[loop]
    }

    func sums() -> (results: [Int], buckets: [Int], nanoseconds: Int64) {
        var results = [Int](repeating: 0, count: LookupCounts.results.count)
        var buckets = [Int](repeating: 0, count: ServerMetrics.buckets.count)
        var nanoseconds: Int64 = 0
        for shard in shards {
            for i in results.indices { results[i] += shard.value(LookupCounts.resultBase + i) }
            for i in buckets.indices { buckets[i] += shard.value(LookupCounts.bucketBase + i) }
            nanoseconds += Int64(shard.value(LookupCounts.sumSlot))
        }
        return (results, buckets, nanoseconds)
    }
}

/// Counters of one table on one event loop: the results, the latency buckets, the latency sum.
/// Each is an atomic updated with relaxed ordering; as only one loop writes a set, the cache line is
/// never contended on the request path (the scrape reads it).
final class LookupCounts: @unchecked Sendable {
    // `@unchecked Sendable`: `slots` is allocated and initialized in `init`, freed in `deinit`, and in
    // between only read and written through its atomics.
    static let results = ["found", "notfound", "temp", "perm"]
    static let resultBase = 0
    static let bucketBase = results.count
    static let sumSlot = bucketBase + ServerMetrics.buckets.count
    static let slotCount = sumSlot + 1
    private let slots: UnsafeMutablePointer<Synchronization.Atomic<Int>>

    init() {
        slots = .allocate(capacity: Self.slotCount)
        for i in 0..<Self.slotCount { (slots + i).initialize(to: Synchronization.Atomic<Int>(0)) }
    }

    deinit {
        slots.deinitialize(count: Self.slotCount)
        slots.deallocate()
    }

    func value(_ slot: Int) -> Int { slots[slot].load(ordering: .relaxed) }

    /// Count one answer that took `nanoseconds`.
    func record(_ answer: LookupAnswer, nanoseconds: Int64) {
        let result: Int
        switch answer {
        case .found: result = 0
        case .notFound: result = 1
        case .temporary: result = 2
        case .permanent: result = 3
        }
        slots[Self.resultBase + result].wrappingAdd(1, ordering: .relaxed)
        // The first bucket whose bound is not below the time; slower than every bound: only +Inf.
        let bounds = ServerMetrics.bucketNanoseconds
        var bucket = 0
        while bucket < bounds.count, nanoseconds > bounds[bucket] { bucket += 1 }
        if bucket < bounds.count { slots[Self.bucketBase + bucket].wrappingAdd(1, ordering: .relaxed) }
        slots[Self.sumSlot].wrappingAdd(Int(nanoseconds), ordering: .relaxed)
    }
}
