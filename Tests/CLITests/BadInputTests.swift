import Foundation
import Testing
import TestSupport

/// Bad input gets a Postfix-style message and a defined exit status, never a crash, and the old table survives.
@Suite
struct BadInputTests {
    static let types = ["hash", "btree", "lmdb"]

    /// Deterministic pseudo-random bytes.
    static func garbage(count: Int, seed: UInt64) -> [UInt8] {
        var state = seed
        return (0..<count).map { _ in
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return UInt8(truncatingIfNeeded: state >> 56)
        }
    }

    @Test("binary garbage is handled as Postfix handles it",
          .enabled(if: Oracle.enabled(Paths.oracleAvailable)), arguments: types, DifferentialTests.configReleases)
    func binaryGarbage(type: String, configRelease: DifferentialTests.ConfigRelease) throws {
        let (config, release) = (configRelease.config, configRelease.release)
        guard release.check() else { return }
        var source = Self.garbage(count: 64 * 1024, seed: 42)
        source += Array("\nvalid key\n".utf8)
        let twin = Twin(mainCf: config, files: ["map": source], release: release)
        let built = try twin.same("postmap", ["\(type):map"])
        #expect(built.status == 0)
        try twin.same("postmap", ["-s", "\(type):map"])
        try twin.same("postmap", ["-q", "-", "\(type):map"], stdin: Self.garbage(count: 8 * 1024, seed: 7) + Array("\nvalid\n".utf8))
        try twin.same("postalias", ["\(type):map"])
    }

    @Test("a 1 MB line", .enabled(if: Oracle.enabled(Paths.oracleAvailable)), arguments: types)
    func hugeLine(type: String) throws {
        let big = String(repeating: "x", count: 1 << 20)
        // Build a small table first: LMDB refuses keys over 511 bytes, and the failed rebuild must leave
        // the table that was there (in Postfix because its transaction is not committed, in ours because
        // the new file is never renamed into place).
        let twin = Twin(files: ["map": Array("small 1\n".utf8)])
        try twin.same("postmap", ["\(type):map"])
        twin.write("map", Array("small 2\nhuge \(big)\n\(big) key-is-huge\n".utf8))
        try twin.same("postmap", ["\(type):map"])
        try twin.same("postmap", ["-q", "huge", "\(type):map"])
        try twin.same("postmap", ["-q", "-", "\(type):map"], stdin: Array("small\nhuge\n\(big)\n".utf8))
        try twin.same("postmap", ["-s", "\(type):map"])
    }

    @Test("a directory as the source is refused and the old table kept", arguments: types)
    func directorySource(type: String) throws {
        let dir = TempDir("dirsrc")
        dir.write("main.cf", "compatibility_level = 0\n")
        dir.write("map", "a 1\n")
        try run(Paths.ours("postmap"), ["-c", ".", "\(type):map"], in: dir.url)
        try FileManager.default.moveItem(atPath: dir.file("map"), toPath: dir.file("saved"))
        try FileManager.default.createDirectory(atPath: dir.file("map"), withIntermediateDirectories: false)
        let o = try run(Paths.ours("postmap"), ["-c", ".", "\(type):map"], in: dir.url)
        #expect(o.status == 1)
        #expect(o.stderr == "postmap: fatal: open map: Is a directory\n")
        #expect(try run(Paths.ours("postmap"), ["-c", ".", "-q", "a", "\(type):map"], in: dir.url).out == "1\n")
    }

