import Foundation
import Testing
import TestSupport

/// The memcache table against a real memcached started for each test (and a scripted server that breaks
/// the protocol), ours beside Debian's postmap, which has memcache built in: the same stdout, stderr and
/// exit status, and the same cache contents afterwards.
@Suite(.serialized, .enabled(if: Oracle.enabled(Paths.oracleAvailable && Memcached.available),
                             "needs memcached and Debian's postfix"))
struct MemcacheTests {
    typealias Record = (key: [UInt8], value: [UInt8], flags: Int)

    static func bytes(_ s: String) -> [UInt8] { Array(s.utf8) }

    static let longKey = String(repeating: "k", count: 250)
    static let tooLongKey = String(repeating: "k", count: 251)

    /// What the cache holds at the start of most tests.
    static let records: [Record] = [
        (bytes("a"), bytes("xyz"), 0),
        (bytes("b"), [], 5),
        (bytes("c"), Array("x".utf8) + [0] + Array("yzw".utf8), 0),
        (bytes("up"), bytes("lower"), 0),
        (bytes("Up"), bytes("UPPER"), 0),
        (bytes("100%"), bytes("percent"), 0),
        (bytes("caf\u{e9}"), bytes("utf-8 key"), 0),
        ([0x63, 0x61, 0x66, 0xE9], bytes("latin-1 key"), 0),
        (bytes("user@example.com"), bytes("full address"), 0),
        (bytes("example.com/user"), bytes("formatted"), 0),
        (bytes("prefix:user@example.com"), bytes("prefixed"), 0),
        (bytes(longKey), bytes("long key"), 0),
        (bytes("ctl\u{1}key"), bytes("control"), 0),
        (bytes("crlf"), bytes("line1\r\nline2"), 0),
    ]

    static let keys: [String] = ["a", "A", "b", "c", "zz", "up", "Up", "UP", "a b", "tab\tkey", "100%", "caf\u{e9}",
                                 "CAF\u{c9}", "user@example.com", "USER@Example.COM", longKey, "ctl\u{1}key", "crlf",
                                 "%s"]

