import Foundation
import Testing
import TestSupport

extension Paths {
    /// Debian's postmap with postfix-sqlite, and the sqlite3 shell that makes the test databases.
    static var sqliteOracleAvailable: Bool {
        oracleAvailable && FileManager.default.fileExists(atPath: "/usr/lib/postfix/postfix-sqlite.so")
            && FileManager.default.isExecutableFile(atPath: "/usr/bin/sqlite3")
    }
}

/// `sqlite:` against Debian's postmap with postfix-sqlite, on the same `.cf` files and a copy of the same
/// database in each directory: the same stdout, stderr and exit status.
@Suite(.enabled(if: Oracle.enabled(Paths.sqliteOracleAvailable), "needs Debian's postfix-sqlite and sqlite3"))
struct SQLiteTests {
    static var available: Bool { Paths.sqliteOracleAvailable }

    static let schema = """
        CREATE TABLE v (k TEXT, v TEXT);
        INSERT INTO v VALUES ('a@example.com', 'alice@mail.example.com'), ('b@example.com', 'b1@x.org'),
          ('b@example.com', 'b2@x.org'), ('b@example.com', 'b3'), ('o''neil@example.com', 'quote'),
          ('x\\y', 'backslash'), ('c%d', 'percent'), ('é@example.com', 'eight-bit'), ('empty', ''),
          ('@example.com', 'catchall'), ('u@sub.example.org', 'sub');
        CREATE TABLE n (k TEXT, v TEXT);
        INSERT INTO n VALUES ('nul', NULL), ('nul', 'after-null');
        """

    /// A twin whose directories each hold `db.sqlite`, made by the sqlite3 shell from `schema`.
    func twin(_ mainCf: String = "compatibility_level = 0\n", release: OracleRelease = .v3_7) throws -> Twin {
        let twin = Twin(mainCf: mainCf, release: release)
        for dir in [twin.ours, twin.theirs] {
            let made = try run("/usr/bin/sqlite3", ["db.sqlite"], in: dir.url, stdin: Array(Self.schema.utf8))
            #expect(made.status == 0, "\(made)")
        }
        return twin
    }

    static let keys: [String] = ["a@example.com", "A@Example.COM", "b@example.com", "o'neil@example.com", "x\\y", "c%d",
                                 "é@example.com", "empty", "nul", "none@example.com", "' OR '1'='1",
                                 "x'; DROP TABLE v; --", "%s", "u@sub.example.org", "@example.com", "user", ""]

    /// Query every key singly and all through `-q -` (with an invalid UTF-8 key too).
    func queryAll(_ twin: Twin, _ table: String, flags: [String] = [], sourceLocation: SourceLocation = #_sourceLocation) throws {
        for key in Self.keys where !key.isEmpty {
            try twin.same("postmap", flags + ["-q", key, table], sourceLocation: sourceLocation)
        }
        var stream = Array(Self.keys.joined(separator: "\n").utf8) + [0x0A]
        stream += [0x62, 0xFF, 0x40, 0x78, 0x0A]
        try twin.same("postmap", flags + ["-q", "-", table], stdin: stream, sourceLocation: sourceLocation)
    }

    static let configurations: [String] = [
        "dbpath = db.sqlite\nquery = SELECT v FROM v WHERE k='%s'\n",
        "dbpath = db.sqlite\nquery = SELECT v FROM v WHERE k='%s'\nresult_format = <%s> %u at %d for %S\n",
        "dbpath = db.sqlite\nquery = SELECT v FROM v WHERE k='%u@example.com'\nresult_format = %U+%s\n",
        "dbpath = db.sqlite\nquery = SELECT v FROM v WHERE k='%s'\nexpansion_limit = 2\n",
        "dbpath = db.sqlite\nquery = SELECT v FROM v WHERE k='%s'\nexpansion_limit = 3\n",
        "dbpath = db.sqlite\nquery = SELECT v FROM v WHERE k='%s'\ndomain = example.com, sub.example.org\n",
        "dbpath = db.sqlite\nquery = SELECT v FROM v WHERE k='%s'\ndomain = inline:{example.com=yes}\n",
        "dbpath = db.sqlite\nquery = SELECT v FROM v WHERE k LIKE '%%%d'\n",
        "dbpath = db.sqlite\nquery = SELECT v FROM v WHERE k='u@%2.%1'\n",
        "dbpath = db.sqlite\nquery = SELECT v FROM n WHERE k='%s'\n",
        "dbpath = db.sqlite\ntable = v\nselect_field = v\nwhere_field = k\nadditional_conditions = AND v <> 'b2@x.org'\n",
        "dbpath = db.sqlite\ntable = v\nselect_field = upper(v)\nwhere_field = k\n",
        // A step that fails (integer overflow) after the statement compiled.
        "dbpath = db.sqlite\nquery = SELECT v FROM v WHERE k='%s' AND abs(-9223372036854775807 - 1) > 0\n",
    ]

