import Foundation
import Testing
import TestSupport

/// postmap-migrate on a copy of a configuration whose Berkeley DB tables Debian's postmap and postalias
/// built: tables in main.cf (inside proxy: and unionmap:{}), in a master.cf -o value, the alias database,
/// a table without a source and a cache.
@Suite(.enabled(if: Paths.oracleAvailable && Paths.lmdbOracleAvailable, "needs Debian's postfix and postfix-lmdb"))
struct MigrationTests {
    static let main = """
        compatibility_level = 3.6
        myhostname = mx.example.com
        mydestination = $myhostname, localhost
        data_directory = DIR/data
        alias_maps = hash:$config_directory/aliases
        alias_database = hash:$config_directory/aliases
        virtual_alias_maps = hash:$config_directory/virtual, regexp:$config_directory/virtual.re
        transport_maps = proxy:btree:$config_directory/transport
        smtpd_client_restrictions = check_client_access unionmap:{hash:$config_directory/access, cidr:$config_directory/access.cidr}
        smtp_tls_session_cache_database = btree:${data_directory}/smtp_scache
        sender_canonical_maps = hash:$config_directory/canonical

        """
    static let submission = """
        submission inet n       -       y       -       -       smtpd
          -o smtpd_sender_restrictions=check_sender_access,hash:$config_directory/senders,reject_non_fqdn_sender
          -o smtpd_relay_restrictions=permit_sasl_authenticated,reject

        """
    static let sources: [(String, String, String)] = [
        ("postalias", "hash", "aliases"), ("postmap", "hash", "virtual"), ("postmap", "btree", "transport"),
        ("postmap", "hash", "access"), ("postmap", "hash", "senders"),
    ]

    /// The configuration, its tables built by Debian's tools; `canonical` and the cache have no source.
    static func configuration() throws -> TempDir {
        let dir = TempDir("migrate")
        try FileManager.default.createDirectory(atPath: dir.file("data"), withIntermediateDirectories: true)
        dir.write("main.cf", main.replacingOccurrences(of: "DIR", with: dir.path))
        let master = try String(contentsOf: PostconfCheckCaseTests.stockMaster, encoding: .utf8)
        dir.write("master.cf", master + submission)
        dir.write("aliases", "postmaster: root\nroot: alice\nlist: alice, bob, \"|/usr/bin/true\"\nMixed: Alice\n")
        dir.write("virtual", "info@example.com alice\nSales@Example.com bob\n@example.org catchall\n")
        dir.write("virtual.re", "/^x/ y\n")
        dir.write("transport", "example.net smtp:[mx.example.net]\n.example.net relay:\n")
        dir.write("access", "192.0.2.1 REJECT\n192.0.2.2 OK\n")
        dir.write("access.cidr", "198.51.100.0/24 OK\n")
        dir.write("senders", "spam@example.org REJECT\n")
        for (tool, type, name) in sources {
            let r = try run(Paths.postfix(tool), ["-c", dir.path, "\(type):\(dir.file(name))"], in: dir.url)
            #expect(r.status == 0, "\(r)")
        }
        dir.write("canonical.src", "old@example.com new@example.com\nx@example.com y@example.com\n")
        dir.write("cache.src", "k1 v1\nk2 v2\n")
        _ = try run(Paths.postfix("postmap"), ["-c", dir.path, "hash:\(dir.file("canonical.src"))"], in: dir.url)
        _ = try run(Paths.postfix("postmap"), ["-c", dir.path, "btree:\(dir.file("cache.src"))"], in: dir.url)
        try FileManager.default.moveItem(atPath: dir.file("canonical.src.db"), toPath: dir.file("canonical.db"))
        try FileManager.default.moveItem(atPath: dir.file("cache.src.db"), toPath: dir.file("data/smtp_scache.db"))
        for name in ["canonical.src", "cache.src"] { try FileManager.default.removeItem(atPath: dir.file(name)) }
        return dir
    }

    /// Records in order; the build time in postalias's YP_LAST_MODIFIED record differs by nature.
    static func sorted(_ o: Outcome) -> [String] {
        o.out.split(separator: "\n").map(String.init).filter { !$0.hasPrefix("YP_LAST_MODIFIED") }.sorted()
    }

