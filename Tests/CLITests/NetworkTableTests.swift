import Foundation
import Testing
import TestSupport

/// The tcp and socketmap client tables against a scripted loopback server, ours beside Debian's postmap.
@Suite(.serialized) struct NetworkTableTests {
    static let configs = ["compatibility_level = 0\n", "compatibility_level = 3.6\n"]

    /// A tcp_table server: the reply to `get KEY` is chosen by the key.
    static func tcpServer() throws -> ScriptedServer {
        try ScriptedServer(frame: ScriptedServer.lines) { request, _ in
            let line = String(decoding: request, as: UTF8.self)
            let key = line.hasPrefix("get ") ? String(line.dropFirst(4)) : line
            switch key {
            case "found": return .reply(Array("200 the%20value%2c%20quoted\n".utf8))
            case "missing": return .reply(Array("500 no\n".utf8))
            case "later": return .reply(Array("400 try%20later\n".utf8))
            case "odd": return .reply(Array("300 what\n".utf8))
            case "malformed": return .reply(Array("2x0 bad\n".utf8))
            case "badhex": return .reply(Array("200 %zz\n".utf8))
            case "nospace": return .reply(Array("200\n".utf8))
            case "lower": return .reply(Array("200 %c3%a9%2F\n".utf8))
            case "empty": return .reply(Array("200 \n".utf8))
            default: return .reply(Array("200 echo:\(key)\n".utf8))
            }
        }
    }

    // dict_tcp.c is the same in 3.7.11 and 3.10.13: the tcp client runs against 3.7 only (its lookups are slow).
    @Test("tcp: replies, quoting, errors", arguments: configs)
    func tcpReplies(config: String) throws {
        let server = try Self.tcpServer()
        defer { server.stop() }
        let twin = Twin(mainCf: config)
        let map = "tcp:\(server.address)"
        for key in ["found", "missing", "later", "odd", "malformed", "badhex", "nospace", "lower", "empty", "a b%c",
                    "Mixed\u{e9}Case", "tab\there", "x=1;y=%"] {
            try twin.same("postmap", ["-q", key, map])
        }
        try twin.same("postmap", ["-q", "-", map], stdin: Array("found\nmissing\nother key\nlower\n".utf8))
        try twin.same("postmap", ["-q", "missing", map, "static:fallback"])
        for args in [["-s", map], ["-d", "k", map], [map], ["-q", "k", "tcp:nocolon"]] {
            try twin.same("postmap", args)
        }
    }

    /// A server that never answers the way the client needs: 10 tries a second apart, then a
    /// temporary error (about 9 seconds for each implementation).
    @Test("tcp: a dead server and an overlong reply are retried, then a temporary error")
    func tcpRetries() throws {
        let twin = Twin()
        // A port nobody listens on: take one and close it.
        let dead = try ScriptedServer(frame: ScriptedServer.lines) { _, _ in .close }
        let deadAddress = dead.address
        dead.stop()
        let long = try ScriptedServer(frame: ScriptedServer.lines) { _, _ in
            .reply(Array(("200 " + String(repeating: "x", count: 5000) + "\n").utf8))
        }
        defer { long.stop() }
        let (a, b) = try twin.run("postmap", ["-q", "k", "tcp:\(deadAddress)"])
        #expect(a.status == b.status && a.stdout == b.stdout)
        #expect(a.stderr == b.stderr, "ours:\n\(a.stderr)\ntheirs:\n\(b.stderr)")
        #expect(a.stderr.components(separatedBy: "connect to TCP map").count == 11)
        try twin.same("postmap", ["-q", "k", "tcp:\(long.address)"])
    }

    /// A socketmap server: the reply is chosen by the key after the map name.
    static func socketmapServer(unixPath: String? = nil) throws -> ScriptedServer {
        // "flaky" drops every other request for it: each client's first try, so its retry succeeds.
        let flakyCount = RequestCounter()
        return try ScriptedServer(unixPath: unixPath, frame: ScriptedServer.netstrings) { request, _ in
            let text = String(decoding: request, as: UTF8.self)
            guard let space = text.firstIndex(of: " ") else { return .reply(ScriptedServer.netstring("PERM no name")) }
            let name = String(text[..<space]), key = String(text[text.index(after: space)...])
            switch key {
            case "found": return .reply(ScriptedServer.netstring("OK value for \(name)"))
            case "missing": return .reply(ScriptedServer.netstring("NOTFOUND "))
            case "temp": return .reply(ScriptedServer.netstring("TEMP  database\u{1}down"))
            case "timeout": return .reply(ScriptedServer.netstring("TIMEOUT"))
            case "perm": return .reply(ScriptedServer.netstring("PERM bad map"))
            case "bogus": return .reply(ScriptedServer.netstring("BOGUS reply"))
            case "bare": return .reply(ScriptedServer.netstring("OK"))
            case "format": return .reply(Array("3x:abc,".utf8))
            case "noterm": return .reply(Array("2:OKx".utf8))
            case "huge": return .reply(ScriptedServer.netstring("OK " + String(repeating: "y", count: 100_001)))
            case "flaky": return flakyCount.next() % 2 == 1 ? .close : .reply(ScriptedServer.netstring("OK second try"))
            case "gone": return .close
            default: return .reply(ScriptedServer.netstring("OK \(key)"))
            }
        }
    }

    @Test("socketmap: replies and errors over inet", arguments: configs, OracleRelease.available)
    func socketmapInet(config: String, release: OracleRelease) throws {
        guard release.check() else { return }
        let twin = Twin(mainCf: config, release: release)
        let server = try Self.socketmapServer()
        defer { server.stop() }
        for key in ["found", "missing", "temp", "timeout", "perm", "bogus", "bare", "format", "noterm", "huge", "flaky",
                    "gone", "with space", "Mixed\u{e9}"] {
            try twin.same("postmap", ["-q", key, "socketmap:inet:\(server.address):mymap"])
        }
        let map = "socketmap:inet:\(server.address):mymap"
        try twin.same("postmap", ["-q", "-", map, "socketmap:inet:\(server.address):other"],
                      stdin: Array("found\nmissing\nanything\n".utf8))
        for args in [["-s", map], ["-d", "k", map], ["-q", "k", "socketmap:nocolon"], ["-q", "k", "socketmap:bogus:x:name"],
                     ["-q", "k", "socketmap:inet:name"]] {
            try twin.same("postmap", args)
        }
    }

    @Test("socketmap: a UNIX socket and a dead server")
    func socketmapUnix() throws {
        let dir = TempDir("sock")
        let server = try Self.socketmapServer(unixPath: dir.file("map.sock"))
        defer { server.stop() }
        let twin = Twin()
        try twin.same("postmap", ["-q", "found", "socketmap:unix:\(dir.file("map.sock")):m"])
        try twin.same("postmap", ["-q", "found", "socketmap:unix:\(dir.file("nosuch.sock")):m"])
        let dead = try ScriptedServer(frame: ScriptedServer.netstrings) { _, _ in .close }
        let deadAddress = dead.address
        dead.stop()
        try twin.same("postmap", ["-q", "found", "socketmap:inet:\(deadAddress):m"])
    }
}

/// A thread-safe counter for scripted servers.
final class RequestCounter: @unchecked Sendable {
    // Proof: `value` is only touched under `lock`.
    private let lock = NSLock()
    private var value = 0
    func next() -> Int {
        lock.lock()
        defer { lock.unlock() }
        value += 1
        return value
    }
}
