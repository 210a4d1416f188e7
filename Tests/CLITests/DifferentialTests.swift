import Foundation
import Testing
import TestSupport

/// The same input and command line through Debian's postmap/postalias and ours: same stdout, stderr
/// and exit status.
@Suite(.enabled(if: Oracle.enabled(Paths.oracleAvailable), "needs Debian's postfix package"))
struct DifferentialTests {
    static let types = ["hash", "btree", "lmdb"]
    static let configs = ["compatibility_level = 0\n", "compatibility_level = 3.6\n"]

    /// A main.cf and the oracle it runs against: each configuration with 3.7; with 3.10 only
    /// `compatibility_level = 3.6` (UTF-8 on, where 3.10's differences show), to keep make test's
    /// second oracle cheap.
    struct ConfigRelease: Sendable, CustomTestStringConvertible {
        let config: String
        let release: OracleRelease
        var testDescription: String { "\(config.dropLast()), Postfix \(release.rawValue)" }
    }
    static var configReleases: [ConfigRelease] {
        OracleRelease.available.flatMap { release in
            (release == .v3_7 ? configs : [configs[1]]).map { ConfigRelease(config: $0, release: release) }
        }
    }

    @Test("build, -s, -q and -q - agree", arguments: types, configReleases)
    func buildAndQuery(type: String, configRelease: ConfigRelease) throws {
        let (config, release) = (configRelease.config, configRelease.release)
        guard release.check() else { return }
        let twin = Twin(mainCf: config, files: ["map": Fixtures.richMap], release: release)
        try twin.same("postmap", ["\(type):map"])
        try twin.same("postmap", ["-s", "\(type):map"])
        for key in Fixtures.richKeys where !key.isEmpty {
            try twin.same("postmap", ["-q", key, "\(type):map"])
        }
        try twin.same("postmap", ["-q", "-", "\(type):map"], stdin: Fixtures.richKeysInput)
    }

    @Test("-u turns off UTF-8 checks and Unicode folding", arguments: types, OracleRelease.available)
    func noUTF8(type: String, release: OracleRelease) throws {
        guard release.check() else { return }
        var source = Fixtures.richMap
        source += [0x0A, 0x62, 0x61, 0x64, 0xFF, 0x20, 0x76, 0x0A] // "bad\xff v"
        let twin = Twin(mainCf: "compatibility_level = 3.6\n", files: ["map": source], release: release)
        try twin.same("postmap", ["-u", "\(type):map"])
        try twin.same("postmap", ["-u", "-s", "\(type):map"])
        try twin.same("postmap", ["-u", "-q", "-", "\(type):map"], stdin: Fixtures.richKeysInput + [0x62, 0x61, 0x64, 0xFF, 0x0A])
        try twin.same("postmap", ["-q", "-", "\(type):map"], stdin: Fixtures.richKeysInput + [0x62, 0x61, 0x64, 0xFF, 0x0A])
    }

    @Test("-f keeps case; -r and -w change duplicate handling", arguments: types, OracleRelease.available)
    func foldingAndDuplicates(type: String, release: OracleRelease) throws {
        guard release.check() else { return }
        let twin = Twin(files: ["map": Fixtures.richMap], release: release)
        for flag in ["-f", "-r", "-w", "-fr", "-rw", "-wr"] {
            try twin.same("postmap", [flag, "\(type):map"])
            try twin.same("postmap", [flag, "-s", "\(type):map"])
            try twin.same("postmap", [flag, "-q", "-", "\(type):map"], stdin: Fixtures.richKeysInput)
            try twin.same("postmap", ["-q", "-", "\(type):map"], stdin: Fixtures.richKeysInput)
        }
    }

    @Test("-n and -N pick the NUL convention for writing and reading", arguments: types, OracleRelease.available)
    func nulModes(type: String, release: OracleRelease) throws {
        guard release.check() else { return }
        let twin = Twin(files: ["map": Array("a 1\nB 2\n".utf8)], release: release)
        for build in ["-n", "-N", "-nN", "-Nn"] {
            try twin.same("postmap", [build, "\(type):map"])
            for query in ["-n", "-N", "-v"] where query != "-v" {
                try twin.same("postmap", [query, "-q", "a", "\(type):map"])
                try twin.same("postmap", [query, "-s", "\(type):map"])
            }
            try twin.same("postmap", ["-q", "b", "\(type):map"])
        }
    }

