import Foundation
import Testing
import TestSupport

/// postmapd against real clients: Debian's own postmap asks our server over tcp: and socketmap:
/// (inet and unix), and must print what it prints when it reads the same table locally; our postmap
/// must print what Debian's prints against the same server.
@Suite("postmapd: Debian's postmap as the client", .serialized)
struct ServerDifferentialTests {
    static let keys: [String] = [
        "alice@example.com", "Mixed@Example.COM", "50%off", "\u{fc}ser@ex\u{e4}mple.de", "key with space", "key",
        "someone@regexp.example", "192.168.1.7", "10.0.0.1", "nobody@nowhere", "percent%25literal",
        String(repeating: "k", count: 10240),
    ]

    /// The tables, each served under its name, and how a local postmap names it.
    static func tables(_ dir: TempDir) -> [(name: String, spec: String)] {
        let d = dir.path
        return [
            ("hash", "hash:\(d)/virtual"), ("btree", "btree:\(d)/virtual-btree"), ("lmdb", "lmdb:\(d)/virtual"),
            ("texthash", "texthash:\(d)/virtual"), ("regexp", "regexp:\(d)/rules.regexp"), ("pcre", "pcre:\(d)/rules.pcre"),
            ("cidr", "cidr:\(d)/nets.cidr"),
            ("inline", "inline:{{key=value with space, and comma}, alice@example.com=inline-alice}"),
            ("static", "static:static-value"),
            ("unionmap", "unionmap:{hash:\(d)/virtual, inline:{alice@example.com=second}}"),
            ("pipemap", "pipemap:{inline:{alice@example.com=step1}, inline:{step1=step2}}"),
        ]
    }

    static func prepare(_ dir: TempDir) throws {
        dir.write("main.cf", """
            compatibility_level = 3.6
            virtual_alias_maps = hash:\(dir.path)/virtual, regexp:\(dir.path)/rules.regexp

            """)
        dir.write("virtual", """
            alice@example.com alice@local.example
            mixed@example.com mixed-value
            50%off percent%value
            \u{fc}ser@ex\u{e4}mple.de utf8-user
            percent%25literal literal

            """)
        dir.write("rules.regexp", "/^(.*)@regexp\\.example$/ regexp-$1\n/ / has space\n/^k+$/ long-k\n/%/ has-percent\n")
        dir.write("rules.pcre", "/^(.*)@regexp\\.example$/ pcre-$1\n/ / has space\n/^k{10000,}$/ long-k\n")
        dir.write("nets.cidr", "192.168.1.0/24 cidr-net\n10.0.0.1 one\n")
        dir.write("virtual-btree", dir.read("virtual") ?? [])
        for spec in ["hash:virtual", "btree:virtual-btree", "lmdb:virtual"] {
            let built = try run(Paths.postfix("postmap"), ["-c", dir.path, spec], in: dir.url)
            #expect(built.status == 0, "\(built)")
        }
    }