    /// Run `arguments` with ours and with Postfix's postmap, each starting from the cache holding `seed`;
    /// require the same output and the same cache contents (for `watch`) afterwards. With `cache` false
    /// the server is not touched (it is down).
    @discardableResult
    static func same(_ twin: Twin, _ server: Memcached, _ arguments: [String], stdin: [UInt8]? = nil,
                     seed: [Record] = records, watch: [[UInt8]] = records.map(\.key), cache: Bool = true,
                     sourceLocation: SourceLocation = #_sourceLocation) throws -> Outcome {
        if cache { try server.reset(seed) }
        let a = try run(Paths.ours("postmap"), ["-c", "."] + arguments, in: twin.ours.url, stdin: stdin)
        let afterOurs = cache ? try server.dump(watch) : ""
        if cache { try server.reset(seed) }
        let b = try run(Paths.postfix("postmap"), ["-c", "."] + arguments, in: twin.theirs.url, stdin: stdin)
        let afterTheirs = cache ? try server.dump(watch) : ""
        #expect(a.status == b.status, "exit status of \(arguments)", sourceLocation: sourceLocation)
        #expect(a.stdout == b.stdout, "stdout of \(arguments):\nours:\n\(a.out)\ntheirs:\n\(b.out)", sourceLocation: sourceLocation)
        #expect(a.stderr == b.stderr, "stderr of \(arguments):\nours:\n\(a.stderr)\ntheirs:\n\(b.stderr)", sourceLocation: sourceLocation)
        #expect(afterOurs == afterTheirs, "cache after \(arguments):\nours:\n\(afterOurs)\ntheirs:\n\(afterTheirs)",
                sourceLocation: sourceLocation)
        return a
    }

    static let configs = ["compatibility_level = 0\n", "compatibility_level = 3.6\n"]

    @Test("lookups and deletes: folding, empty and NUL values, keys with spaces, %, 8-bit bytes, long keys",
          arguments: DifferentialTests.configReleases)
    func lookups(configRelease: DifferentialTests.ConfigRelease) throws {
        let (config, release) = (configRelease.config, configRelease.release)
        guard release.check() else { return }
        let server = try Memcached()
        let twin = Twin(mainCf: config, release: release)
        twin.write("mc.cf", "memcache = \(server.service)\n")
        let map = "memcache:./mc.cf"
        for key in Self.keys {
            try Self.same(twin, server, ["-q", key, map])
            try Self.same(twin, server, ["-fq", key, map])
        }
        // The comparisons above are not between two silent failures.
        #expect(try Self.same(twin, server, ["-q", "A", map]).out == "xyz\n")
        #expect(try Self.same(twin, server, ["-fq", "Up", map]).out == "UPPER\n")
        #expect(try Self.same(twin, server, ["-q", "c", map]).out == "x\n")
        let stream = Array(Self.keys.joined(separator: "\n").utf8) + [0x0A] + [0x63, 0x61, 0x66, 0xE9, 0x0A]
        try Self.same(twin, server, ["-q", "-", map], stdin: stream)
        try Self.same(twin, server, ["-fq", "-", map], stdin: stream)
        // More keys than one read-ahead batch (64): later batches are sent ahead on the open connection.
        var many: [String] = []
        for i in 0..<300 { many.append(Self.keys[i % Self.keys.count]); many.append("miss\(i)") }
        let manyOut = try Self.same(twin, server, ["-q", "-", map], stdin: Array((many.joined(separator: "\n") + "\n").utf8))
        #expect(manyOut.out.split(separator: "\n").count > 200)
        #expect(try Self.same(twin, server, ["-q", "-", map, "static:fallback"], stdin: stream).out.contains("zz\tfallback\n"))
        for key in ["a", "A", "zz", "a b", "caf\u{e9}", "user@example.com"] {
            try Self.same(twin, server, ["-d", key, map])
        }
        try Self.same(twin, server, ["-d", "-", map], stdin: Array("a\nzz\nUp\n100%\n".utf8))
        try Self.same(twin, server, ["-fd", "Up", map])
        // Updates go through Postfix's bulk-mode creators, which memcache lacks; listing needs a backup.
        try Self.same(twin, server, ["-i", map], stdin: Array("new value\n".utf8))
        try Self.same(twin, server, ["-s", map])
        try Self.same(twin, server, [map])
        // A key longer than memcached allows: memcached answers CLIENT_ERROR, a temporary error.
        try Self.same(twin, server, ["-q", Self.tooLongKey, map])
    }

    @Test("key_format and domain")
    func keyFormatAndDomain() throws {
        let server = try Memcached()
        let twin = Twin()
        let keys = ["user@example.com", "USER@Example.COM", "user@other.net", "user", "@example.com", "user@",
                    "user@sub.example.com", "a b@example.com"]
        let variants: [String] = [
            "key_format = %d/%u\n",
            "key_format = prefix:%s\n",
            "key_format = %2.%1\n",
            "key_format = %3.%2.%1\n",
            "key_format = %S%%\n",
            "key_format =\n",
            "domain = example.com, sub.example.com\n",
            "domain = !other.net, example.com\nkey_format = %d/%u\n",
            "domain = texthash:./domains\n",
        ]
        twin.write("domains", "example.com ok\n")
        for extra in variants {
            twin.write("mc.cf", "memcache = \(server.service)\n" + extra)
            for key in keys {
                try Self.same(twin, server, ["-q", key, "memcache:./mc.cf"])
            }
            try Self.same(twin, server, ["-d", "user@example.com", "memcache:./mc.cf"])
        }
        twin.write("mc.cf", "memcache = \(server.service)\nkey_format = %d/%u\n")
        #expect(try Self.same(twin, server, ["-q", "User@Example.com", "memcache:./mc.cf"]).out == "formatted\n")
    }

    @Test("a backup table (lmdb, hash): fallback, cache refresh, deletes, listing", arguments: ["lmdb", "hash"])
    func backup(type: String) throws {
        let server = try Memcached()
        let twin = Twin()
        twin.write("backup", "k1 v1\nk2 value two\nbig " + String(repeating: "x", count: 40) + "\nMixed mixed\n")
        try twin.same("postmap", ["\(type):backup"])
        twin.write("mc.cf", "memcache = \(server.service)\nbackup = \(type):./backup\nflags = 7\nttl = 600\ndata_size_limit = 30\n")
        let map = "memcache:./mc.cf"
        let watch = ["k1", "k2", "big", "mixed", "k9", "a"].map(Self.bytes)
        let seed: [Record] = [(Self.bytes("k2"), Self.bytes("cached two"), 0), (Self.bytes("k9"), Self.bytes("only cached"), 0)]
        for key in ["k1", "K1", "k2", "big", "Mixed", "k9", "nothing", "a b"] {
            try Self.same(twin, server, ["-q", key, map], seed: seed, watch: watch)
        }
        try Self.same(twin, server, ["-q", "-", map], stdin: Array("k1\nk2\nbig\nnothing\nMIXED\n".utf8), seed: seed, watch: watch)
        // The NUL flags are the backup's business (memcache keys never have a NUL).
        for flag in ["-n", "-N"] { try Self.same(twin, server, [flag, "-q", "k1", map], seed: seed, watch: watch) }
        try Self.same(twin, server, ["-s", map], seed: seed, watch: watch)
        #expect(try Self.same(twin, server, ["-q", "k1", map], seed: seed, watch: watch).out == "v1\n")
        #expect(try server.dump([Self.bytes("k1")]) == "VALUE k1 7 2\r\nv1\r\nEND\r\n", "refreshed from the backup")
        #expect(try Self.same(twin, server, ["-q", "k2", map], seed: seed, watch: watch).out == "cached two\n")
        // Deletes go to memcache and then the backup, whose answer is the result. Each side has its own
        // backup file; compare them afterwards.
        try Self.same(twin, server, ["-d", "k9", map], seed: seed, watch: watch)
        try Self.same(twin, server, ["-d", "k1", map], seed: seed, watch: watch)
        try Self.same(twin, server, ["-d", "-", map], stdin: Array("k2\nnothing\n".utf8), seed: seed, watch: watch)
        try twin.same("postmap", ["-s", "\(type):backup"])
        // memcached down: the backup answers, after the warnings of the lookup and of the refresh.
        server.stop()
        try Self.same(twin, server, ["-q", "big", map], cache: false)
        try Self.same(twin, server, ["-q", "Mixed", map], cache: false)
        try Self.same(twin, server, ["-q", "k1", map], cache: false)
        try Self.same(twin, server, ["-d", "Mixed", map], cache: false)
        try twin.same("postmap", ["-s", "\(type):backup"])
    }

    @Test("memcached stopped, then frozen: temporary errors with Postfix's warnings, within the timeout")
    func serverFaults() throws {
        let server = try Memcached()
        let twin = Twin()
        twin.write("mc.cf", "memcache = \(server.service)\ntimeout = 1\n")
        twin.write("once.cf", "memcache = \(server.service)\nmax_try = 1\ntimeout = 1\n")
        try Self.same(twin, server, ["-q", "a", "memcache:./mc.cf"])
        server.pause()
        defer { server.resume() }
        // A frozen server accepts connections and never answers: each try ends at the time limit.
        for args in [["-q", "a"], ["-d", "a"], ["-q", "a", "memcache:./once.cf"]] {
            let full = args.count == 2 ? args + ["memcache:./mc.cf"] : args
            let (a, b) = try twin.run("postmap", full)
            #expect(a.status == b.status && a.stdout == b.stdout, "\(full)")
            #expect(a.stderr == b.stderr, "\(full):\nours:\n\(a.stderr)\ntheirs:\n\(b.stderr)")
            #expect(a.status == 1 && a.stderr.contains("fatal: table memcache:"))
            #expect(a.stderr.contains("Connection timed out"), "\(a.stderr)")
        }
        server.resume()
        server.stop()
        for args in [["-q", "a", "memcache:./mc.cf"], ["-d", "a", "memcache:./mc.cf"], ["-q", "a", "memcache:./once.cf"]] {
            try twin.same("postmap", args)
        }
        try twin.same("postmap", ["-q", "-", "memcache:./mc.cf"], stdin: Array("a\nb\n".utf8))
    }

    @Test("a UNIX socket and the main.cf form")
    func unixSocketAndMainForm() throws {
        let server = try Memcached(unixSocket: true)
        let twin = Twin(mainCf: "compatibility_level = 0\nmc_memcache = \(server.service)\nmc_key_format = prefix:$mc_part\n"
                            + "mc_part = %s\nbad_memcache = \(server.service)\nbad_max_try = 0\n")
        twin.write("mc.cf", "memcache = \(server.service)\n")
        for key in ["a", "user@example.com", "zz"] {
            try Self.same(twin, server, ["-q", key, "memcache:./mc.cf"])
            try Self.same(twin, server, ["-q", key, "memcache:mc"])
        }
        try Self.same(twin, server, ["-q", "a", "memcache:bad"])
        try Self.same(twin, server, ["-d", "a", "memcache:mc"])
    }

    @Test("configuration errors")
    func configurationErrors() throws {
        let twin = Twin()
        let files: [String: String] = [
            "noservice.cf": "memcache = bogus\n",
            "transport.cf": "memcache = tcp:localhost:1\n",
            "empty.cf": "memcache =\n",
            "timeout.cf": "timeout = 2s\n",
            "ttl.cf": "ttl = forever\nflags = x\n",
            "retry.cf": "retry_pause = 0\n",
            "tries.cf": "max_try = 0\n",
            "line.cf": "line_size_limit = -1\n",
            "data.cf": "data_size_limit = 0\n",
            "template.cf": "key_format = %x\nmemcache = inet:127.0.0.1:1\n",
            "nobackup.cf": "backup = hash:./nosuch\nmemcache = inet:127.0.0.1:1\n",
            "badbackup.cf": "backup = nosuchtype:x\n",
            "notype.cf": "backup = justaname\n",
            "port.cf": "memcache = inet:127.0.0.1\n",
            "host.cf": "memcache = inet:[127.0.0.1\n",
            "syntax.cf": "memcache inet:127.0.0.1:1\n",
        ]
        for (name, text) in files { twin.write(name, text) }
        for name in files.keys.sorted() + ["missing.cf"] {
            try twin.same("postmap", ["-q", "a", "memcache:./\(name)"])
        }
        try twin.same("postmap", ["-q", "a", "memcache:/nonexistent/memcache.cf"])
    }

    /// A scripted server's request framing: one command line, and for `set` its data block.
    static let memcacheFrame: @Sendable (inout [UInt8]) -> [UInt8]? = { buffer in
        guard let nl = buffer.firstIndex(of: 0x0A) else { return nil }
        let line = Array(buffer[..<nl])
        var end = nl + 1
        let words = line.split(separator: 0x20)
        if words.first.map(Array.init) == Array("set".utf8), words.count >= 5,
           let n = Int(String(decoding: words[4].filter { $0 != 0x0D }, as: UTF8.self)) {
            guard buffer.count >= end + n + 2 else { return nil }
            end += n + 2
        }
        let request = Array(buffer[..<end])
        buffer.removeFirst(end)
        return request
    }

    /// A server that answers each request for key K with a reply chosen by K.
    static func brokenServer(unixPath: String? = nil) throws -> ScriptedServer {
        try ScriptedServer(unixPath: unixPath, frame: memcacheFrame) { request, _ in
            // The command line only (a `set` has its data block after it); split on bytes, since "\r\n" is
            // one Character.
            let line = request[..<(request.firstIndex(of: 0x0A) ?? request.endIndex)]
            let words = line.split(whereSeparator: { $0 == 0x20 || $0 == 0x0D }).map { String(decoding: $0, as: UTF8.self) }
            guard words.count >= 2 else { return .reply(Array("ERROR\r\n".utf8)) }
            let command = words[0], key = words[1]
            func r(_ s: String) -> ScriptedServer.Action { .reply(Array(s.utf8)) }
            switch (command, key) {
            case ("get", "garbage"): return r("HELLO THERE\r\n")
            case ("get", "truncated"): return r("VALUE truncated 0 10\r\nabc")
            case ("get", "badterm"): return r("VALUE badterm 0 3\r\nabcXY")
            case ("get", "longline"): return r("VALUE longline 0 3 " + String(repeating: "x", count: 2000) + "\r\nabc\r\nEND\r\n")
            case ("get", "close"): return .close
            case ("get", "noend"): return r("VALUE noend 0 3\r\nabc\r\nBOGUS\r\n")
            case ("get", "lf"): return r("VALUE lf 0 2\nab\r\nEND\n")
            case ("get", "nul"): return r("VALUE nul 0 3\r\na\u{0}b\r\nEND\r\n")
            case ("get", "glued"): return r("VALUEglued 0 3\r\nabc\r\nEND\r\n")
            case ("get", "plus"): return r("VALUE plus 0 +3\r\nabc\r\nEND\r\n")
            case ("get", "suffix"): return r("VALUE suffix 0 3abc\r\nabc\r\nEND\r\n")
            case ("get", "negative"): return r("VALUE negative 0 -1\r\nEND\r\n")
            case ("get", "short"): return r("VALUE short 0\r\nEND\r\n")
            case ("get", "huge"): return r("VALUE huge 0 99999999999999999999999\r\nEND\r\n")
            case ("get", "oversize"): return r("VALUE oversize 0 20000\r\n" + String(repeating: "y", count: 20000) + "\r\nEND\r\n")
            // line_size_limit (1024) counts the LF: a CR in the last place may still be followed by its LF,
            // one byte more is too long.
            case ("get", "crboundary"): return r("VALUE crboundary 0 3 " + String(repeating: "z", count: 1002) + "\r\nabc\r\nEND\r\n")
            case ("get", "crover"): return r("VALUE crover 0 3 " + String(repeating: "z", count: 1007) + "\r\nabc\r\nEND\r\n")
            case ("get", "lfexact"): return r("VALUE lfexact 0 3 " + String(repeating: "z", count: 1005) + "\nabc\r\nEND\r\n")
            case ("get", "empty"): return r("\r\n")
            case ("get", "control"): return r("SERVER_ERROR \u{1}\u{7f}\u{e9} trouble and a very long explanation of it\r\n")
            case ("get", _): return r("END\r\n")
            case ("set", "notstored"): return r("NOT_STORED\r\n")
            case ("set", _): return r("SERVER_ERROR out of memory storing object with a long explanation\r\n")
            case ("delete", "gone"): return r("DELETED\r\n")
            case ("delete", "missing"): return r("NOT_FOUND\r\n")
            case ("delete", _): return r("ERROR what is that\r\n")
            default: return r("ERROR\r\n")
            }
        }
    }

    /// A server that answers `get a` and then goes away (closes the connection and stops listening).
    static func dyingServer() throws -> ScriptedServer {
        final class Holder: @unchecked Sendable {
            // Proof: `server` is only touched under `lock`.
            private let lock = NSLock()
            private var server: ScriptedServer?
            func set(_ s: ScriptedServer) { lock.withLock { server = s } }
            func stop() { lock.withLock { server }?.stop() }
        }
        let holder = Holder()
        let server = try ScriptedServer(frame: memcacheFrame) { request, _ in
            if request == Array("get a\r\n".utf8) { return .reply(Array("VALUE a 0 3\r\nxyz\r\nEND\r\n".utf8)) }
            holder.stop()
            return .close
        }
        holder.set(server)
        return server
    }

    @Test("a server that goes away between two lookups of one process")
    func serverGoneBetweenLookups() throws {
        let twin = Twin()
        var outcomes: [Outcome] = []
        for (dir, tool) in [(twin.ours, Paths.ours("postmap")), (twin.theirs, Paths.postfix("postmap"))] {
            let server = try Self.dyingServer()
            defer { server.stop() }
            dir.write("mc.cf", "memcache = inet:\(server.address)\n")
            try FileManager.default.setAttributes([.modificationDate: Date().addingTimeInterval(-3600)], ofItemAtPath: dir.file("mc.cf"))
            var o = try run(tool, ["-c", ".", "-q", "-", "memcache:./mc.cf"], in: dir.url, stdin: Array("a\nb\na\n".utf8))
            o.stderr = o.stderr.replacingOccurrences(of: String(server.port), with: "PORT")
            outcomes.append(o)
        }
        #expect(outcomes[0] == outcomes[1], "ours:\n\(outcomes[0])\ntheirs:\n\(outcomes[1])")
        #expect(outcomes[0].stderr.contains("connect to 127.0.0.1:PORT: Connection refused"), "\(outcomes[0])")
        #expect(outcomes[0].status == 1)
    }

    @Test("a server that breaks the protocol: garbage, truncated and oversized replies")
    func brokenProtocol() throws {
        let server = try Self.brokenServer()
        defer { server.stop() }
        let twin = Twin()
        twin.write("mc.cf", "memcache = inet:\(server.address)\n")
        twin.write("small.cf", "memcache = inet:\(server.address)\nline_size_limit = 20\ndata_size_limit = 2\n")
        // No time limit: Postfix connects in blocking mode (so its %m texts differ).
        twin.write("notimeout.cf", "memcache = inet:\(server.address)\ntimeout = 0\n")
        for key in ["empty", "garbage", "lf"] { try twin.same("postmap", ["-q", key, "memcache:./notimeout.cf"]) }
        twin.write("backup", "notstored from backup\nstored from backup too\n")
        try twin.same("postmap", ["hash:backup"])
        twin.write("backup.cf", "memcache = inet:\(server.address)\nbackup = hash:./backup\n")
        let garbage = try twin.same("postmap", ["-q", "garbage", "memcache:./mc.cf"])
        #expect(garbage.status == 1 && garbage.stderr.contains("unexpected memcache server reply: HELLO THERE"))
        for key in ["garbage", "truncated", "badterm", "longline", "close", "noend", "lf", "nul", "glued", "plus", "suffix",
                    "negative", "short", "huge", "oversize", "crboundary", "crover", "lfexact", "empty", "control", "nothing"] {
            try twin.same("postmap", ["-q", key, "memcache:./mc.cf"])
        }
        for key in ["lf", "glued", "nothing"] { try twin.same("postmap", ["-q", key, "memcache:./small.cf"]) }
        try twin.same("postmap", ["-q", "-", "memcache:./mc.cf"], stdin: Array("noend\nlf\nnul\nnothing\nplus\n".utf8))
        // Requests sent ahead (past the first 64 keys) and a reply out of step (noend), then a failure.
        var keys = (0..<100).map { $0 % 3 == 0 ? "lf" : "k\($0)" }
        keys += ["noend", "lf", "nul"] + (0..<80).map { $0 % 2 == 0 ? "plus" : "z\($0)" } + ["close", "lf"]
        let ahead = try twin.same("postmap", ["-q", "-", "memcache:./mc.cf"], stdin: Array((keys.joined(separator: "\n") + "\n").utf8))
        #expect(ahead.status == 1 && ahead.stderr.contains("I/O error"))
        keys.removeLast(2)
        let aheadOK = try twin.same("postmap", ["-q", "-", "memcache:./mc.cf"], stdin: Array((keys.joined(separator: "\n") + "\n").utf8))
        #expect(aheadOK.status == 0 && aheadOK.out.contains("noend\tabc\n"))
        for key in ["gone", "missing", "other"] { try twin.same("postmap", ["-d", key, "memcache:./mc.cf"]) }
        // The backup answers; storing its value in memcache fails with the server's reply.
        for key in ["notstored", "stored", "absent"] { try twin.same("postmap", ["-q", key, "memcache:./backup.cf"]) }
        let dir = TempDir("mcsock")
        let unix = try Self.brokenServer(unixPath: dir.file("mc.sock"))
        defer { unix.stop() }
        twin.write("unix.cf", "memcache = unix:\(dir.file("mc.sock"))\n")
        for key in ["lf", "garbage", "close"] { try twin.same("postmap", ["-q", key, "memcache:./unix.cf"]) }
    }
}