    @Test("-i, -d key and -d - update in place", arguments: types, OracleRelease.available)
    func incrementalAndDelete(type: String, release: OracleRelease) throws {
        guard release.check() else { return }
        let twin = Twin(files: ["map": Array("a 1\nb 2\nc 3\n".utf8)], release: release)
        try twin.same("postmap", ["\(type):map"])
        try twin.same("postmap", ["-i", "\(type):map"], stdin: Array("d 4\nA dup\nE 5\n\"unbalanced 1\nbad\n".utf8))
        try twin.same("postmap", ["-s", "\(type):map"])
        try twin.same("postmap", ["-r", "-i", "\(type):map"], stdin: Array("a replaced\n".utf8))
        try twin.same("postmap", ["-q", "a", "\(type):map"])
        try twin.same("postmap", ["-d", "b", "\(type):map"])
        try twin.same("postmap", ["-d", "b", "\(type):map"])
        try twin.same("postmap", ["-d", "-", "\(type):map"], stdin: Array("c\nmissing\nD\n".utf8))
        try twin.same("postmap", ["-d", "-", "\(type):map"], stdin: Array("missing\n".utf8))
        try twin.same("postmap", ["-s", "\(type):map"])
        // -i creates a missing table.
        try twin.same("postmap", ["-i", "\(type):fresh"], stdin: Array("k v\n".utf8))
        try twin.same("postmap", ["-q", "k", "\(type):fresh"])
    }

    @Test("several maps in one command", arguments: types, OracleRelease.available)
    func severalMaps(type: String, release: OracleRelease) throws {
        guard release.check() else { return }
        let twin = Twin(files: ["one": Array("a 1\nshared one\n".utf8), "two": Array("b 2\nshared two\n".utf8)], release: release)
        try twin.same("postmap", ["\(type):one", "\(type):two"])
        for key in ["a", "b", "shared", "none"] {
            try twin.same("postmap", ["-q", key, "\(type):one", "\(type):two"])
        }
        try twin.same("postmap", ["-q", "-", "\(type):one", "\(type):two"], stdin: Array("a\nb\nshared\nnone\n".utf8))
        try twin.same("postmap", ["-s", "\(type):two", "\(type):one"])
        try twin.same("postmap", ["-d", "shared", "\(type):one", "\(type):two"])
        try twin.same("postmap", ["-q", "-", "\(type):one", "\(type):two"], stdin: Array("shared\n".utf8))
        // An open failure of an earlier map is fatal even when a later map has the key.
        try twin.same("postmap", ["-q", "b", "\(type):nosuch", "\(type):two"])
    }

    @Test("default_database_type from main.cf", arguments: types, OracleRelease.available)
    func defaultType(type: String, release: OracleRelease) throws {
        guard release.check() else { return }
        let twin = Twin(mainCf: "default_database_type = \(type)\n", files: ["map": Array("a 1\n".utf8)], release: release)
        try twin.same("postmap", ["map"])
        #expect(twin.ours.exists(type == "lmdb" ? "map.lmdb" : "map.db"))
        try twin.same("postmap", ["-q", "a", "map"])
        try twin.same("postmap", ["-s", "map"])
    }