    @Test("every table type answers through tcp: and socketmap: as it answers locally")
    func everyType() throws {
        guard Oracle.check(Paths.lmdbOracleAvailable && Paths.pcreOracleAvailable, "Debian's postfix, postfix-lmdb and postfix-pcre") else { return }
        let dir = TempDir("postmapd")
        try Self.prepare(dir)
        var tables = Self.tables(dir)
        if Oracle.check(Slapd.available, "slapd and postfix-ldap") {
            let server = try Slapd.shared.get()
            dir.write("ldap.cf", "server_host = \(server.url)\n" + LDAPTests.base)
            tables.append(("ldap", "ldap:\(dir.path)/ldap.cf"))
        }
        let smPort = try Slapd.freePort()
        var tcpPorts: [String: Int] = [:]
        for (name, _) in tables + [("virtual_alias_maps", "")] { tcpPorts[name] = try Slapd.freePort() }
        var config = """
            postfix_config_directory = \(dir.path)
            postfix_maps = virtual_alias_maps
            socketmap_listen = inet:127.0.0.1:\(smPort), unix:\(dir.path)/socketmap
            tcp_table_listen = \(tcpPorts.map { "127.0.0.1:\($0.value)=\($0.key)" }.sorted().joined(separator: ", "))

            """
        for (name, spec) in tables { config += "table_\(name) = \(spec)\n" }
        let server = try Postmapd(config, in: dir)
        defer { server.stop() }

        let stdin = Array(Self.keys.joined(separator: "\n").utf8) + [0x0A]
        let all = tables.map { ($0.name, [$0.spec]) }
            + [("virtual_alias_maps", ["hash:\(dir.path)/virtual", "regexp:\(dir.path)/rules.regexp"])]
        for (name, specs) in all {
            let local = try run(Paths.postfix("postmap"), ["-c", dir.path, "-q", "-"] + specs,
                                in: dir.url, stdin: stdin)
            #expect(!local.stdout.isEmpty, "\(name): nothing found locally: \(local)")
            let remotes = ["socketmap:inet:127.0.0.1:\(smPort):\(name)", "socketmap:unix:\(dir.path)/socketmap:\(name)",
                           "tcp:127.0.0.1:\(tcpPorts[name] ?? 0)"]
            for remote in remotes {
                let theirs = try run(Paths.postfix("postmap"), ["-c", dir.path, "-q", "-", remote], in: dir.url, stdin: stdin)
                #expect(theirs.stdout == local.stdout && theirs.status == local.status,
                        "\(name) via \(remote)\n--- local\n\(local)\n--- remote\n\(theirs)")
                let ours = try run(Paths.ours("postmap"), ["-c", dir.path, "-q", "-", remote], in: dir.url, stdin: stdin)
                #expect(ours == theirs, "\(name) via \(remote), our client\n--- ours\n\(ours)\n--- Debian's\n\(theirs)")
            }
            // One key at a time: a key with a space, one with %, a 10 KB key.
            for key in ["key with space", "50%off", Self.keys[Self.keys.count - 1]] {
                let single = try run(Paths.postfix("postmap"), ["-c", dir.path, "-q", key] + specs, in: dir.url)
                for remote in remotes {
                    let theirs = try run(Paths.postfix("postmap"), ["-c", dir.path, "-q", key, remote], in: dir.url)
                    #expect(theirs.stdout == single.stdout && theirs.status == single.status,
                            "\(name) via \(remote), key \(key.prefix(40))\n--- local\n\(single)\n--- remote\n\(theirs)")
                }
            }
        }
        #expect(!server.log.contains("fatal"), "\(server.log)")
    }

    @Test("a value over 4 KB: Postfix's own limit error through tcp, found through socketmap")
    func bigValue() throws {
        guard Oracle.check(Paths.oracleAvailable, "Debian's postfix") else { return }
        let dir = TempDir("postmapd")
        dir.write("main.cf", "compatibility_level = 3.6\n")
        let big = String(repeating: "v", count: 5000)
        dir.write("big", "big \(big)\nsmall value\n")
        let smPort = try Slapd.freePort(), tcpPort = try Slapd.freePort()
        let server = try Postmapd("""
            table_big = texthash:\(dir.path)/big
            socketmap_listen = 127.0.0.1:\(smPort)
            tcp_table_listen = 127.0.0.1:\(tcpPort)=big

            """, in: dir)
        defer { server.stop() }
        let viaSocketmap = try run(Paths.postfix("postmap"), ["-c", dir.path, "-q", "big", "socketmap:inet:127.0.0.1:\(smPort):big"], in: dir.url)
        #expect(viaSocketmap.status == 0 && viaSocketmap.out == big + "\n", "\(viaSocketmap)")
        let theirs = try run(Paths.postfix("postmap"), ["-c", dir.path, "-q", "big", "tcp:127.0.0.1:\(tcpPort)"], in: dir.url, timeout: 60)
        #expect(theirs.status != 0 && theirs.stderr.contains("4096"), "\(theirs)")
        let ours = try run(Paths.ours("postmap"), ["-c", dir.path, "-q", "big", "tcp:127.0.0.1:\(tcpPort)"], in: dir.url, timeout: 60)
        #expect(ours == theirs, "--- ours\n\(ours)\n--- Debian's\n\(theirs)")
        let small = try run(Paths.postfix("postmap"), ["-c", dir.path, "-q", "small", "tcp:127.0.0.1:\(tcpPort)"], in: dir.url)
        #expect(small.out == "value\n")
    }
}

