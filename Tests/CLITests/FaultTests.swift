import Foundation
import Testing
import TestSupport

/// `$name` expansion at and past Postfix's nesting limit: the same output as Debian's postconf, and a
/// cost that follows what is read and written.
@Suite
struct ExpansionLimitTests {
    static var oracle: Bool { FileManager.default.isExecutableFile(atPath: Paths.postfix("postconf")) }

    static func refs(_ name: String, _ count: Int) -> String {
        String(repeating: "$\(name)", count: count)
    }

    /// Same exit status, stdout and stderr, line for line (these warnings come in expansion order).
    static func exactlySame(_ twin: PostconfTwin, _ arguments: [String],
                            sourceLocation: SourceLocation = #_sourceLocation) throws -> Outcome {
        let (a, b) = try twin.run(arguments)
        #expect(a.status == b.status, "exit status of postconf \(arguments)", sourceLocation: sourceLocation)
        #expect(a.out == b.out, "stdout of postconf \(arguments)", sourceLocation: sourceLocation)
        #expect(a.stderr == b.stderr, "stderr of postconf \(arguments)", sourceLocation: sourceLocation)
        return a
    }

    @Test("a value that names itself many times: Postfix's warning for every reference past the limit",
          .enabled(if: oracle))
    func selfReference() throws {
        let twin = PostconfTwin(main: "e = \(Self.refs("e", 300))\n", master: "")
        let o = try Self.exactlySame(twin, ["-c", ".", "-nx"])
        #expect(o.status == 1)
        #expect(o.stderr.hasSuffix("postconf: fatal: macro processing error\n"))
        // About 101 warnings per reference: the limit is Postfix's, and so is the flood after it.
        let warnings = o.stderr.split(separator: "\n").filter { $0.hasSuffix("unreasonable macro call nesting: \"e\"") }
        #expect(warnings.count > 100 * 300 && warnings.count < 102 * 300, "\(warnings.count)")
        _ = try Self.exactlySame(twin, ["-c", ".", "-x", "e"])
    }

    @Test("two values that name each other, and chains just under and just over the limit", .enabled(if: oracle))
    func loops() throws {
        // One failing parameter per configuration: postconf stops at the first, and Postfix visits
        // main.cf in hash-table order.
        let pair = PostconfTwin(main: "a = $b x\nb = y $a\nrelayhost = $a\n", master: "")
        for args in [["-nx", "relayhost"], ["-x", "a"], ["-nx"], ["-x", "mydomain"]] {
            _ = try Self.exactlySame(pair, ["-c", "."] + args)
        }
        var chain = ""
        for i in 0..<99 { chain += "c\(i) = $c\(i + 1)\n" }
        chain += "c99 = end\n"
        let under = PostconfTwin(main: "mydestination = $c0\n" + chain, master: "")
        let ok = try Self.exactlySame(under, ["-c", ".", "-nx", "mydestination"])
        #expect(ok.out == "mydestination = end\n")
        let over = PostconfTwin(main: "myorigin = $c100\nc100 = $c101\nc101 = $c0\n" + chain, master: "")
        for args in [["-nx", "myorigin"], ["-nx"]] {
            _ = try Self.exactlySame(over, ["-c", "."] + args)
        }
    }

    @Test("many references to a short value expand in one pass", .enabled(if: oracle))
    func manyReferences() throws {
        let twin = PostconfTwin(main: "a = b\nmydestination = \(Self.refs("a", 20_000)) ${a?{$a}:{x}}\n", master: "")
        let o = try Self.exactlySame(twin, ["-c", ".", "-nx", "mydestination"])
        #expect(o.status == 0)
        #expect(o.out == "mydestination = \(String(repeating: "b", count: 20_000)) b\n")
    }

    @Test("postconf --check reports the nesting once, however many references follow")
    func checkStopsAtTheLimit() throws {
        let dir = TempDir("expand-check")
        dir.write("main.cf", "e = \(Self.refs("e", 20_000))\nmydestination = $e\n")
        dir.write("master.cf", "")
        let started = Date()
        let o = try run(Paths.ours("postconf"), ["-c", ".", "--check"], in: dir.url, timeout: 60)
        let elapsed = Date().timeIntervalSince(started)
        #expect(o.status == 1, "\(o)")
        let nesting = o.out.split(separator: "\n").filter { $0.contains("unreasonable macro call nesting") }
        // One finding for each expansion that reaches the limit (e, mydestination, and mydestination's
        // scan for legacy database names), not Postfix's two million repeats.
        #expect(nesting.count == 3, "\(nesting.count) nesting findings")
        #expect(o.out.utf8.count < 200_000, "\(o.out.utf8.count) bytes")
        #expect(elapsed < 20, "\(elapsed) s")
    }

