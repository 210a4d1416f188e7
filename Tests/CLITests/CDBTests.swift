import Foundation
import Testing
import TestSupport

/// `cdb:` against Debian's postmap and postalias with postfix-cdb: the same files byte for byte, each
/// reading the other's, and the same messages for what cdb refuses.
@Suite(.enabled(if: Oracle.enabled(Paths.cdbOracleAvailable), "needs Debian's postfix-cdb package"))
struct CDBTests {
    /// Build with both tools from the same source and flags; the files must be identical, and both tools
    /// must read both files the same way.
    func crossCheck(tool: String, source: [UInt8], config: String, buildFlags: [String] = [],
                    queryFlags: [String] = [], keys: [UInt8], singleKeys: [String],
                    sourceLocation: SourceLocation = #_sourceLocation) throws {
        guard Oracle.postmap(for: "cdb") else { return }
        let dir = TempDir("cdb")
        dir.write("main.cf", config)
        dir.write("ours-built", source)
        dir.write("pf-built", source)
        let a = try run(Paths.ours(tool), ["-c", "."] + buildFlags + ["cdb:ours-built"], in: dir.url)
        let b = try run(Paths.postfix(tool), ["-c", "."] + buildFlags + ["cdb:pf-built"], in: dir.url)
        #expect(a.status == b.status, "build status", sourceLocation: sourceLocation)
        #expect(a.stderr.replacingOccurrences(of: "ours-built", with: "T")
                == b.stderr.replacingOccurrences(of: "pf-built", with: "T"), "build messages", sourceLocation: sourceLocation)
        #expect(!dir.exists("ours-built.cdb.tmp"), "the temporary file is gone", sourceLocation: sourceLocation)
        var built = [dir.read("ours-built.cdb"), dir.read("pf-built.cdb")]
        if tool == "postalias" {
            // The YP_LAST_MODIFIED record holds the build time; compare it blanked (same length).
            built = built.map { $0.map(blankTimes) }
        }
        #expect(built[0] != nil && built[0] == built[1], "the cdb files are identical", sourceLocation: sourceLocation)
        for args in [["-q", "-"]] + singleKeys.map({ ["-q", $0] }) {
            var results: [String: Outcome] = [:]
            for table in ["ours-built", "pf-built"] {
                for (who, exe) in [("ours", Paths.ours(tool)), ("postfix", Paths.postfix(tool))] {
                    var o = try run(exe, ["-c", "."] + queryFlags + args + ["cdb:\(table)"], in: dir.url, stdin: keys)
                    o = blankTimestamp(o)
                    o.stderr = o.stderr.replacingOccurrences(of: table, with: "TABLE")
                    results["\(who) reads \(table)"] = o
                }
            }
            let reference = try #require(results["postfix reads pf-built"])
            for (label, outcome) in results {
                #expect(outcome == reference, "\(label) with \(args) differs from postfix reading its own table",
                        sourceLocation: sourceLocation)
            }
        }
    }

    /// Ten digits after `YP_LAST_MODIFIED` replaced by zeros.
    func blankTimes(_ bytes: [UInt8]) -> [UInt8] {
        let marker = Array("YP_LAST_MODIFIED".utf8)
        var out = bytes
        var i = 0
        while i + marker.count + 10 <= out.count {
            if Array(out[i..<(i + marker.count)]) == marker {
                for j in (i + marker.count)..<(i + marker.count + 10) { out[j] = 0x30 }
            }
            i += 1
        }
        return out
    }

    static let flagSets: [[String]] = [[], ["-N"], ["-n"], ["-r"], ["-w"], ["-f"]]

    @Test("postmap cdb files are identical and cross-read", arguments: flagSets,
          ["compatibility_level = 0\n", "compatibility_level = 3.6\n"])
    func postmapTables(flags: [String], config: String) throws {
        let query = flags.filter { ["-N", "-n", "-f"].contains($0) }
        try crossCheck(tool: "postmap", source: Fixtures.richMap, config: config, buildFlags: flags,
                       queryFlags: query, keys: Fixtures.richKeysInput, singleKeys: Fixtures.richKeys.filter { !$0.isEmpty })
    }

    @Test("postalias cdb files are identical and cross-read", arguments: [[], ["-N"], ["-r"]])
    func postaliasTables(flags: [String]) throws {
        try crossCheck(tool: "postalias", source: Fixtures.richAliases,
                       config: "compatibility_level = 3.6\nmyhostname = mx.example.com\n", buildFlags: flags,
                       keys: Array("root\nPOSTMASTER\njohn smith\npipe\ncafé\nnone\n@\nYP_MASTER_NAME\n".utf8),
                       singleKeys: ["root", "mailer-daemon", "café", "missing", "@"])
    }

    @Test("a 20,000-record table with duplicates is identical and cross-reads", arguments: [[], ["-r"], ["-w"]])
    func largeTable(flags: [String]) throws {
        var source = ""
        var keys = ""
        for n in 0..<20_000 {
            source += "user\(n)@domain\(n % 97).example.com\tmailbox\(n)@store\(n % 7).example.net\n"
            if n % 1000 == 0 { source += "USER\(n / 2)@domain\((n / 2) % 97).example.com\tagain\(n)\n" }
            if n % 3 == 0 { keys += "user\(n)@domain\(n % 97).example.com\n" } else if n % 3 == 1 { keys += "nobody\(n)\n" }
        }
        try crossCheck(tool: "postmap", source: Array(source.utf8), config: "compatibility_level = 3.6\n",
                       buildFlags: flags, keys: Array(keys.utf8),
                       singleKeys: ["user0@domain0.example.com", "USER19999@DOMAIN15.EXAMPLE.COM", "user500@domain15.example.com"])
    }

    @Test("keys with the same hash, far apart in the file, with duplicates", arguments: [[], ["-r"], ["-w"]])
    func hashCollisions(flags: [String]) throws {
        // djb hash pairs: aaB/aba, aaA/abb, aaG/abd collide; the filler pushes the first ones out of the
        // writer's buffer, so the duplicate checks compare against the file.
        var source = "aaB first\naaA first\naaG first\n"
        for n in 0..<5_000 { source += "filler\(n) " + String(repeating: "v", count: 20) + "\n" }
        source += "aba second\nabb second\naaB again\nabd second\naaA again\nabb again\n"
        try crossCheck(tool: "postmap", source: Array(source.utf8), config: "compatibility_level = 0\n",
                       buildFlags: flags, keys: Array("aaB\naba\naaA\nabb\naaG\nabd\nfiller77\nabe\n".utf8),
                       singleKeys: ["aaB", "aba", "abb", "aaA"])
    }

    @Test("what cdb refuses, and broken files, give Postfix's messages", arguments: OracleRelease.available)
    func refusals(release: OracleRelease) throws {
        guard Oracle.postmap(for: "cdb"), release.check(), release.hasModule("cdb") || Oracle.required else { return }
        let twin = Twin(files: ["map": Array("a 1\nb 2\n".utf8)], release: release)
        try twin.same("postmap", ["cdb:map"])
        try twin.same("postmap", ["-s", "cdb:map"])
        try twin.same("postmap", ["-i", "cdb:map"], stdin: Array("c 3\n".utf8))
        try twin.same("postmap", ["-d", "a", "cdb:map"])
        try twin.same("postmap", ["-d", "-", "cdb:map"], stdin: Array("a\n".utf8))
        try twin.same("postalias", ["-i", "cdb:map"], stdin: Array("c: 3\n".utf8))
        try twin.same("postmap", ["-q", "a", "cdb:missing"])
        try twin.same("postmap", ["-q", "-", "cdb:missing"], stdin: Array("a\n".utf8))
        // Shorter than the header, and a header pointing outside the file.
        twin.write("short.cdb", [UInt8](repeating: 0, count: 100))
        try twin.same("postmap", ["-q", "a", "cdb:short"])
        var bad = [UInt8](repeating: 0xFF, count: 3000)
        bad[0] = 0; bad[1] = 0x10
        twin.write("bad.cdb", bad)
        try twin.same("postmap", ["-q", "a", "cdb:bad"])
        try twin.same("postmap", ["-q", "-", "cdb:bad"], stdin: Array("a\nb\n".utf8))
        // The temporary file is in the way.
        try FileManager.default.createDirectory(atPath: twin.ours.file("map.cdb.tmp"), withIntermediateDirectories: false)
        try FileManager.default.createDirectory(atPath: twin.theirs.file("map.cdb.tmp"), withIntermediateDirectories: false)
        try twin.same("postmap", ["cdb:map"])
    }

    @Test("a rebuild replaces the file by rename and keeps a reader's old file valid")
    func atomicRebuild() throws {
        let dir = TempDir("cdb")
        dir.write("main.cf", "compatibility_level = 3.6\n")
        dir.write("map", "a 1\n")
        try run(Paths.ours("postmap"), ["-c", ".", "cdb:map"], in: dir.url)
        let before = try FileManager.default.attributesOfItem(atPath: dir.file("map.cdb"))[.systemFileNumber] as? Int
        // A stale temporary file from a crashed build is reused and emptied.
        dir.write("map.cdb.tmp", "junk")
        dir.write("map", "a 2\nb 3\n")
        let built = try run(Paths.ours("postmap"), ["-c", ".", "cdb:map"], in: dir.url)
        #expect(built.status == 0, "\(built)")
        let after = try FileManager.default.attributesOfItem(atPath: dir.file("map.cdb"))[.systemFileNumber] as? Int
        #expect(before != after, "a new inode")
        #expect(!dir.exists("map.cdb.tmp"))
        let q = try run(Paths.ours("postmap"), ["-c", ".", "-q", "b", "cdb:map"], in: dir.url)
        #expect(q.out == "3\n")
    }
}