/// Faults: each cuts off the offending connection only; a backend that goes away answers TEMP or 400.
@Suite("postmapd: faults", .serialized)
struct ServerFaultTests {
    static func start(_ dir: TempDir, extra: String = "") throws -> (Postmapd, sm: Int, tcp: Int) {
        dir.write("main.cf", "compatibility_level = 3.6\n")
        dir.write("virtual", "alice@example.com alice@local\n")
        let built = try run(Paths.ours("postmap"), ["-c", dir.path, "lmdb:\(dir.path)/virtual"], in: dir.url)
        #expect(built.status == 0, "\(built)")
        let sm = try Slapd.freePort(), tcp = try Slapd.freePort()
        let server = try Postmapd("""
            postfix_config_directory = \(dir.path)
            table_virtual = lmdb:\(dir.path)/virtual
            socketmap_listen = 127.0.0.1:\(sm)
            tcp_table_listen = 127.0.0.1:\(tcp)=virtual
            request_timeout = 2s
            table_check_interval = 100ms
            \(extra)

            """, in: dir)
        return (server, sm, tcp)
    }

    /// A well-behaved client is answered.
    static func healthy(_ sm: Int, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let client = try RawClient(port: sm)
        client.send(ScriptedServer.request("virtual", "alice@example.com"))
        #expect(client.netstring() == "OK alice@local", sourceLocation: sourceLocation)
    }

    @Test("garbage, truncated netstrings, a 2^40 length, a reset mid-request: only that connection is cut")
    func protocolGarbage() throws {
        let dir = TempDir("postmapd")
        let (server, sm, tcp) = try Self.start(dir)
        defer { server.stop() }
        let bystander = try RawClient(port: sm)
        let inputs: [[UInt8]] = [
            Array("hello world\r\n".utf8), [0xFF, 0x00, 0x80, 0x3A, 0x2C], Array("1099511627776:".utf8),
            Array("5:abcdefgh".utf8), Array("3:abc;".utf8),
        ]
        for input in inputs {
            let client = try RawClient(port: sm)
            client.send(input)
            #expect(client.closedByPeer(), "not closed after \(input.prefix(20))")
            bystander.send(ScriptedServer.request("virtual", "alice@example.com"))
            #expect(bystander.netstring() == "OK alice@local")
        }
        // Truncated: the client goes away mid-netstring, politely and with a reset.
        for reset in [false, true] {
            let client = try RawClient(port: sm)
            client.send("20:virtual ali")
            if reset { client.reset() }
        }
        for bad in ["put a b\n", "get %zz\n", String(repeating: "x", count: 200_000)] {
            let client = try RawClient(port: tcp)
            client.send(bad)
            #expect(client.closedByPeer(), "tcp: not closed after \(bad.prefix(20))")
        }
        let tcpClient = try RawClient(port: tcp)
        tcpClient.send("get alice@example.com\nget nobody\n")
        #expect(tcpClient.line() == "200 alice@local")
        #expect(tcpClient.line() == "500 not found")
        try Self.healthy(sm)
        #expect(server.log.contains("socketmap protocol error from 127.0.0.1:"), "\(server.log)")
    }

    @Test("a client sending a byte a second is cut off at request_timeout; others are answered meanwhile")
    func slowClient() throws {
        let dir = TempDir("postmapd")
        let (server, sm, _) = try Self.start(dir)
        defer { server.stop() }
        let slow = try RawClient(port: sm, timeout: 1)
        let request = ScriptedServer.request("virtual", "alice@example.com")
        var closed = false
        let start = Date()
        for byte in request where !closed {
            slow.send([byte])
            try Self.healthy(sm)
            // Waits up to 1 s for the server; a closed connection reads as EOF.
            closed = slow.receive { _ in false }.closed
            if Date().timeIntervalSince(start) > 10 { break }
        }
        #expect(closed, "the slow client was never cut off")
        #expect(server.log.contains("timeout after 2s reading a request from 127.0.0.1:"), "\(server.log)")
    }

