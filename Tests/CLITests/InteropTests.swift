import Foundation
import Testing
import TestSupport

/// Tables built by our tools are read by Debian's Postfix with the same results, and the other way round.
@Suite(.enabled(if: Oracle.enabled(Paths.oracleAvailable), "needs Debian's postfix package"))
struct InteropTests {
    static let types = ["hash", "btree", "lmdb"]

    /// Build `ours-built` with our tool and `pf-built` with Postfix's from the same source, then read each
    /// with both tools and require the same output everywhere.
    func crossCheck(tool: String, type: String, source: [UInt8], config: String, keys: [UInt8],
                    singleKeys: [String]) throws {
        let dir = TempDir("interop")
        dir.write("main.cf", config)
        dir.write("ours-built", source)
        dir.write("pf-built", source)
        try run(Paths.ours(tool), ["-c", ".", "\(type):ours-built"], in: dir.url)
        try run(Paths.postfix(tool), ["-c", ".", "\(type):pf-built"], in: dir.url)
        for args in [["-s"], ["-q", "-"]] + singleKeys.map({ ["-q", $0] }) {
            var results: [String: Outcome] = [:]
            for table in ["ours-built", "pf-built"] {
                for (who, exe) in [("ours", Paths.ours(tool)), ("postfix", Paths.postfix(tool))] {
                    var o = try run(exe, ["-c", "."] + args + ["\(type):\(table)"], in: dir.url, stdin: keys)
                    o = blankTimestamp(o)
                    o.stderr = o.stderr.replacingOccurrences(of: table, with: "TABLE")
                    results["\(who) reads \(table)"] = o
                }
            }
            let reference = results["postfix reads pf-built"]!
            for (label, outcome) in results {
                #expect(outcome == reference, "\(label) with \(args) differs from postfix reading its own table")
            }
        }
    }

    @Test("postmap tables cross-read", arguments: types, ["compatibility_level = 0\n", "compatibility_level = 3.6\n"])
    func postmapTables(type: String, config: String) throws {
        try crossCheck(tool: "postmap", type: type, source: Fixtures.richMap, config: config,
                       keys: Fixtures.richKeysInput, singleKeys: Fixtures.richKeys.filter { !$0.isEmpty })
    }

    @Test("postalias tables cross-read", arguments: types)
    func postaliasTables(type: String) throws {
        try crossCheck(tool: "postalias", type: type, source: Fixtures.richAliases,
                       config: "compatibility_level = 3.6\nmyhostname = mx.example.com\n",
                       keys: Array("root\nPOSTMASTER\njohn smith\npipe\ncafé\nnone\n@\n".utf8),
                       singleKeys: ["root", "mailer-daemon", "café", "missing", "@"])
    }

    @Test("the shipped sample aliases", arguments: types)
    func sampleAliases(type: String) throws {
        let source = try #require(FileManager.default.contents(atPath: Paths.root.appendingPathComponent("testdata/aliases").path))
        try crossCheck(tool: "postalias", type: type, source: [UInt8](source),
                       config: "compatibility_level = 3.6\nmyhostname = mx.example.com\n",
                       keys: Array("postmaster\nstaff\njohn smith\nsupport\ncafé\n".utf8),
                       singleKeys: ["staff", "tickets", "announce"])
    }

    @Test("a 20,000-record table cross-reads", arguments: types)
    func largeTable(type: String) throws {
        var source = ""
        var keys = ""
        for n in 0..<20_000 {
            source += "user\(n)@domain\(n % 97).example.com\tmailbox\(n)@store\(n % 7).example.net\n"
            if n % 3 == 0 { keys += "user\(n)@domain\(n % 97).example.com\n" } else if n % 3 == 1 { keys += "nobody\(n)\n" }
        }
        try crossCheck(tool: "postmap", type: type, source: Array(source.utf8), config: "compatibility_level = 3.6\n",
                       keys: Array(keys.utf8), singleKeys: ["user0@domain0.example.com", "USER19999@DOMAIN15.EXAMPLE.COM"])
    }

    @Test("a table Postfix builds with a small lmdb_map_size grows the same way in ours")
    func lmdbGrowth() throws {
        var source = ""
        for n in 0..<5_000 { source += "key\(n) value-\(n)-" + String(repeating: "x", count: n % 50) + "\n" }
        try crossCheck(tool: "postmap", type: "lmdb", source: Array(source.utf8),
                       config: "lmdb_map_size = 10240\n", keys: Array("key1\nkey4999\nnone\n".utf8), singleKeys: ["key42"])
    }
}