    @Test("dry run, migration, same answers from Debian's postmap, clean --check, second run changes nothing")
    func migrate() throws {
        let dir = try Self.configuration()
        let before = (dir.read("main.cf"), dir.read("master.cf"))
        let dry = try run(Paths.ours("postmap-migrate"), ["-n", "-c", dir.path], in: dir.url)
        #expect(dry.status == 0, "\(dry)")
        #expect(dry.out.contains("build lmdb:\(dir.file("aliases")) from \(dir.file("aliases")) with postalias"), "\(dry)")
        #expect(dry.out.contains("copy hash:\(dir.file("canonical"))"), "\(dry)")
        #expect(dry.out.contains("master.cf: submission/inet/smtpd_sender_restrictions = check_sender_access,lmdb:"), "\(dry)")
        #expect(dir.read("main.cf") == before.0 && dir.read("master.cf") == before.1)
        #expect(!dir.exists("aliases.lmdb"))

        let done = try run(Paths.ours("postmap-migrate"), ["-c", dir.path], in: dir.url)
        #expect(done.status == 0, "\(done)")
        let main = String(decoding: dir.read("main.cf") ?? [], as: UTF8.self)
        let master = String(decoding: dir.read("master.cf") ?? [], as: UTF8.self)
        #expect(!main.contains("hash:") && !main.contains("btree:"), "\(main)")
        #expect(main.contains("transport_maps = proxy:lmdb:$config_directory/transport"))
        #expect(main.contains("unionmap:{lmdb:$config_directory/access, cidr:$config_directory/access.cidr}"))
        #expect(main.contains("default_database_type = lmdb"))
        #expect(!master.contains("hash:") && master.contains("check_sender_access,lmdb:$config_directory/senders"))

        let check = try run(Paths.ours("postconf"), ["--check", "-c", dir.path], in: dir.url)
        #expect(check.out == "postconf --check: \(dir.path): 0 errors, 0 warnings\n", "\(check)")

        // Debian's postmap and postalias: the same records and answers from the old and the new tables.
        let tables = Self.sources.map { ($0.0, $0.1, $0.2) } + [("postmap", "hash", "canonical"), ("postmap", "btree", "data/smtp_scache")]
        for (tool, type, name) in tables {
            let old = try run(Paths.postfix(tool), ["-c", dir.path, "-s", "\(type):\(dir.file(name))"], in: dir.url)
            let new = try run(Paths.postfix(tool), ["-c", dir.path, "-s", "lmdb:\(dir.file(name))"], in: dir.url)
            #expect(old.status == 0 && new.status == 0 && !old.out.isEmpty, "\(old)\(new)")
            #expect(Self.sorted(old) == Self.sorted(new), "\(name)")
            let keys = Self.sorted(old).map { line in
                String(line.prefix { $0 != "\t" }.dropLast(tool == "postalias" ? 1 : 0))
            } + ["nothere@example.com", "MIXED", "info@EXAMPLE.com"]
            for key in keys {
                let a = try run(Paths.postfix(tool), ["-c", dir.path, "-q", key, "\(type):\(dir.file(name))"], in: dir.url)
                let b = try run(Paths.postfix(tool), ["-c", dir.path, "-q", key, "lmdb:\(dir.file(name))"], in: dir.url)
                #expect(a == b, "\(name) \(key)")
            }
        }

        let after = (dir.read("main.cf"), dir.read("master.cf"))
        let again = try run(Paths.ours("postmap-migrate"), ["-c", dir.path], in: dir.url)
        #expect(again.status == 0 && again.out.contains("nothing to migrate"), "\(again)")
        #expect(dir.read("main.cf") == after.0 && dir.read("master.cf") == after.1)
    }

    @Test("a build that fails half-way leaves main.cf and master.cf as they were, naming tables that exist")
    func failure() throws {
        let dir = try Self.configuration()
        let before = (dir.read("main.cf"), dir.read("master.cf"))
        // The third table cannot be renamed into place.
        try FileManager.default.createDirectory(atPath: dir.file("transport.lmdb"), withIntermediateDirectories: false)
        let r = try run(Paths.ours("postmap-migrate"), ["-c", dir.path], in: dir.url)
        #expect(r.status == 1, "\(r)")
        #expect(r.stderr.contains("postmap-migrate: fatal: postmap lmdb:\(dir.file("transport")) failed; main.cf and master.cf are unchanged"), "\(r)")
        #expect(dir.read("main.cf") == before.0 && dir.read("master.cf") == before.1)
        let check = try run(Paths.ours("postconf"), ["--check", "-c", dir.path], in: dir.url)
        #expect(check.status == 0 && check.out.contains(": 0 errors, "), "\(check)")
        let q = try run(Paths.postfix("postalias"), ["-c", dir.path, "-q", "root", "hash:\(dir.file("aliases"))"], in: dir.url)
        #expect(q.out == "alice\n")
    }

    @Test("--help, and an unknown option")
    func help() throws {
        let dir = TempDir("migrate-help")
        let h = try run(Paths.ours("postmap-migrate"), ["--help"], in: dir.url)
        #expect(h.status == 0 && h.out.contains("USAGE: postmap-migrate [--config-dir <config-dir>] [--dry-run] [--verbose]"), "\(h)")
        let bad = try run(Paths.ours("postmap-migrate"), ["-x"], in: dir.url)
        #expect(bad.status != 0)
    }
}