    @Test("1,000 idle connections do not keep others from being answered")
    func idleConnections() throws {
        var limit = rlimit()
        getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit)
        if limit.rlim_cur < 2100 { limit.rlim_cur = min(4096, limit.rlim_max); setrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit) }
        let dir = TempDir("postmapd")
        let (server, sm, _) = try Self.start(dir)
        defer { server.stop() }
        var idle: [RawClient] = []
        for _ in 0..<1000 { idle.append(try RawClient(port: sm)) }
        try Self.healthy(sm)
        // Half of them start a request and stop: they are cut off at request_timeout, the rest stay.
        for client in idle.prefix(500) { client.send("30:virt") }
        try Self.healthy(sm)
        #expect(idle[0].closedByPeer())
        idle.last?.send(ScriptedServer.request("virtual", "alice@example.com"))
        #expect(idle.last?.netstring() == "OK alice@local")
        idle.removeAll()
        try Self.healthy(sm)
    }

    @Test("max_connections and client_access refuse connections, and say so")
    func limits() throws {
        let dir = TempDir("postmapd")
        dir.write("clients.cidr", "127.0.0.2 OK\n0.0.0.0/0 REJECT\n")
        let (server, sm, _) = try Self.start(dir, extra: "max_connections = 2\nclient_access = cidr:\(dir.path)/clients.cidr")
        defer { server.stop() }
        let refused = try RawClient(port: sm)
        refused.send(ScriptedServer.request("virtual", "alice@example.com"))
        #expect(refused.closedByPeer())
        #expect(server.log.contains("connect from 127.0.0.1:") && server.log.contains("refused by client_access"), "\(server.log)")

        let dir2 = TempDir("postmapd")
        let (server2, sm2, _) = try Self.start(dir2, extra: "max_connections = 2")
        defer { server2.stop() }
        let a = try RawClient(port: sm2), b = try RawClient(port: sm2)
        a.send(ScriptedServer.request("virtual", "alice@example.com"))
        #expect(a.netstring() == "OK alice@local")
        b.send(ScriptedServer.request("virtual", "alice@example.com"))
        #expect(b.netstring() == "OK alice@local")
        let third = try RawClient(port: sm2)
        #expect(third.closedByPeer())
        #expect(server2.log.contains("too many connections (max_connections = 2)"), "\(server2.log)")
    }

    @Test("a deleted table file and a stopped slapd answer TEMP and 400, never not found")
    func backendGone() throws {
        guard Oracle.check(Paths.oracleAvailable, "Debian's postfix") else { return }
        let dir = TempDir("postmapd")
        var extra = ""
        var slapd: Slapd?
        if Oracle.check(Slapd.available, "slapd and postfix-ldap") {
            let s = try Slapd()
            slapd = s
            dir.write("ldap.cf", "server_host = \(s.url)\ntimeout = 2\n" + LDAPTests.base)
            extra = "table_ldap = ldap:\(dir.path)/ldap.cf\n"
        }
        defer { slapd?.stop() }
        let ldapTCP = try Slapd.freePort(), tcp = try Slapd.freePort(), sm2 = try Slapd.freePort()
        dir.write("main.cf", "compatibility_level = 3.6\n")
        dir.write("virtual", "alice@example.com alice@local\n")
        #expect(try run(Paths.ours("postmap"), ["-c", dir.path, "lmdb:\(dir.path)/virtual"], in: dir.url).status == 0)
        let full = try Postmapd("""
            postfix_config_directory = \(dir.path)
            table_virtual = lmdb:\(dir.path)/virtual
            socketmap_listen = 127.0.0.1:\(sm2)
            tcp_table_listen = 127.0.0.1:\(tcp)=virtual\(slapd != nil ? ", 127.0.0.1:\(ldapTCP)=ldap" : "")
            table_check_interval = 100ms
            \(extra)

            """, in: dir)
        defer { full.stop() }
        if let slapd {
            let before = try run(Paths.postfix("postmap"), ["-c", dir.path, "-q", "alice@example.com", "socketmap:inet:127.0.0.1:\(sm2):ldap"], in: dir.url)
            #expect(before.out == "alice@mail.example.com\n", "\(before)")
            slapd.stop()
            let sock = try run(Paths.postfix("postmap"), ["-c", dir.path, "-q", "alice@example.com", "socketmap:inet:127.0.0.1:\(sm2):ldap"], in: dir.url)
            #expect(sock.status != 0 && sock.stderr.contains("socketmap server temporary error"), "\(sock)")
            let client = try RawClient(port: ldapTCP, timeout: 30)
            client.send("get alice@example.com\n")
            #expect(client.line()?.hasPrefix("400 ") == true)
        }
        unlink(dir.file("virtual.lmdb"))
        // The server looks at the file every 100 ms: wait (bounded) until it answers for the missing file.
        var reply = ""
        waitUntil(deadline: 10, interval: 0.05) {
            let client = try? SocketClient(port: sm2)
            client?.send(ScriptedServer.request("virtual", "alice@example.com"))
            reply = client?.netstring() ?? ""
            return !reply.hasPrefix("OK ")
        }
        #expect(reply.hasPrefix("TEMP "), "\(reply)")
        let tcpClient = try RawClient(port: tcp)
        tcpClient.send("get alice@example.com\n")
        #expect(tcpClient.line()?.hasPrefix("400 ") == true)
        let theirs = try run(Paths.postfix("postmap"), ["-c", dir.path, "-q", "alice@example.com", "socketmap:inet:127.0.0.1:\(sm2):virtual"], in: dir.url)
        #expect(theirs.status != 0 && theirs.stderr.contains("temporary error"), "\(theirs)")
        // Back again: answered again.
        let rebuilt = try run(Paths.ours("postmap"), ["-c", dir.path, "lmdb:\(dir.path)/virtual"], in: dir.url)
        #expect(rebuilt.status == 0)
        waitUntil(deadline: 10, interval: 0.05) {
            let client = try? SocketClient(port: sm2)
            client?.send(ScriptedServer.request("virtual", "alice@example.com"))
            return client?.netstring() == "OK alice@local"
        }
        try ServerFaultTests.healthy(sm2)
    }
}

