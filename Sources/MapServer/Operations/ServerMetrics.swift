import Prometheus

/// The server's Prometheus metrics (swift-prometheus), served by `MetricsEndpoint`.
///
/// - `postmapd_lookups_total{table,result}`: answers by table and result (found, notfound, temp, perm).
/// - `postmapd_lookup_duration_seconds{table}`: lookup latency, a histogram.
/// - `postmapd_table_reloads_total{table}`: tables opened again after their files changed.
/// - `postmapd_config_reloads_total{result}`: SIGHUP re-reads (ok, failed).
/// - `postmapd_errors_total{kind}`: protocol errors, request timeouts, refused clients, connection limit.
/// - `postmapd_connections{listener}`: open connections.
public final class ServerMetrics: Sendable {
    public let registry = PrometheusCollectorRegistry()

    public init() {}

    func table(_ name: String) -> TableMetrics {
        TableMetrics(registry: registry, table: name)
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

    /// The text exposition format.
    public func exposition() -> [UInt8] { registry.emitToBuffer() }

    static var lookups: MetricNameDescriptor { MetricNameDescriptor(namespace: "postmapd", metricName: "lookups", unitName: "total",
                                              helpText: "Lookups answered, by table and result.") }
    static var latency: MetricNameDescriptor { MetricNameDescriptor(namespace: "postmapd", metricName: "lookup_duration", unitName: "seconds",
                                              helpText: "Time to answer a lookup.") }
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
}

/// One table's counters, made once when the table opens.
struct TableMetrics: Sendable {
    let found, notFound, temporary, permanent: Counter
    let latency: DurationHistogram

    init(registry: PrometheusCollectorRegistry, table: String) {
        func counter(_ result: String) -> Counter {
            registry.makeCounter(descriptor: ServerMetrics.lookups, labels: [("table", table), ("result", result)])
        }
        found = counter("found")
        notFound = counter("notfound")
        temporary = counter("temp")
        permanent = counter("perm")
        latency = registry.makeDurationHistogram(descriptor: ServerMetrics.latency, labels: [("table", table)],
                                                 buckets: ServerMetrics.buckets)
    }

    func record(_ answer: LookupAnswer, nanoseconds: Int64) {
        switch answer {
        case .found: found.increment()
        case .notFound: notFound.increment()
        case .temporary: temporary.increment()
        case .permanent: permanent.increment()
        }
        latency.recordNanoseconds(nanoseconds)
    }
}
