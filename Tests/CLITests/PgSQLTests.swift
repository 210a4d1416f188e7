import Foundation
import Testing
import TestSupport

/// One pgsql table configuration and the keys to look up in it.
struct SQLCase: CustomStringConvertible {
    let label: String
    /// The .cf file without `hosts`, `user`, `password` and `dbname`, which the test adds (unless the
    /// case sets its own).
    let cf: String
    let keys: [String]
    var flags: [String] = []
    var description: String { label }
}

/// The pgsql table against a real PostgreSQL (testdata/sql/pgsql.sql), compared with Debian's postmap
/// and postfix-pgsql: the same .cf files, the same keys, identical stdout, stderr and exit status.
@Suite(.enabled(if: Oracle.enabled(Paths.oracleAvailable && PgSQLServer.available), "needs postgresql and Debian's postfix-pgsql"))
struct PgSQLTests {
    static let query = "query = SELECT forw FROM aliases WHERE alias='%s' AND active\n"
    static let people = ["alice@example.com", "Alice@EXAMPLE.com", "bob@example.com", "carol@example.com", "team@example.com",
                         "nobody@example.com", "alice", "@example.com", "postmaster", "Postmaster", "dave@sub.dept.example.com",
                         "empty@example.com", "null@example.com", "info@example.org", "x@", "@", "a@b@example.com"]
    /// Keys that try to change the query: all data.
    static let hostile = ["o'brien@example.com", "O'Brien@example.com", "back\\slash@example.com", "back\\\\slash@example.com",
                          "100%@example.com", "100%%@example.com", "%s", "' OR '1'='1", "x' OR alias LIKE '%", "'; DROP TABLE aliases; --",
                          "\\'", "x\\", "alice@example.com'--", "jos\u{e9}@example.com", "JOS\u{c9}@EXAMPLE.COM", "a\"b@example.com"]

    static let cases: [SQLCase] = [
        SQLCase(label: "plain lookups, multi-row results", cf: query, keys: people),
        SQLCase(label: "plain lookups without folding (-f)", cf: query, keys: people, flags: ["-f"]),
        SQLCase(label: "quotes, backslashes, percent signs and injections are data", cf: query, keys: hostile + people),
        SQLCase(label: "%u and %d", cf: "query = SELECT forw FROM aliases WHERE alias = '%u' || '@' || '%d'\n", keys: people + hostile),
        SQLCase(label: "%d alone", cf: "query = SELECT transport FROM domains WHERE domain='%d'\n", keys: people),
        SQLCase(label: "%1 %2 %3 labels", cf: "query = SELECT '%3|%2|%1'\n",
                keys: ["x@sub.dept.example.com", "x@example.com", "x@a.sub.dept.example.com", "x@sub..dept.example.com", "x"]),
        SQLCase(label: "%S %U %D", cf: "query = SELECT '%S/%U/%D' WHERE '%s' <> 'nobody@example.com'\n", keys: people),
        SQLCase(label: "%% in the query", cf: "query = SELECT forw FROM aliases WHERE alias LIKE '%s' AND '%%' = '%%'\n", keys: people),
        SQLCase(label: "several columns", cf: "query = SELECT alias, forw FROM aliases WHERE alias='%s'\n", keys: people),
        SQLCase(label: "result_format with the value's parts", cf: query + "result_format = %u+ext@%d\n", keys: people),
        SQLCase(label: "result_format with the key's parts", cf: query + "result_format = %U via %D for %S (%%s=%s)\n", keys: people),
        SQLCase(label: "result_format with domain labels", cf: query + "result_format = %s@%1.%2\n", keys: people),
        SQLCase(label: "domain restriction, literal", cf: query + "domain = example.com, EXAMPLE.net\n", keys: people),
        SQLCase(label: "domain restriction with negation", cf: query + "domain = !example.org, example.org example.com\n", keys: people),
        SQLCase(label: "domain restriction from a file and a table",
                cf: query + "domain = ./domains.list, texthash:./domains.table\n", keys: people),
        SQLCase(label: "expansion limit", cf: query + "expansion_limit = 2\n", keys: ["team@example.com", "bob@example.com", "alice@example.com"]),
        SQLCase(label: "expansion limit met exactly", cf: query + "expansion_limit = 4\n", keys: ["team@example.com"]),
        SQLCase(label: "legacy table, select_field, where_field, additional_conditions",
                cf: "table = aliases\nselect_field = forw\nwhere_field = alias\nadditional_conditions = AND active\n", keys: people + hostile),
        SQLCase(label: "legacy parts without additional_conditions",
                cf: "table = aliases\nselect_field = forw\nwhere_field = alias\n", keys: people),
        SQLCase(label: "legacy select_function", cf: "select_function = lookup_alias\n", keys: people + hostile),
        SQLCase(label: "query wins over the legacy parts", cf: query + "table = nosuch\nselect_field = x\nwhere_field = y\n", keys: people),
        SQLCase(label: "a query that returns no rows for any key", cf: "query = SELECT forw FROM aliases WHERE false AND alias='%s'\n", keys: people),
        SQLCase(label: "a fixed query", cf: "query = SELECT 'fixed'\n", keys: ["anything", "alice@example.com"]),
        SQLCase(label: "a statement that returns no result set", cf: "query = SET search_path TO public\n", keys: ["alice@example.com"]),
        SQLCase(label: "two statements: the last result counts",
                cf: "query = SELECT 'first'; SELECT forw FROM aliases WHERE alias='%s'\n", keys: people),
        SQLCase(label: "encoding and idle/retry settings of later Postfix versions are ignored",
                cf: query + "encoding = LATIN9\nretry_interval = 5\nidle_interval = 5\n", keys: ["alice@example.com"]),
        SQLCase(label: "empty key", cf: query, keys: [""]),
        // Keys after the first 64 are sent ahead in pipeline mode; a query that fails there is asked
        // again the ordinary way, so the messages are those of Postfix's PQexec.
        SQLCase(label: "an SQL error for one key in the second read-ahead batch",
                cf: "query = SELECT forw FROM aliases WHERE alias='%s' AND 1/(length('%s')-5) > -100\n",
                keys: (0..<70).map { "user\($0)@example.com" } + ["alice@example.com", "abcde"]),
    ]