    @Test("a comparison whose operand names its own value ends with a nesting error, not a crash")
    func relationalSelfReference() throws {
        // Postfix 3.7 recurses without bound here and dies of a stack overflow.
        let dir = TempDir("expand-relop")
        dir.write("main.cf", "a = ${{$a} == {x}?y}\nmydestination = $a\n")
        dir.write("master.cf", "")
        let o = try run(Paths.ours("postconf"), ["-c", ".", "-nx", "mydestination"], in: dir.url)
        #expect(o.status == 1, "\(o)")
        #expect(o.stderr.contains("warning: unreasonable macro call nesting: "), "\(o.stderr)")
        #expect(o.stderr.hasSuffix("fatal: macro processing error\n"), "\(o.stderr)")
    }
}

/// A disk that fills during a build: one message that names the file, and the old table intact.
@Suite(.enabled(if: getuid() == 0, "mounts a small tmpfs"))
struct FullDiskTests {
    static let types = ["hash", "btree", "lmdb"]

    /// A 512 KB tmpfs on a fresh directory, unmounted when the test ends.
    final class SmallDisk {
        let dir = TempDir("full-disk")
        init() throws {
            let mount = try run("/bin/mount", ["-t", "tmpfs", "-o", "size=512k", "tmpfs", dir.path], in: URL(fileURLWithPath: "/"))
            try #require(mount.status == 0, "mount a tmpfs: \(mount)")
            dir.write("main.cf", "compatibility_level = 0\n")
        }
        deinit { _ = try? run("/bin/umount", [dir.path], in: URL(fileURLWithPath: "/")) }

        /// Take every free block.
        func fill() throws {
            let o = try run("/bin/dd", ["if=/dev/zero", "of=filler", "bs=4k"], in: dir.url)
            #expect(o.stderr.contains("No space left on device"), "\(o)")
        }

        /// Files a failed build must not leave behind.
        func leftovers() throws -> [String] {
            try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.contains(".tmp.") || $0.hasPrefix("__db.") }
        }
    }

    /// 6,000 records: the source fits on the disk, the source and the new table together do not.
    static let bigSource: String = (0..<6_000).map { "key\($0) \(String(repeating: "v", count: 40))\n" }.joined()

    static func suffix(_ type: String) -> String { type == "lmdb" ? ".lmdb" : ".db" }

    @Test("the table does not fit: one fatal line naming the file, the old table answers", arguments: types)
    func tableDoesNotFit(type: String) throws {
        let disk = try SmallDisk()
        for tool in ["postmap", "postalias"] {
            let sep = tool == "postalias" ? ":" : ""
            disk.dir.write("map", "a\(sep) 1\n")
            let first = try run(Paths.ours(tool), ["-c", ".", "\(type):map"], in: disk.dir.url)
            #expect(first.status == 0, "\(tool): \(first)")
            disk.dir.write("map", Self.bigSource.replacingOccurrences(of: " v", with: "\(sep) v"))
            let o = try run(Paths.ours(tool), ["-c", ".", "\(type):map"], in: disk.dir.url)
            #expect(o.status == 1, "\(tool): \(o)")
            #expect(o.stderr == "\(tool): fatal: flush database map\(Self.suffix(type)): No space left on device\n", "\(tool)")
            let q = try run(Paths.ours(tool), ["-c", ".", "-q", "a", "\(type):map"], in: disk.dir.url)
            #expect(q.out == "1\n", "\(tool): \(q)")
            let left = try disk.leftovers()
            #expect(left.isEmpty, "\(left)")
        }
    }

    @Test("a disk already full: one fatal line naming the file, the old table answers", arguments: types)
    func diskAlreadyFull(type: String) throws {
        let disk = try SmallDisk()
        disk.dir.write("map", "a 1\n")
        #expect(try run(Paths.ours("postmap"), ["-c", ".", "\(type):map"], in: disk.dir.url).status == 0)
        disk.dir.write("map", "a 2\nb 3\n")
        try disk.fill()
        let o = try run(Paths.ours("postmap"), ["-c", ".", "\(type):map"], in: disk.dir.url)
        #expect(o.status == 1, "\(o)")
        let lines = o.stderr.split(separator: "\n")
        #expect(lines.count == 1, "\(o.stderr)")
        #expect(o.stderr.hasPrefix("postmap: fatal: "), "\(o.stderr)")
        #expect(o.stderr.contains("map\(Self.suffix(type)): No space left on device"), "\(o.stderr)")
        #expect(try run(Paths.ours("postmap"), ["-c", ".", "-q", "a", "\(type):map"], in: disk.dir.url).out == "1\n")
        let left = try disk.leftovers()
        #expect(left.isEmpty, "\(left)")
    }

    @Test("Berkeley DB: the fatal line is Postfix's, without Berkeley DB's page errors",
          .enabled(if: Paths.oracleAvailable), arguments: ["hash", "btree"])
    func sameFatalLineAsPostfix(type: String) throws {
        var fatal: [String] = []
        for exe in [Paths.ours("postmap"), Paths.postfix("postmap")] {
            let disk = try SmallDisk()
            disk.dir.write("map", Self.bigSource)
            let o = try run(exe, ["-c", ".", "\(type):map"], in: disk.dir.url)
            #expect(o.status == 1, "\(exe): \(o.stderr.suffix(300))")
            fatal.append(o.stderr.split(separator: "\n").last.map(String.init) ?? "")
            if exe == Paths.ours("postmap") { #expect(o.stderr.split(separator: "\n").count == 1, "\(o.stderr.prefix(300))") }
        }
        #expect(fatal[0] == fatal[1])
        #expect(fatal[0] == "postmap: fatal: flush database map.db: No space left on device")
    }
}

