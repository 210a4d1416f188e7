import Foundation
import Testing
import TestSupport

/// Ownership, staleness warnings and newaliases.
@Suite(.enabled(if: Oracle.enabled(Paths.oracleAvailable), "needs Debian's postfix package"))
struct OwnershipTests {
    static let types = ["hash", "btree", "lmdb"]

    func owner(_ path: String) throws -> Int? {
        try FileManager.default.attributesOfItem(atPath: path)[.ownerAccountID] as? Int
    }

    @Test("as root, a new table belongs to the source's owner unless -o", .enabled(if: getuid() == 0), arguments: types)
    func ownerOfNewTables(type: String) throws {
        let twin = Twin(files: ["map": Array("a 1\n".utf8)])
        let suffix = type == "lmdb" ? ".lmdb" : ".db"
        for dir in [twin.ours, twin.theirs] {
            chmod(dir.path, 0o777)
            chown(dir.file("map"), 65534, 65534)
        }
        try twin.same("postmap", ["\(type):map"])
        #expect(try owner(twin.ours.file("map" + suffix)) == 65534)
        #expect(try owner(twin.theirs.file("map" + suffix)) == 65534)
        for dir in [twin.ours, twin.theirs] { try FileManager.default.removeItem(atPath: dir.file("map" + suffix)) }
        try twin.same("postmap", ["-o", "\(type):map"])
        #expect(try owner(twin.ours.file("map" + suffix)) == 0)
        #expect(try owner(twin.theirs.file("map" + suffix)) == 0)
        // A rebuild keeps the existing table's owner, in Postfix and in ours.
        for dir in [twin.ours, twin.theirs] { chown(dir.file("map" + suffix), 65534, 65534) }
        twin.write("map", Array("a 2\n".utf8))
        let rebuilt = try twin.same("postmap", ["-o", "\(type):map"])
        #expect(rebuilt.status == 0 && rebuilt.stderr.isEmpty, "\(rebuilt)")
        #expect(try owner(twin.ours.file("map" + suffix)) == 65534)
        #expect(try owner(twin.theirs.file("map" + suffix)) == 65534)
        let q = try twin.same("postmap", ["-q", "a", "\(type):map"])
        #expect(q.out == "2\n", "the rebuild replaced the records")
    }

    @Test("a table older than its source gets Postfix's warning", arguments: types)
    func olderThanSource(type: String) throws {
        let twin = Twin(files: ["map": Array("a 1\n".utf8)])
        try twin.same("postmap", ["\(type):map"])
        let suffix = type == "lmdb" ? ".lmdb" : ".db"
        let now = Date()
        for dir in [twin.ours, twin.theirs] {
            try FileManager.default.setAttributes([.modificationDate: now.addingTimeInterval(-1000)], ofItemAtPath: dir.file("map" + suffix))
            try FileManager.default.setAttributes([.modificationDate: now.addingTimeInterval(-500)], ofItemAtPath: dir.file("map"))
        }
        let o = try twin.same("postmap", ["-q", "a", "\(type):map"])
        #expect(o.stderr == "postmap: warning: database map\(suffix) is older than source file map\n")
        // Changed only moments ago: no warning.
        for dir in [twin.ours, twin.theirs] {
            try FileManager.default.setAttributes([.modificationDate: now], ofItemAtPath: dir.file("map"))
        }
        let p = try twin.same("postmap", ["-q", "a", "\(type):map"])
        #expect(p.stderr.isEmpty)
    }

    @Test("newaliases rebuilds every indexed table in alias_database")
    func newaliases() throws {
        let dir = TempDir("newaliases")
        dir.write("aliases", "root: alice\nPostmaster: root\n")
        dir.write("other", "abuse: root\n")
        dir.write("main.cf", """
        compatibility_level = 3.6
        myhostname = mx.example.com
        alias_database = hash:\(dir.file("aliases")), lmdb:\(dir.file("aliases")) btree:\(dir.file("other"))
        """)
        let o = try run(Paths.ours("newaliases"), ["-c", dir.path], in: dir.url)
        #expect(o.status == 0, "\(o)")
        #expect(o.stderr.isEmpty)
        for spec in ["hash:aliases", "lmdb:aliases"] {
            let q = try run(Paths.postfix("postalias"), ["-c", ".", "-q", "postmaster", spec], in: dir.url)
            #expect(q.out == "root\n", "\(spec)")
        }
        let q = try run(Paths.postfix("postalias"), ["-c", ".", "-q", "abuse", "btree:other"], in: dir.url)
        #expect(q.out == "root\n")
        // Usage errors.
        let bad = try run(Paths.ours("newaliases"), ["-c", dir.path, "extra"], in: dir.url)
        #expect(bad.status == 1)
        #expect(bad.stderr == "newaliases: fatal: usage: newaliases [-v] [-c config_dir]\n")
    }
}