    /// Run a tool as `nobody` (tests run as root here).
    static func asNobody(_ exe: String, _ args: [String], in dir: URL, stdin: [UInt8]? = nil) throws -> Outcome {
        try run("/usr/bin/setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", exe] + args, in: dir, stdin: stdin)
    }

    static var canSwitchUser: Bool { getuid() == 0 && FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv") }

    @Test("an unreadable source and a read-only directory",
          .enabled(if: Oracle.enabled(Paths.oracleAvailable) && canSwitchUser), arguments: types)
    func permissions(type: String) throws {
        for (tool, exe) in [("ours", Paths.ours("postmap")), ("postfix", Paths.postfix("postmap"))] {
            let dir = TempDir("perm-\(tool)")
            chmod(dir.path, 0o755)
            dir.write("main.cf", "compatibility_level = 0\n")
            dir.write("map", "a 1\n")
            try run(Paths.ours("postmap"), ["-c", ".", "\(type):map"], in: dir.url)
            // Unreadable source.
            dir.write("secret", "k v\n")
            chmod(dir.file("secret"), 0o000)
            let unreadable = try Self.asNobody(exe, ["-c", ".", "\(type):secret"], in: dir.url)
            #expect(unreadable.status == 1, "\(tool): \(unreadable)")
            #expect(unreadable.stderr == "postmap: fatal: open secret: Permission denied\n", "\(tool)")
            // Read-only directory (root's, mode 0755): the rebuild fails and the old table answers.
            let readOnly = try Self.asNobody(exe, ["-c", ".", "\(type):map"], in: dir.url)
            #expect(readOnly.status == 1, "\(tool): \(readOnly)")
            let expected = type == "lmdb" ? "postmap: fatal: open database map.lmdb: Permission denied\n"
                : "postmap: fatal: open map.db: Permission denied\n"
            #expect(readOnly.stderr == expected, "\(tool)")
            #expect(try run(exe, ["-c", ".", "-q", "a", "\(type):map"], in: dir.url).out == "1\n", "\(tool)")
        }
    }

    @Test("a full disk fails the build with a message and keeps the old table", .enabled(if: getuid() == 0), arguments: types)
    func fullDisk(type: String) throws {
        let dir = TempDir("full")
        let mount = try run("/bin/mount", ["-t", "tmpfs", "-o", "size=512k", "tmpfs", dir.path], in: URL(fileURLWithPath: "/"))
        guard mount.status == 0 else {
            // The test runs only as root, and root can mount a tmpfs: a failure here is a failure.
            Issue.record("cannot mount a 512k tmpfs on \(dir.path): \(mount)")
            return
        }
        defer { _ = try? run("/bin/umount", [dir.path], in: URL(fileURLWithPath: "/")) }
        dir.write("main.cf", "compatibility_level = 0\n")
        dir.write("map", "a 1\n")
        #expect(try run(Paths.ours("postmap"), ["-c", ".", "\(type):map"], in: dir.url).status == 0)
        // A source that fits on the disk but whose table does not.
        var text = ""
        for n in 0..<6_000 { text += "key\(n) \(String(repeating: "v", count: 40))\n" }
        dir.write("map", text)
        let o = try run(Paths.ours("postmap"), ["-c", ".", "\(type):map"], in: dir.url)
        #expect(o.status == 1, "\(o)")
        // Berkeley DB says why itself; LMDB reports its commit failure.
        #expect(o.stderr.contains("postmap: fatal: "), "\(o.stderr)")
        if type != "lmdb" { #expect(o.stderr.contains("No space left on device"), "\(o.stderr)") }
        #expect(try run(Paths.ours("postmap"), ["-c", ".", "-q", "a", "\(type):map"], in: dir.url).out == "1\n")
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.contains(".tmp.") }
        #expect(leftovers.isEmpty, "\(leftovers)")
    }

    @Test("hash: with an empty name, and a missing source", arguments: types)
    func emptyName(type: String) throws {
        let dir = TempDir("empty")
        dir.write("main.cf", "compatibility_level = 0\n")
        let q = try run(Paths.ours("postmap"), ["-c", ".", "-q", "a", "\(type):"], in: dir.url)
        #expect(q.status == 1)
        #expect(q.stderr == "postmap: fatal: open dictionary: expecting \"type:name\" form instead of \"\(type):\"\n")
        let b = try run(Paths.ours("postmap"), ["-c", ".", "\(type):"], in: dir.url)
        #expect(b.status == 1)
        #expect(b.stderr == "postmap: fatal: open : No such file or directory\n")
        let m = try run(Paths.ours("postalias"), ["-c", ".", "\(type):nosuch"], in: dir.url)
        #expect(m.status == 1)
        #expect(m.stderr == "postalias: fatal: open nosuch: No such file or directory\n")
    }
}