/// `postmap -i` and `-d` (and postalias's) change a table in place only when its name is the file:
/// Postfix's safe_open rules, which Postfix itself does not apply to tables.
@Suite
struct SafeOpenTests {
    static let types = ["hash", "btree", "lmdb"]

    static func suffix(_ type: String) -> String { type == "lmdb" ? ".lmdb" : ".db" }

    /// A directory with `other/victim` built as a table and `map` as a source; `link` places a link to
    /// the victim's table at map's table name.
    static func setUp(_ type: String, link: (String, String) throws -> Void) throws -> TempDir {
        let dir = TempDir("safe-open")
        dir.write("main.cf", "compatibility_level = 0\n")
        try FileManager.default.createDirectory(atPath: dir.file("other"), withIntermediateDirectories: false)
        dir.write("other/victim", "victim: yes\n")
        dir.write("map", "a: 1\n")
        #expect(try run(Paths.ours("postalias"), ["-c", ".", "\(type):other/victim"], in: dir.url).status == 0)
        try link(dir.file("other/victim" + suffix(type)), dir.file("map" + suffix(type)))
        return dir
    }

    /// Every in-place change is refused with `reason`, and the victim's table is unchanged.
    static func refused(_ dir: TempDir, _ type: String, reason: String) throws {
        let table = "map" + suffix(type)
        for (tool, args, stdin) in [("postmap", ["-i"], "new 1\n"), ("postmap", ["-d", "victim"], nil),
                                    ("postalias", ["-i"], "new: 1\n"), ("postalias", ["-d", "victim"], nil),
                                    ("postmap", ["-d", "-"], "victim\n")] {
            let o = try run(Paths.ours(tool), ["-c", "."] + args + ["\(type):map"], in: dir.url, stdin: stdin.map { Array($0.utf8) })
            #expect(o.status == 1, "\(tool) \(args): \(o)")
            #expect(o.stderr == "\(tool): fatal: open \(table): \(reason)\n", "\(tool) \(args)")
        }
        let victim = try run(Paths.ours("postalias"), ["-c", ".", "-q", "-", "\(type):other/victim"], in: dir.url,
                             stdin: Array("victim\nnew\n".utf8))
        #expect(victim.out == "victim:\tyes\n", "\(victim)")
    }