/// Clients on threads of their own, each asking table `virtual` for `key` over socketmap, `depth`
/// requests at a time, until `stop()`; every reply that `good` refuses is kept as a failure.
final class LookupLoad: @unchecked Sendable {
    // Proof: `stopping`, `failures` and `answers` are read and written only with `lock` held; `loaders`
    // is a DispatchGroup (thread-safe); nothing else is stored.
    private let lock = NSLock()
    private var stopping = false
    private var failures: [String] = []
    private var answers = 0
    private let loaders = DispatchGroup()

    init(clients: Int, port: Int, key: String, depth: Int, good: @escaping @Sendable (String) -> Bool) {
        for _ in 0..<clients {
            loaders.enter()
            Thread.detachNewThread { [self] in
                defer { loaders.leave() }
                guard let client = try? RawClient(port: port) else {
                    lock.withLock { failures.append("connect") }
                    return
                }
                while !lock.withLock({ stopping }) {
                    for _ in 0..<depth { client.send(ScriptedServer.request("virtual", key)) }
                    for _ in 0..<depth {
                        let reply = client.netstring() ?? "(no reply)"
                        lock.withLock {
                            answers += 1
                            if !good(reply) { failures.append(reply) }
                        }
                    }
                }
            }
        }
    }

    /// Stop the clients, wait for them, and return what they saw.
    func stop() -> (failures: [String], answers: Int) {
        lock.withLock { stopping = true }
        loaders.wait()
        return lock.withLock { (failures, answers) }
    }
}