    @Test("errors: usage, conflicts, missing files, unsupported types", arguments: OracleRelease.available)
    func errors(release: OracleRelease) throws {
        guard release.check() else { return }
        let twin = Twin(files: ["map": Array("a 1\n".utf8)], release: release)
        let cases: [[String]] = [
            [], ["-x", "map"], ["-q"], ["-q", "a"], ["-d"], ["-s", "-q", "a", "map"], ["-q", "a", "-s", "map"],
            ["-d", "a", "-q", "b", "map"], ["-q", "a", "-d", "b", "map"], ["-s", "-d", "a", "map"],
            ["nosuchfile"], ["hash:nosuchfile"], ["-q", "a", "hash:nosuchdb"], ["-s", "hash:nosuchdb"],
            ["-d", "a", "hash:nosuchdb"], ["-q", "a", "lmdb:nosuchdb"], ["-d", "a", "lmdb:nosuchdb"],
            ["whatever:map"], ["-q", "a", "whatever:map"], ["-s", "whatever:map"], ["-d", "a", "whatever:map"],
            ["-q", "a", "hash:"], ["-s", "hash:"], ["hash:"], ["-s"], ["-b", "map"], ["-bq", "a", "map"],
            ["-hq", "a", "map"], ["--", "map"], ["-i", "-i", "hash:m2"],
            // --version is the one long option we add; other long words, and --version where no option
            // stands, behave as in Postfix.
            ["--versio", "map"], ["--help"], ["--version=1", "map"], ["-q", "--version", "map"], ["map", "--version"],
            ["--", "--version"],
        ]
        for args in cases {
            try twin.same("postmap", args, stdin: [])
        }
        // A missing config directory.
        let (a, b) = try twin.run("postmap", ["-c", "/nonexistent-config", "-q", "a", "map"], config: false)
        #expect(a == b)
    }

    @Test("--version: ours prints the toolkit's and Postfix's versions; Postfix's tools have no long options",
          arguments: ["postmap", "postalias", "newaliases", "postconf"])
    func version(tool: String) throws {
        let dir = TempDir()
        let ours = try TestSupport.run(Paths.ours(tool), ["--version"], in: dir.url)
        #expect(ours.status == 0 && ours.stderr.isEmpty)
        #expect(ours.out.hasPrefix("\(tool) (postfix-maps) ") && ours.out.hasSuffix(", compatible with Postfix 3.7.11\n"))
        // after other options, and in front of a bad one: the version, before anything else is done
        let late = try TestSupport.run(Paths.ours(tool), ["-v", "--version", "-z"], in: dir.url)
        #expect(late.status == 0 && late.out == ours.out)
        // it names the release the tools follow (MAPS_POSTFIX_RELEASE overrides the detected one)
        let trixie = try TestSupport.run(Paths.ours(tool), ["--version"], in: dir.url, environment: ["MAPS_POSTFIX_RELEASE": "3.10"])
        #expect(trixie.out.hasSuffix(", compatible with Postfix 3.10.13\n"), "\(trixie)")
        // Debian's newaliases is sendmail's; the others reject every long option
        if tool != "newaliases" {
            dir.write("main.cf", "compatibility_level = 0\n")
            let theirs = try TestSupport.run(Paths.postfix(tool), ["-c", dir.path, "--version"], in: dir.url)
            #expect(theirs.status != 0 && theirs.stderr.contains("invalid option -- '-'"))
        }
    }

    @Test("--version of the tools that are not Postfix's: the same line, from the same constant",
          arguments: ["postexplain", "postmap-migrate", "postmapd"])
    func parserToolVersion(tool: String) throws {
        let dir = TempDir()
        let ours = try TestSupport.run(Paths.ours(tool), ["--version"], in: dir.url)
        #expect(ours.status == 0)
        #expect(ours.out.hasPrefix("\(tool) (postfix-maps) ") && ours.out.hasSuffix(", compatible with Postfix 3.7.11\n"))
    }

    @Test("postalias: build, query, dump, update, delete", arguments: types, configReleases)
    func postalias(type: String, configRelease: ConfigRelease) throws {
        let (config, release) = (configRelease.config, configRelease.release)
        guard release.check() else { return }
        let twin = Twin(mainCf: config + "myhostname = mx.example.com\n", files: ["aliases": Fixtures.richAliases], release: release)
        try twin.same("postalias", ["\(type):aliases"])
        try twin.same("postalias", ["-s", "\(type):aliases"], normalize: blankTimestamp)
        for key in ["postmaster", "ROOT", "john smith", "\"john smith\"", "pipe", "incl", "dup", "café", "CAFÉ",
                    "backslash", "spaced", "comment", "crlf", "@", "YP_MASTER_NAME", "missing"] {
            try twin.same("postalias", ["-q", key, "\(type):aliases"])
        }
        try twin.same("postalias", ["-fq", "YP_MASTER_NAME", "\(type):aliases"])
        try twin.same("postalias", ["-q", "-", "\(type):aliases"], stdin: Array("root\npipe\nnone\n@\n".utf8))
        try twin.same("postalias", ["-i", "\(type):aliases"], stdin: Array("new: person\nroot: other\n".utf8))
        try twin.same("postalias", ["-s", "\(type):aliases"], normalize: blankTimestamp)
        try twin.same("postalias", ["-d", "new", "\(type):aliases"])
        try twin.same("postalias", ["-d", "-", "\(type):aliases"], stdin: Array("pipe\nnone\n".utf8))
        try twin.same("postalias", ["-s", "\(type):aliases"], normalize: blankTimestamp)
        for flags in ["-f", "-r", "-w", "-n", "-N"] {
            try twin.same("postalias", [flags, "\(type):aliases"])
            try twin.same("postalias", [flags, "-s", "\(type):aliases"], normalize: blankTimestamp)
        }
    }