    @Test("a symbolic link to another table", arguments: types)
    func symbolicLink(type: String) throws {
        let dir = try Self.setUp(type) { target, link in
            try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: target)
        }
        // A link in a directory that others may write is never trusted, root's or not.
        chmod(dir.path, 0o1777)
        try Self.refused(dir, type, reason: "file is a symbolic link")
        // Reading through the link is not changed.
        let q = try run(Paths.ours("postalias"), ["-c", ".", "-q", "victim", "\(type):map"], in: dir.url)
        #expect(q.out == "yes\n", "\(q)")
    }

    @Test("a dangling symbolic link is not followed to create a table", arguments: types)
    func danglingLink(type: String) throws {
        let dir = try Self.setUp(type) { _, link in
            try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: "nowhere")
        }
        chmod(dir.path, 0o1777)
        let o = try run(Paths.ours("postmap"), ["-c", ".", "-i", "\(type):map"], in: dir.url, stdin: Array("new 1\n".utf8))
        #expect(o.status == 1, "\(o)")
        #expect(o.stderr == "postmap: fatal: open map\(Self.suffix(type)): file is a symbolic link\n")
        #expect(!FileManager.default.fileExists(atPath: dir.file("nowhere")))
    }

    @Test("a second hard link to another table", arguments: types)
    func hardLink(type: String) throws {
        let dir = try Self.setUp(type) { target, link in
            try FileManager.default.linkItem(atPath: target, toPath: link)
        }
        try Self.refused(dir, type, reason: "file has 2 hard links")
    }

    @Test("safe_open's exception: root's link in a directory only root can write",
          .enabled(if: getuid() == 0), arguments: types)
    func trustedLink(type: String) throws {
        let dir = try Self.setUp(type) { target, link in
            try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: target)
        }
        chmod(dir.path, 0o755)
        let o = try run(Paths.ours("postmap"), ["-c", ".", "-i", "\(type):map"], in: dir.url, stdin: Array("new 1\n".utf8))
        #expect(o.status == 0, "\(o)")
        let q = try run(Paths.ours("postmap"), ["-c", ".", "-q", "new", "\(type):other/victim"], in: dir.url)
        #expect(q.out == "1\n", "\(q)")
        // The same link owned by another user is refused.
        lchown(dir.file("map" + Self.suffix(type)), 65534, 65534)
        let d = try run(Paths.ours("postmap"), ["-c", ".", "-d", "new", "\(type):map"], in: dir.url)
        #expect(d.status == 1, "\(d)")
        #expect(d.stderr == "postmap: fatal: open map\(Self.suffix(type)): file is a symbolic link\n")
    }

    @Test("a plain table and a new one are changed as before", arguments: types)
    func plainTable(type: String) throws {
        let dir = TempDir("safe-open-plain")
        dir.write("main.cf", "compatibility_level = 0\n")
        let i = try run(Paths.ours("postmap"), ["-c", ".", "-i", "\(type):fresh"], in: dir.url, stdin: Array("k v\n".utf8))
        #expect(i.status == 0, "\(i)")
        let d = try run(Paths.ours("postmap"), ["-c", ".", "-d", "k", "\(type):fresh"], in: dir.url)
        #expect(d.status == 0, "\(d)")
        #expect(d.stderr.isEmpty)
    }
}

/// Texts that differed from Postfix's, found by running real-world files through both.
@Suite(.enabled(if: Paths.oracleAvailable, "needs Debian's postfix package"))
struct PostfixTextTests {
    @Test("as root, a source owned by a user who cannot reach its directory",
          .enabled(if: getuid() == 0), arguments: ["hash", "btree", "lmdb"])
    func unreachableDirectory(type: String) throws {
        if type == "lmdb" { try #require(Paths.lmdbOracleAvailable, "needs Debian's postfix-lmdb") }
        for tool in ["postmap", "postalias"] {
            let twin = Twin(files: ["src": Array("a: 1\n".utf8)])
            for dir in [twin.ours, twin.theirs] {
                chmod(dir.path, 0o700)
                chown(dir.file("src"), 65534, 65534)
            }
            let o = try twin.same(tool, ["\(type):src"])
            #expect(o.status == 1)
            let expected = type == "lmdb" ? "open database src.lmdb" : "open src.db"
            #expect(o.stderr == "\(tool): fatal: \(expected): Permission denied\n", "\(tool)")
        }
    }

    @Test("an ldap server name that does not resolve",
          .enabled(if: FileManager.default.fileExists(atPath: "/usr/lib/postfix/postfix-ldap.so")),
          arguments: ["version = 3\n", "", "timeout = 2\n", "bind = no\n"])
    func unresolvableLDAPServer(extra: String) throws {
        let twin = Twin(mainCf: "compatibility_level = 0\nmain_server_host = ldap://nonexistent.invalid:389\n"
                        + "main_search_base = dc=example,dc=com\n" + extra.split(separator: "\n").map { "main_\($0)\n" }.joined())
        twin.write("ldap.cf", "server_host = ldap://nonexistent.invalid:389\nsearch_base = dc=example,dc=com\n\(extra)")
        for map in ["ldap:./ldap.cf", "ldap:main"] {
            let (a, b) = try twin.run("postmap", ["-q", "alice@example.com", map])
            #expect(a.status == b.status, "\(map)")
            #expect(a.out == b.out, "\(map)")
            #expect(a.stderr == b.stderr, "\(map) \(extra)")
            if extra == "version = 3\n" { #expect(a.stderr.hasSuffix("query error: Application error\n"), "\(a.stderr)") }
        }
    }
}