/// Reload: files rebuilt under load, SIGHUP with good and broken configurations, SIGTERM.
@Suite("postmapd: reload", .serialized)
struct ServerReloadTests {
    @Test("an lmdb map rebuilt 50 times under load: no failed lookup, new data within 1 s of each rename")
    func rebuildUnderLoad() throws {
        let dir = TempDir("postmapd")
        dir.write("main.cf", "compatibility_level = 3.6\n")
        dir.write("virtual", "key version-0\n")
        #expect(try run(Paths.ours("postmap"), ["-c", dir.path, "lmdb:\(dir.path)/virtual"], in: dir.url).status == 0)
        let sm = try Slapd.freePort()
        let server = try Postmapd("""
            table_virtual = lmdb:\(dir.path)/virtual
            socketmap_listen = 127.0.0.1:\(sm)
            table_check_interval = 100ms

            """, in: dir)
        defer { server.stop() }

        let load = LookupLoad(clients: 4, port: sm, key: "key", depth: 1) { $0.hasPrefix("OK version-") }
        var slowest = 0.0
        let probe = try RawClient(port: sm)
        for version in 1...50 {
            dir.write("virtual", "key version-\(version)\n")
            let built = try run(Paths.ours("postmap"), ["-c", dir.path, "lmdb:\(dir.path)/virtual"], in: dir.url)
            #expect(built.status == 0)
            let renamed = Date()
            var seen = false
            while !seen && Date().timeIntervalSince(renamed) < 5 {
                probe.send(ScriptedServer.request("virtual", "key"))
                seen = probe.netstring() == "OK version-\(version)"
                if !seen { usleep(10_000) }
            }
            #expect(seen, "version \(version) never served")
            slowest = max(slowest, Date().timeIntervalSince(renamed))
        }
        let (failures, answers) = load.stop()
        #expect(failures.isEmpty, "\(failures.prefix(5))")
        #expect(answers > 100)
        #expect(slowest < 1.0, "new data took \(slowest) s after a rename")
        print("postmapd reload under load: \(answers) lookups, 0 failed; slowest switch \(Int(slowest * 1000)) ms")
    }

    /// The event loop holds its lmdb read transaction and the file's shared lock for a short window
    /// (`LoopState.batchWindow`), across requests: a writer taking the exclusive lock must still get it
    /// while clients keep the loop busy.
    @Test("an lmdb map updated in place (postmap -i) under load: every update gets the lock and is served")
    func inPlaceUpdateUnderLoad() throws {
        let dir = TempDir("postmapd")
        dir.write("main.cf", "compatibility_level = 3.6\n")
        dir.write("virtual", "key value\n")
        #expect(try run(Paths.ours("postmap"), ["-c", dir.path, "lmdb:\(dir.path)/virtual"], in: dir.url).status == 0)
        let sm = try Slapd.freePort()
        let server = try Postmapd("""
            table_virtual = lmdb:\(dir.path)/virtual
            socketmap_listen = 127.0.0.1:\(sm)

            """, in: dir)
        defer { server.stop() }

        // Pipelined, so that the loop always has requests to answer.
        let load = LookupLoad(clients: 4, port: sm, key: "key", depth: 8) { $0 == "OK value" }
        let probe = try RawClient(port: sm)
        for n in 1...20 {
            // A generous deadline: this checks that the writer gets the lock at all, not how fast.
            let updated = try run(Paths.ours("postmap"), ["-c", dir.path, "-i", "lmdb:\(dir.path)/virtual"], in: dir.url,
                                  stdin: Array("new\(n) v\(n)\n".utf8), timeout: 30)
            #expect(updated.status == 0, "postmap -i: \(updated.stderr)")
            probe.send(ScriptedServer.request("virtual", "new\(n)"))
            #expect(probe.netstring() == "OK v\(n)")
        }
        let (failures, answers) = load.stop()
        #expect(failures.isEmpty, "\(failures.prefix(5))")
        #expect(answers > 100)
    }