    @Test("-v: same results; the trace on stderr is each program's own", arguments: types)
    func verbose(type: String) throws {
        let twin = Twin(files: ["map": Array("a 1\nA 2\n".utf8)])
        for args in [["-v", "\(type):map"], ["-v", "-q", "a", "\(type):map"], ["-vv", "-s", "\(type):map"],
                     ["-v", "-q", "-", "\(type):map"]] {
            let (a, b) = try twin.run("postmap", args, stdin: Array("a\nnone\n".utf8))
            #expect(a.status == b.status, "\(args)")
            #expect(a.stdout == b.stdout, "\(args)")
            // Warnings are the same lines in both traces.
            let warnings = { (o: Outcome) in o.stderr.split(separator: "\n").filter { $0.contains("warning:") } }
            #expect(warnings(a) == warnings(b), "\(args)")
        }
    }

    @Test("keys on the command line keep bytes that are not UTF-8", arguments: types)
    func latin1CommandLineKeys(type: String) throws {
        let twin = Twin(files: ["map": [0x63, 0x61, 0x66, 0xE9, 0x20, 0x31, 0x0A, 0x6B, 0x20, 0x32, 0x0A]])
        try twin.same("postmap", ["\(type):map"])
        // Process cannot pass such bytes itself: let the shell build the argument with printf.
        for mode in ["-q", "-d", "-q"] {
            let script = "exec \"$0\" -c . \(mode) \"$(printf 'caf\\351')\" \(type):map"
            let a = try run("/bin/sh", ["-c", script, Paths.ours("postmap")], in: twin.ours.url)
            let b = try run("/bin/sh", ["-c", script, Paths.postfix("postmap")], in: twin.theirs.url)
            #expect(a == b, "\(mode)")
        }
    }

    @Test("postalias errors", arguments: OracleRelease.available)
    func postaliasErrors(release: OracleRelease) throws {
        guard release.check() else { return }
        let twin = Twin(files: ["aliases": Array("a: b\n".utf8)], release: release)
        for args in [[], ["-x"], ["-s", "-q", "a", "aliases"], ["-q", "a", "-s", "aliases"], ["nosuch"],
                     ["-q", "a", "hash:nosuch"], ["whatever:aliases"], ["-q", "a"], ["-b", "aliases"]] {
            try twin.same("postalias", args, stdin: [])
        }
    }

    @Test("file modes: inherited from the source, or 0644 with -p", arguments: types)
    func modes(type: String) throws {
        let twin = Twin(files: ["map": Array("a 1\n".utf8)])
        let suffix = type == "lmdb" ? ".lmdb" : ".db"
        for (mode, flags) in [(0o640, [String]()), (0o600, []), (0o604, []), (0o640, ["-p"])] {
            for dir in [twin.ours, twin.theirs] {
                try? FileManager.default.removeItem(atPath: dir.file("map" + suffix))
                try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: dir.file("map"))
            }
            try twin.same("postmap", flags + ["\(type):map"])
            let ours = try FileManager.default.attributesOfItem(atPath: twin.ours.file("map" + suffix))[.posixPermissions] as? Int
            let theirs = try FileManager.default.attributesOfItem(atPath: twin.theirs.file("map" + suffix))[.posixPermissions] as? Int
            #expect(ours == theirs, "mode of \(type) table from a \(String(mode, radix: 8)) source with \(flags)")
        }
    }
}
