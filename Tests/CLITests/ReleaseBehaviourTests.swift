import Foundation
import Testing
import TestSupport

/// The client behaviours and messages where Postfix 3.10.13 parts from 3.7.11 (`ClientBehaviour`), each
/// run against both oracles: ours, following the oracle's release, must answer as it does, and each
/// release must show its own behaviour (so that a test cannot pass by both sides doing the old thing).
@Suite struct ReleaseBehaviourTests {
    static func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

    @Test("postalias: a name with a domain", arguments: OracleRelease.available)
    func aliasNameMustBeLocal(release: OracleRelease) throws {
        guard release.check() else { return }
        let twin = Twin(files: ["aliases": Self.bytes("a@b: c\nd%e: f\ng: h\n\"x@y\": z\n")], release: release)
        let out = try twin.same("postalias", ["aliases"])
        let text = release == .v3_10 ? "line 1: name must be local and have no domain\n" : "line 1: name must be local\n"
        #expect(out.stderr.contains(text), "\(out.stderr)")
        try twin.same("postalias", ["-q", "g", "aliases"])
        try twin.same("postalias", ["-s", "aliases"])
    }

    @Test("postmap, postalias: unknown types and types without a creator", arguments: OracleRelease.available)
    func unsupportedTypes(release: OracleRelease) throws {
        guard release.check() else { return }
        let twin = Twin(files: ["t": Self.bytes("k v\n")], release: release)
        let cases: [(String, [String])] = [
            ("postmap", ["cidr:t"]), ("postmap", ["regexp:t"]), ("postmap", ["texthash:t"]), ("postmap", ["foo:t"]),
            ("postmap", ["-i", "foo:t"]), ("postmap", ["-i", "cidr:t"]), ("postmap", ["-q", "k", "foo:t"]),
            ("postmap", ["-s", "foo:t"]), ("postmap", ["-d", "k", "foo:t"]), ("postmap", ["-q", "k", "foo:"]),
            ("postmap", ["-q", "k", "hash:t", "foo:t"]), ("postmap", ["-q", "k", "unionmap:{foo:t}"]),
            ("postalias", ["foo:t"]), ("postalias", ["static:t"]), ("postalias", ["-q", "k", "foo:t"]),
        ]
        for (tool, args) in cases { try twin.same(tool, args) }
        let built = try twin.same("postmap", ["foo:t"])
        if release == .v3_10 {
            #expect(built.stderr == "postmap: warning: unsupported dictionary type: foo. Is the postfix-foo package installed?\n"
                + "postmap: fatal: unsupported map type: foo\n")
            #expect(try twin.same("postmap", ["cidr:t"]).stderr == "postmap: fatal: no 'map create' support for this type: cidr\n")
        } else {
            #expect(built.stderr == "postmap: fatal: unsupported dictionary type: foo. Is the postfix-foo package installed?\n")
        }
    }

    /// NUL bytes in table sources: after the key, in a continuation, in comments, in the last line.
    static let nulSources: [String: [UInt8]] = [
        "n1": [0x61, 0x00, 0x62, 0x20, 0x63, 0x0A] + bytes("d e\n  x") + [0x00] + bytes("y\n"),
        "n2": bytes("#c") + [0x00] + bytes("\nk v\n# tail") + [0x00] + bytes("\n"),
        "n3": bytes("k v") + [0x00] + bytes("w\n\n# c\n  more\nl m\n#") + [0x00],
        "n4": bytes("/a/ b") + [0x00] + bytes("c\n/k/ v\n  cont") + [0x00] + bytes("\nif /x/\n"),
        "n5": bytes("  lead") + [0x00] + bytes("\nk v\n"),
        "n6": bytes("10.0.0.0/8 v") + [0x00] + bytes("x\n192.168.0.0/16 w\n#") + [0x00] + bytes("\n"),
        "a1": bytes("a: b") + [0x00] + bytes("c\nd: e,\n  f") + [0x00] + bytes("\nbad") + [0x00] + bytes("\n"),
    ]

    static func sortedLines(_ o: Outcome) -> Outcome {
        var copy = o
        let lines = o.stdout.split(separator: 0x0A, omittingEmptySubsequences: false).map(Array.init)
        copy.stdout = Array(lines.sorted { $0.lexicographicallyPrecedes($1) }.joined(separator: [0x0A]))
        return copy
    }

    @Test("readllines: text after a null byte", arguments: OracleRelease.available)
    func nullBytes(release: OracleRelease) throws {
        guard release.check() else { return }
        let twin = Twin(files: Self.nulSources, release: release)
        for name in ["n1", "n2", "n3", "n5"] {
            try twin.same("postmap", [name])
            try twin.same("postmap", ["-s", name])
            // An in-memory table lists in a per-process random order (hash_fnv's seed): compare sorted.
            try twin.same("postmap", ["-s", "texthash:\(name)"], normalize: Self.sortedLines)
        }
        for name in ["n1", "n4"] { try twin.same("postmap", ["-q", "k", "regexp:\(name)"]) }
        try twin.same("postmap", ["-q", "10.1.2.3", "cidr:n6"])
        if release.hasModule("pcre") { try twin.same("postmap", ["-q", "k", "pcre:n4"]) }
        try twin.same("postalias", ["a1"])
        try twin.same("postalias", ["-s", "a1"])
        let out = try twin.same("postmap", ["n1"])
        #expect(out.stderr.contains("n1, line 2-3: text after null byte may be ignored") == (release == .v3_10), "\(out.stderr)")
        // main.cf too (postmap reads it through the same reader).
        let conf = Twin(mainCf: "compatibility_level = 0\n#x\u{0}y\nfoo = a\u{0}b\n", release: release)
        try conf.same("postmap", ["-q", "k", "inline:{k=v}"])
    }

    @Test("cdb: postmap -s lists a cdb table in 3.10 and refuses in 3.7", arguments: OracleRelease.available)
    func cdbSequence(release: OracleRelease) throws {
        guard release.check(), release.hasModule("cdb") || Oracle.required else { return }
        let twin = Twin(files: ["t": Self.bytes("k v\nK2 v2\nk3 v3 with spaces\nk v-dup\n"),
                                "e": Self.bytes("# nothing\n")], release: release)
        for args in [["cdb:t"], ["-N", "cdb:e"]] { try twin.same("postmap", args) }
        try twin.same("postmap", ["-s", "cdb:t"])
        try twin.same("postmap", ["-s", "cdb:e"])
        try twin.same("postmap", ["-N", "cdb:t"])
        let listed = try twin.same("postmap", ["-s", "cdb:t"])
        #expect((listed.status == 0) == (release == .v3_10), "\(listed)")
        try twin.same("postmap", ["-q", "k3", "cdb:t"])
        // Postfix's own file, truncated inside its records: the same answer from both readers.
        let (_, theirs) = try twin.run("postmap", ["cdb:t"])
        #expect(theirs.status == 0)
        if let file = twin.theirs.read("t.cdb") {
            twin.write("cut.cdb", Array(file.prefix(2048 + 12)))
            try twin.same("postmap", ["-s", "cdb:cut"])
            twin.write("cut.cdb", Array(file.prefix(2048 + 30)))
            try twin.same("postmap", ["-s", "cdb:cut"])
        }
    }

    @Test("sqlite: a missing database file", arguments: OracleRelease.available)
    func sqliteMissingDatabase(release: OracleRelease) throws {
        guard release.check(), release.hasModule("sqlite") || Oracle.required else { return }
        let twin = Twin(files: ["sq.cf": Self.bytes("dbpath = nonexist.db\nquery = SELECT 'one'\n"),
                                "dir.cf": Self.bytes("dbpath = .\nquery = SELECT 'one'\n")], release: release)
        try twin.same("postmap", ["-q", "k", "sqlite:./sq.cf"])
        try twin.same("postmap", ["-q", "k", "sqlite:./dir.cf"])
        try twin.same("postmap", ["-q", "-", "sqlite:./sq.cf"], stdin: Self.bytes("a\nb\n"))
        // 3.7 creates the missing file (sqlite3_open); 3.10 opens read-only and creates nothing.
        for dir in [twin.ours, twin.theirs] {
            #expect(dir.exists("nonexist.db") == (release == .v3_7), "\(release): \(dir.path)")
        }
    }

    @Test("pgsql, mysql: a lone unreachable server", arguments: OracleRelease.available)
    func sqlUnreachableServer(release: OracleRelease) throws {
        guard release.check() else { return }
        // A loopback port nobody listens on: take one and give it back.
        let dead = try ScriptedServer(frame: ScriptedServer.lines) { _, _ in .close }
        let port = dead.port
        dead.stop()
        let one = "hosts = 127.0.0.1:\(port)\ndbname = x\nquery = select 1\n"
        let two = "hosts = 127.0.0.1:\(port) inet:127.0.0.1:\(port)\ndbname = x\nquery = select 1\n"
        let twin = Twin(files: ["one.cf": Self.bytes(one), "two.cf": Self.bytes(two)], release: release)
        for type in ["pgsql", "mysql"] where release.hasModule(type) || Oracle.required {
            let out = try twin.same("postmap", ["-q", "k", "\(type):./one.cf"])
            let tries = out.stderr.components(separatedBy: "connect to \(type) server").count - 1
            #expect(tries == (release == .v3_10 ? 2 : 1), "\(out.stderr)")
            // Two servers: each tried once, in either order (Postfix picks at random).
            let (a, b) = try twin.run("postmap", ["-q", "k", "\(type):./two.cf"])
            #expect(a.status == b.status)
            #expect(a.stderr.split(separator: "\n").sorted() == b.stderr.split(separator: "\n").sorted(), "\(a.stderr)\n\(b.stderr)")
        }
    }

    @Test("socketmap: a bare OK", arguments: OracleRelease.available)
    func socketmapBareOK(release: OracleRelease) throws {
        guard release.check() else { return }
        let server = try ScriptedServer(frame: ScriptedServer.netstrings) { request, _ in
            let key = String(decoding: request, as: UTF8.self).split(separator: " ").last.map(String.init) ?? ""
            switch key {
            case "bare": return .reply(ScriptedServer.netstring("OK"))
            case "space": return .reply(ScriptedServer.netstring("OK "))
            default: return .reply(ScriptedServer.netstring("NOTFOUND "))
            }
        }
        defer { server.stop() }
        let twin = Twin(release: release)
        let map = "socketmap:inet:\(server.address):m"
        let bare = try twin.same("postmap", ["-q", "bare", map])
        #expect(bare.status == (release == .v3_10 ? 0 : 1), "\(bare)")
        try twin.same("postmap", ["-q", "space", map])
        try twin.same("postmap", ["-q", "-", map], stdin: Self.bytes("bare\nspace\nother\n"))
        try twin.same("postmap", ["-q", "bare", "unionmap:{\(map),static:after}"])
    }
}