    @Test("SIGHUP: a new table is served; a broken configuration keeps the old one serving; SIGTERM stops cleanly")
    func hangup() throws {
        let dir = TempDir("postmapd")
        let sm = try Slapd.freePort()
        let good = """
            table_one = inline:{a=1}
            socketmap_listen = 127.0.0.1:\(sm)

            """
        let server = try Postmapd(good, in: dir)
        defer { server.stop() }
        let client = try RawClient(port: sm)
        client.send(ScriptedServer.request("one", "a"))
        #expect(client.netstring() == "OK 1")
        dir.write("postmapd.cf", good + "table_two = inline:{b=2}\n")
        server.hangup()
        client.send(ScriptedServer.request("two", "b"))
        #expect(client.netstring() == "OK 2")
        dir.write("postmapd.cf", good + "table_two = regexp:\(dir.path)/missing.regexp\n")
        server.hangup()
        #expect(server.log.contains("failed") && server.log.contains("the previous configuration stays in use"), "\(server.log)")
        client.send(ScriptedServer.request("two", "b"))
        #expect(client.netstring() == "OK 2")
        dir.write("postmapd.cf", "this is not = main.cf syntax\nsocketmap_listen = nonsense\n")
        server.hangup()
        client.send(ScriptedServer.request("one", "a"))
        #expect(client.netstring() == "OK 1")
        client.send(ScriptedServer.request("nosuch", "a"))
        #expect(client.netstring() == "PERM unknown table nosuch")
        #expect(server.stop() == 0)
        #expect(server.log.contains("daemon stopped"))
    }

    @Test("--check opens every table and reports; a bad table fails with Postfix's message")
    func check() throws {
        let dir = TempDir("postmapd")
        dir.write("postmapd.cf", "table_x = regexp:\(dir.path)/rules\nsocketmap_listen = 127.0.0.1:1\n")
        dir.write("rules", "/a/ b\n")
        let ok = try run(Paths.ours("postmapd"), ["--config", dir.file("postmapd.cf"), "--check"], in: dir.url)
        #expect(ok.status == 0 && ok.stderr.isEmpty, "\(ok)")
        dir.write("postmapd.cf", "table_x = regexp:\(dir.path)/rules\ntable_y = hash:\(dir.path)/missing\nsocketmap_listen = 127.0.0.1:1\n")
        let bad = try run(Paths.ours("postmapd"), ["--config", dir.file("postmapd.cf"), "--check"], in: dir.url)
        #expect(bad.status == 1 && bad.stderr.contains("postmapd[") && bad.stderr.contains("fatal: table y: open database \(dir.path)/missing.db: No such file or directory"), "\(bad)")
        dir.write("postmapd.cf", "table_x = regexp:\(dir.path)/rules\nsocketmap_listen = 127.0.0.1:1\n")
        chmod(dir.file("rules"), 0o666)
        let loose = try run(Paths.ours("postmapd"), ["--config", dir.file("postmapd.cf"), "--check"], in: dir.url)
        #expect(loose.stderr.contains("warning: group or other writable: \(dir.path)/rules"), "\(loose)")
        let missing = try run(Paths.ours("postmapd"), ["--config", dir.file("nope.cf"), "--check"], in: dir.url)
        #expect(missing.status == 1 && missing.stderr.contains("fatal: open \(dir.path)/nope.cf: No such file or directory"), "\(missing)")
    }
}

/// Privileges: started as root, the server binds, sets the unix socket's owner and mode, then runs as
/// the configured user.
@Suite("postmapd: privileges", .serialized)
struct ServerPrivilegeTests {
    @Test("user = nobody after binding; unix socket owner and mode", .enabled(if: geteuid() == 0))
    func dropsPrivileges() throws {
        let dir = TempDir("postmapd")
        chmod(dir.path, 0o755)
        dir.write("virtual", "alice@example.com alice@local\n")
        let sm = try Slapd.freePort()
        let server = try Postmapd("""
            table_virtual = texthash:\(dir.path)/virtual
            socketmap_listen = 127.0.0.1:\(sm), unix:\(dir.path)/socketmap
            unix_socket_owner = nobody:nogroup
            unix_socket_mode = 0660
            user = nobody

            """, in: dir)
        defer { server.stop() }
        let status = try String(contentsOfFile: "/proc/\(server.pid ?? 0)/status", encoding: .utf8)
        let uidLine = status.split(separator: "\n").first { $0.hasPrefix("Uid:") } ?? ""
        let nobody = getpwnam("nobody").map { Int($0.pointee.pw_uid) } ?? -1
        #expect(uidLine.split(whereSeparator: { $0 == "\t" || $0 == " " }).dropFirst().allSatisfy { Int($0) == nobody }, "\(uidLine)")
        var st = stat()
        #expect(stat(dir.file("socketmap"), &st) == 0)
        #expect(Int(st.st_uid) == nobody && st.st_mode & 0o777 == 0o660)
        try ServerFaultTests.healthy(sm)
        let client = try RawClient(unixPath: dir.file("socketmap"))
        client.send(ScriptedServer.request("virtual", "alice@example.com"))
        #expect(client.netstring() == "OK alice@local")
    }
}