    /// Every configuration with 3.7; the first three with 3.10, whose sqlite client differs only in how
    /// it opens the database (the broken configurations run with both).
    static var fileFormCases: [(String, OracleRelease)] {
        OracleRelease.available.flatMap { release in
            (release == .v3_7 ? configurations : Array(configurations.prefix(3))).map { ($0, release) }
        }
    }

    @Test("lookups, the file form", arguments: fileFormCases)
    func fileForm(config: String, release: OracleRelease) throws {
        guard Oracle.check(Self.available, "Debian's postfix-sqlite"), release.check() else { return }
        let twin = try twin(release: release)
        twin.write("q.cf", config)
        try queryAll(twin, "sqlite:./q.cf")
    }

    @Test("lookups with smtputf8 and -f", arguments: [configurations[0], configurations[1]])
    func utf8(config: String) throws {
        guard Oracle.check(Self.available, "Debian's postfix-sqlite") else { return }
        let twin = try twin("compatibility_level = 3.6\n")
        twin.write("q.cf", config)
        try queryAll(twin, "sqlite:./q.cf")
        try queryAll(twin, "sqlite:./q.cf", flags: ["-f"])
    }

    @Test("lookups, the main.cf form")
    func mainCfForm() throws {
        guard Oracle.check(Self.available, "Debian's postfix-sqlite") else { return }
        let twin = try twin("""
            compatibility_level = 0
            sq_dbpath = db.sqlite
            base = v
            sq_query = SELECT v FROM $base WHERE k='%s'
            sq_domain = example.com
            old_dbpath = db.sqlite
            old_table = v
            old_select_field = v
            old_where_field = k
            bad_dbpath = db.sqlite
            bad_expansion_limit = many
            """ + "\n")
        try queryAll(twin, "sqlite:sq")
        try twin.same("postmap", ["-q", "b@example.com", "sqlite:old"])
        try twin.same("postmap", ["-q", "a@example.com", "sqlite:bad"])
        try twin.same("postmap", ["-q", "a@example.com", "sqlite:missing"])
    }

    static let brokenConfigurations: [String] = [
        "dbpath = db.sqlite\nquery = SELECT v FROM nosuch WHERE k='%s'\n",
        "dbpath = db.sqlite\nquery = SELEKT v\n",
        "dbpath = db.sqlite\nquery = SELECT v FROM v WHERE k='%x'\n",
        "dbpath = db.sqlite\nquery = SELECT v FROM v WHERE k='%s'\nresult_format = %y\n",
        "dbpath = db.sqlite\nquery = SELECT v FROM v WHERE k='%s'\nresult_format =\n",
        "dbpath = db.sqlite\nquery = SELECT v FROM v WHERE k='%s'\nexpansion_limit = 1x\n",
        "query = SELECT 1\n",
        "dbpath = db.sqlite\ntable = v\n",
        "dbpath = db.sqlite\ntable = v\nselect_field = v\n",
        "dbpath = missing.sqlite\nquery = SELECT v FROM v WHERE k='%s'\n",
        "dbpath = nodir/x.sqlite\nquery = SELECT v FROM v WHERE k='%s'\n",
        "dbpath = db.sqlite\nquery = SELECT v FROM v WHERE k='%s'\ndomain = !\n",
        "dbpath = db.sqlite\nquery = SELECT v FROM v WHERE k='%s'\nquery = SELECT v FROM v WHERE k='%s' LIMIT 1\n",
    ]

    @Test("configuration errors, a missing database, SQL errors", arguments: brokenConfigurations, OracleRelease.available)
    func broken(config: String, release: OracleRelease) throws {
        guard Oracle.check(Self.available, "Debian's postfix-sqlite"), release.check() else { return }
        let twin = try twin(release: release)
        twin.write("q.cf", config)
        try twin.same("postmap", ["-q", "b@example.com", "sqlite:./q.cf"])
        try twin.same("postmap", ["-q", "-", "sqlite:./q.cf"], stdin: Array("a@example.com\nb@example.com\n".utf8))
        #expect(twin.ours.exists("missing.sqlite") == twin.theirs.exists("missing.sqlite"))
    }

    @Test("what sqlite refuses: updates, deletes, listing, a missing client file", arguments: OracleRelease.available)
    func refusals(release: OracleRelease) throws {
        guard Oracle.check(Self.available, "Debian's postfix-sqlite"), release.check() else { return }
        let twin = try twin(release: release)
        twin.write("q.cf", Self.configurations[0])
        try twin.same("postmap", ["-i", "sqlite:./q.cf"], stdin: Array("k v\n".utf8))
        try twin.same("postmap", ["-d", "a@example.com", "sqlite:./q.cf"])
        try twin.same("postmap", ["-s", "sqlite:./q.cf"])
        try twin.same("postmap", ["sqlite:./q.cf"])
        try twin.same("postmap", ["-q", "a", "sqlite:./none.cf"])
        try twin.same("postmap", ["-q", "a@example.com", "hash:nonexistent", "sqlite:./q.cf"])
        try twin.same("postmap", ["-q", "a@example.com", "inline:{x=y}", "sqlite:./q.cf"])
    }
}