    static func login(_ server: PgSQLServer, hosts: String? = nil) -> String {
        "hosts = \(hosts ?? server.hostPort)\nuser = postfix\npassword = \(PgSQLServer.password)\ndbname = postgres\n"
    }

    /// Run `postmap -q` for each key, and `-q -` with all of them, in Postfix and ours.
    static func compare(_ c: SQLCase, twin: Twin, login: String, sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let file = "\(c.label.filter { $0.isLetter || $0.isNumber }).cf"
        let cf = c.cf.contains("hosts =") ? c.cf : login + c.cf
        twin.write(file, cf)
        for key in c.keys {
            try await twin.sameAsync("postmap", c.flags + ["-q", key, "pgsql:./\(file)"], sourceLocation: sourceLocation)
        }
        let input = Array(c.keys.map { $0 + "\n" }.joined().utf8)
        try await twin.sameAsync("postmap", c.flags + ["-q", "-", "pgsql:./\(file)"], stdin: input, sourceLocation: sourceLocation)
        // More than one read-ahead batch (64 keys).
        let repeated = Array(repeating: input, count: 140 / max(c.keys.count, 1) + 1).flatMap { $0 }
        try await twin.sameAsync("postmap", c.flags + ["-q", "-", "pgsql:./\(file)"], stdin: repeated, sourceLocation: sourceLocation)
    }

    static func twin(_ mainCf: String = "compatibility_level = 0\n", release: OracleRelease = .v3_7) -> Twin {
        let twin = Twin(mainCf: mainCf, release: release)
        twin.write("domains.list", "# domains served here\nexample.org\n!example.net example.com\n")
        twin.write("domains.table", "example.com ok\n")
        return twin
    }

    /// The suite's server (testdata/sql/pgsql.sql), shared by the tests that only read it.
    static func server() throws -> PgSQLServer { try PgSQLServer.shared.get() }

    /// The same, awaited: the first test starts it without holding a cooperative thread.
    static func sharedServer() async throws -> PgSQLServer { try await PgSQLServer.shared.value() }

    /// A server of the test's own, for a test that stops, freezes or restarts it.
    static func ownServer() throws -> PgSQLServer {
        let sql = try String(contentsOfFile: Paths.inRoot("testdata/sql/pgsql.sql"), encoding: .utf8)
        return try PgSQLServer(sql: sql)
    }