/// The server serves the database tables too: a pgsql table, and a memcache table whose backup is an
/// lmdb table; Debian's postmap asks it over socketmap and tcp, and must print what it prints locally.
@Suite("postmapd: database tables", .serialized)
struct ServerDatabaseTests {
    @Test("pgsql, and memcache with an lmdb backup, through the server as locally")
    func databaseTables() throws {
        guard Oracle.check(Paths.lmdbOracleAvailable, "Debian's postfix-lmdb"),
              Oracle.check(PgSQLServer.available, "postgresql and postfix-pgsql"),
              Oracle.check(Memcached.available, "memcached") else { return }
        // A server of its own: the test stops it at the end.
        let pg = try PgSQLTests.ownServer()
        defer { pg.stop() }
        let mc = try Memcached()
        defer { mc.stop() }
        let dir = TempDir("postmapd")
        dir.write("main.cf", "compatibility_level = 3.6\n")
        dir.write("pgsql.cf", PgSQLTests.login(pg) + PgSQLTests.query)
        dir.write("backup", "alice@example.com alice@backup.example\nbob@example.com bob@backup.example\n")
        #expect(try run(Paths.postfix("postmap"), ["-c", dir.path, "lmdb:\(dir.path)/backup"], in: dir.url).status == 0)
        dir.write("memcache.cf", "memcache = \(mc.service)\nbackup = lmdb:\(dir.path)/backup\n")
        let sm = try Slapd.freePort(), pgTCP = try Slapd.freePort(), mcTCP = try Slapd.freePort()
        let server = try Postmapd("""
            postfix_config_directory = \(dir.path)
            table_pgsql = pgsql:\(dir.path)/pgsql.cf
            table_memcache = memcache:\(dir.path)/memcache.cf
            socketmap_listen = 127.0.0.1:\(sm)
            tcp_table_listen = 127.0.0.1:\(pgTCP)=pgsql, 127.0.0.1:\(mcTCP)=memcache

            """, in: dir)
        defer { server.stop() }
        let keys = PgSQLTests.people + ["alice@example.com", "bob@example.com", "nobody@nowhere"]
        let stdin = Array(keys.joined(separator: "\n").utf8) + [0x0A]
        for (name, local, tcp) in [("pgsql", "pgsql:\(dir.path)/pgsql.cf", pgTCP), ("memcache", "memcache:\(dir.path)/memcache.cf", mcTCP)] {
            let mine = try run(Paths.postfix("postmap"), ["-c", dir.path, "-q", "-", local], in: dir.url, stdin: stdin)
            #expect(!mine.stdout.isEmpty, "\(name): \(mine)")
            for remote in ["socketmap:inet:127.0.0.1:\(sm):\(name)", "tcp:127.0.0.1:\(tcp)"] {
                let theirs = try run(Paths.postfix("postmap"), ["-c", dir.path, "-q", "-", remote], in: dir.url, stdin: stdin)
                #expect(theirs.stdout == mine.stdout && theirs.status == mine.status,
                        "\(name) via \(remote)\n--- local\n\(mine)\n--- remote\n\(theirs)")
            }
        }
        // The database goes away: temporary errors, never "not found".
        pg.stop()
        let client = try RawClient(port: sm, timeout: 30)
        client.send(ScriptedServer.request("pgsql", "alice@example.com"))
        let reply = client.netstring() ?? ""
        #expect(reply.hasPrefix("TEMP "), "\(reply)")
    }
}
