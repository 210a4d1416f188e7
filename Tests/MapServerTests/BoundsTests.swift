import MapServer
import Testing

/// Every numeric setting of postmapd.cf has bounds: a value beyond them is an error that names the
/// parameter and the range, never a value that overflows later (SIGILL, before these bounds).
@Suite("postmapd.cf bounds")
struct BoundsTests {
    static let listen = ("socketmap_listen", "127.0.0.1:1")

    @Test("a value past the bound is refused, naming the range", arguments: [
        ("max_connections", "1000001"), ("max_connections", "99999999999999999999999"),
        ("lookup_threads", "40000"), ("lookup_threads", "1025"), ("event_loops", "5"), ("event_loops", "99999999999999999999"),
        ("max_request_size", "100000001"), ("max_request_size", "9223372036854775808"),
        ("idle_timeout", "8d"), ("idle_timeout", "604801"),
        ("request_timeout", "86401s"), ("request_timeout", "2d"),
        ("table_check_interval", "99999999999999999999ms"), ("table_check_interval", "9223372036854775807ms"),
        ("table_check_interval", "86400001ms"), ("table_check_interval", "2d"),
    ])
    func outOfRange(name: String, value: String) {
        #expect {
            _ = try ServerConfiguration.parse([Self.listen, (name, value)])
        } throws: { error in
            let text = (error as? ServerConfigError)?.message ?? ""
            return text.contains("\(name) = \(value)") && text.contains("out of range") && text.contains(" to ")
        }
    }

    @Test("every bound itself is accepted", arguments: [
        ("max_connections", "1000000", 1_000_000), ("lookup_threads", "1024", 1024),
        ("max_request_size", "100000000", 100_000_000), ("idle_timeout", "7d", 604_800),
        ("request_timeout", "1d", 86_400), ("table_check_interval", "1d", 86_400_000),
        ("table_check_interval", "0ms", 0), ("lookup_threads", "1", 1), ("event_loops", "1", 1), ("event_loops", "4", 4),
    ])
    func atBound(name: String, value: String, expected: Int) throws {
        let config = try ServerConfiguration.parse([Self.listen, (name, value)])
        let read: Int
        switch name {
        case "max_connections": read = config.maximumConnections
        case "lookup_threads": read = config.lookupThreads
        case "event_loops": read = config.eventLoops ?? 0
        case "max_request_size": read = config.maximumRequestSize
        case "idle_timeout": read = config.idleTimeout
        case "request_timeout": read = config.requestTimeout
        default: read = config.tableCheckInterval
        }
        #expect(read == expected)
    }

    @Test("the bounds cover every numeric setting")
    func everySetting() {
        #expect(Set(ServerConfiguration.bounds.keys) == ["max_connections", "lookup_threads", "event_loops", "max_request_size",
                                                         "idle_timeout", "request_timeout", "table_check_interval"])
    }
}