    @Test("lookups through Debian's postmap and ours agree", arguments: DifferentialTests.configReleases)
    func differential(configRelease: DifferentialTests.ConfigRelease) async throws {
        let (mainCf, release) = (configRelease.config, configRelease.release)
        guard release.check(), release.hasModule("pgsql") || Oracle.required else { return }
        let server = try await Self.sharedServer()
        let twin = Self.twin(mainCf, release: release)
        // The server answers: a known key is found, a multi-row key joined, an injection finds nothing.
        twin.write("sanity.cf", Self.login(server) + Self.query)
        #expect(try await twin.sameAsync("postmap", ["-q", "alice@example.com", "pgsql:./sanity.cf"]).out == "alice@mail.example.com\n")
        #expect(try await twin.sameAsync("postmap", ["-q", "bob@example.com", "pgsql:./sanity.cf"]).out
                    == "bob@mail.example.com,bob@backup.example.com\n")
        #expect(try await twin.sameAsync("postmap", ["-q", "o'brien@example.com", "pgsql:./sanity.cf"]).out == "obrien@mail.example.com\n")
        #expect(try await twin.sameAsync("postmap", ["-q", "' OR '1'='1", "pgsql:./sanity.cf"]).status == 1)
        for c in Self.cases {
            try await Self.compare(c, twin: twin, login: Self.login(server))
        }
        // 8-bit keys that are not UTF-8 (Latin-1 bytes), through stdin.
        twin.write("latin1.cf", Self.login(server) + Self.query)
        let bytes: [UInt8] = Array("jos".utf8) + [0xE9] + Array("@example.com\nJOS".utf8) + [0xC9] + Array("@EXAMPLE.COM\n\u{1}x\n".utf8)
        try await twin.sameAsync("postmap", ["-q", "-", "pgsql:./latin1.cf"], stdin: bytes)
    }

    @Test("hosts forms: inet, unix socket, URI, several tables in one process")
    func hostForms() async throws {
        let server = try await Self.sharedServer()
        let twin = Self.twin()
        let uri = "postgresql://postfix:\(PgSQLServer.password)@127.0.0.1:\(server.port)/postgres"
        let forms: [SQLCase] = [
            SQLCase(label: "inet prefix", cf: Self.login(server, hosts: "inet:\(server.hostPort)") + Self.query, keys: ["alice@example.com"]),
            SQLCase(label: "unix socket directory", cf: Self.login(server, hosts: "unix:\(server.socketDir)") + Self.query,
                    keys: ["alice@example.com"]),
            SQLCase(label: "socket directory without prefix", cf: Self.login(server, hosts: server.socketDir) + Self.query,
                    keys: ["alice@example.com"]),
            SQLCase(label: "host without port uses the default port", cf: Self.login(server, hosts: "127.0.0.1") + Self.query,
                    keys: ["alice@example.com"]),
            SQLCase(label: "connection URI without dbname", cf: "hosts = \(uri)\n" + Self.query, keys: ["alice@example.com"]),
            SQLCase(label: "connection URI", cf: "hosts = \(uri)\ndbname = postgres\n" + Self.query, keys: ["alice@example.com", "bob@example.com"]),
            SQLCase(label: "connection URI with its own database and a dbname setting",
                    cf: "hosts = \(uri)\ndbname = nosuchdb\n" + Self.query, keys: ["alice@example.com"]),
            SQLCase(label: "dbname as a connection string",
                    cf: "hosts = \(server.hostPort)\ndbname = dbname=postgres user=postfix\npassword = \(PgSQLServer.password)\n" + Self.query,
                    keys: ["alice@example.com"]),
        ]
        for c in forms { try await Self.compare(c, twin: twin, login: Self.login(server)) }
        twin.write("one.cf", Self.login(server) + "query = SELECT transport FROM domains WHERE domain='%d'\n")
        twin.write("two.cf", Self.login(server) + Self.query)
        for key in ["alice@example.com", "info@example.org", "nobody@example.net"] {
            try await twin.sameAsync("postmap", ["-q", key, "pgsql:./two.cf", "pgsql:./one.cf"])
        }
        try await twin.sameAsync("postmap", ["-q", "-", "pgsql:./two.cf", "pgsql:./one.cf"],
                      stdin: Array("alice@example.com\ninfo@example.org\nnobody@example.net\n".utf8))
    }

    @Test("legacy main.cf form: NAME_parameter with $name expansion")
    func mainCfForm() async throws {
        let server = try await Self.sharedServer()
        let main = """
            compatibility_level = 3.6
            pg_host = 127.0.0.1:\(server.port)
            pgdata_hosts = $pg_host
            pgdata_user = postfix
            pgdata_password = \(PgSQLServer.password)
            pgdata_dbname = postgres
            pgdata_query = SELECT forw FROM aliases WHERE alias='%s'
            pgdata_result_format = <%s>
            legacy_hosts = $pg_host
            legacy_user = postfix
            legacy_password = \(PgSQLServer.password)
            legacy_dbname = postgres
            legacy_table = aliases
            legacy_select_field = forw
            legacy_where_field = alias
            broken_hosts = $pg_host
            broken_dbname = postgres
            broken_expansion_limit = lots
            nodb_hosts = $pg_host
            nodb_query = SELECT 1
            badquery_hosts = $pg_host
            badquery_dbname = postgres
            badquery_query = SELECT '%x'

            """
        let twin = Twin(mainCf: main)
        for key in ["alice@example.com", "bob@example.com", "nobody@example.com"] {
            try await twin.sameAsync("postmap", ["-q", key, "pgsql:pgdata"])
            try await twin.sameAsync("postmap", ["-q", key, "pgsql:legacy"])
        }
        for map in ["pgsql:broken", "pgsql:nodb", "pgsql:badquery", "pgsql:undefined"] {
            try await twin.sameAsync("postmap", ["-q", "alice@example.com", map])
        }
    }

    @Test("configuration errors and refused operations", arguments: OracleRelease.available)
    func configurationErrors(release: OracleRelease) async throws {
        guard release.check(), release.hasModule("pgsql") || Oracle.required else { return }
        let server = try await Self.sharedServer()
        let twin = Self.twin(release: release)
        let login = Self.login(server)
        let bad: [String: String] = [
            "nodbname": "hosts = \(server.hostPort)\nuser = postfix\n" + Self.query,
            "emptyformat": login + Self.query + "result_format =\n",
            "limit": login + Self.query + "expansion_limit = 2x\n",
            "overflow": login + Self.query + "expansion_limit = 99999999999\n",
            "querytemplate": login + "query = SELECT '%x'\n",
            "resulttemplate": login + Self.query + "result_format = %s%\n",
            "notable": login + "select_field = forw\nwhere_field = alias\n",
            "noselect": login + "table = aliases\nwhere_field = alias\n",
            "nowhere": login + "table = aliases\nselect_field = forw\n",
            "syntax": login + Self.query + "this line has no equals sign\n",
            "override": login + Self.query + "query = SELECT 'second'\n",
            "nodomainfile": login + Self.query + "domain = /nonexistent/domains\n",
            "bang": login + Self.query + "domain = example.com, !\n",
            // 3.10's per-table settings (3.7 ignores them).
            "encoding": login + Self.query + "encoding = SQL_ASCII\n",
            "noencoding": login + Self.query + "encoding =\n",
            "badencoding": login + Self.query + "encoding = NO_SUCH_ENCODING\n",
            "retry": login + Self.query + "retry_interval = 0\nidle_interval = 5\n",
        ]
        for (name, cf) in bad.sorted(by: { $0.key < $1.key }) {
            twin.write("\(name).cf", cf)
            try await twin.sameAsync("postmap", ["-q", "alice@example.com", "pgsql:./\(name).cf"])
        }
        twin.write("ok.cf", login + Self.query)
        try await twin.sameAsync("postmap", ["-q", "alice@example.com", "pgsql:./missing.cf"])
        try await twin.sameAsync("postmap", ["-q", "alice@example.com", "pgsql:/nonexistent/dir/x.cf"])
        try await twin.sameAsync("postmap", ["-s", "pgsql:./ok.cf"])
        try await twin.sameAsync("postmap", ["pgsql:./ok.cf"])
        try await twin.sameAsync("postmap", ["-i", "pgsql:./ok.cf"], stdin: Array("a b\n".utf8))
        try await twin.sameAsync("postmap", ["-d", "alice@example.com", "pgsql:./ok.cf"])
        try await twin.sameAsync("postalias", ["-q", "alice@example.com", "pgsql:./ok.cf"])
    }
}
