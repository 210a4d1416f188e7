import MapServer
import Testing
import TestSupport

@Suite("postmapd.cf")
struct ConfigurationTests {
    @Test("tables, listeners, limits and $name expansion")
    func parses() throws {
        let config = try ServerConfiguration.parse([
            ("dir", "/etc/postfix"),
            ("table_virtual", "lmdb:$dir/virtual"),
            ("table_access", "cidr:$dir/access.cidr, static:OK"),
            ("postfix_maps", "virtual_alias_maps transport_maps"),
            ("socketmap_listen", "inet:127.0.0.1:10027, unix:/run/postmapd/sm, [::1]:10029"),
            ("tcp_table_listen", "127.0.0.1:10028=virtual"),
            ("idle_timeout", "5m"),
            ("request_timeout", "3"),
            ("table_check_interval", "100ms"),
            ("unix_socket_mode", "0660"),
        ])
        #expect(config.tables["virtual"] == "lmdb:/etc/postfix/virtual")
        #expect(config.servedNames == ["virtual", "access", "virtual_alias_maps", "transport_maps"])
        #expect(config.listeners.count == 4)
        #expect(config.listeners[2].address == .inet(host: "::1", port: 10029))
        #expect(config.listeners[3].table == "virtual")
        #expect(config.idleTimeout == 300)
        #expect(config.requestTimeout == 3)
        #expect(config.tableCheckInterval == 100)
        #expect(config.unixSocketMode == 0o660)
        #expect(config.unused.isEmpty, "dir is used as $dir")
        let stray = try ServerConfiguration.parse([("socketmap_listen", "127.0.0.1:1"), ("virtual_maps", "hash:x")])
        #expect(stray.unused == ["postmapd.cf: unused parameter: virtual_maps=hash:x"])
    }

    @Test("errors name the parameter", arguments: [
        ([("socketmap_listen", "localhost")], "socketmap_listen = localhost: expected HOST:PORT"),
        ([("socketmap_listen", "127.0.0.1:99999")], "bad port"),
        ([("tcp_table_listen", "127.0.0.1:1=nosuch")], "no table_nosuch or postfix_maps entry nosuch"),
        ([("tcp_table_listen", "127.0.0.1:1")], "expected ADDRESS=TABLE"),
        ([("table_x", "hash:/x")], "no listener"),
        ([("socketmap_listen", "unix:relative")], "absolute path"),
        ([("socketmap_listen", "127.0.0.1:1"), ("max_connections", "-1")], "expected a positive number"),
        ([("socketmap_listen", "127.0.0.1:1"), ("idle_timeout", "soon")], "expected a time"),
        ([("socketmap_listen", "127.0.0.1:1"), ("postfix_maps", "myhostname")], "is not a *_maps parameter"),
        ([("socketmap_listen", "127.0.0.1:1, 127.0.0.1:1")], "more than one listener"),
    ])
    func errors(pairs: [(String, String)], expected: String) {
        do {
            _ = try ServerConfiguration.parse(pairs)
            Issue.record("accepted \(pairs)")
        } catch {
            #expect(error.message.contains(expected), "\(error.message)")
        }
    }
}
