import Foundation
import Testing
import TestSupport

/// The mysql table against a real MariaDB (testdata/sql/mariadb.sql), compared with Debian's postmap
/// and postfix-mysql: the same .cf files, the same keys, identical stdout, stderr and exit status.
///
/// After a failed query, the `%m` of postmap's final `query error` is what libmariadb's non-blocking
/// socket left in errno, which depends on whether the server's answer had arrived when the library first
/// read: `Resource temporarily unavailable` or (errno 0) `Operation not supported` after a failed query and
/// `Application error` after a query whose results fail (the expansion limit), and after a refused login
/// `Operation now in progress` (the socket's connect) or `Resource temporarily unavailable`, in Postfix's
/// postmap and ours alike. `normalize` makes them equal.
@Suite(.enabled(if: Oracle.enabled(Paths.oracleAvailable && MariaDBServer.available), "needs mariadb-server and Debian's postfix-mysql"))
struct MySQLTests {
    static let query = "query = SELECT forw FROM aliases WHERE alias='%s' AND active\n"

    static func normalize(_ o: Outcome) -> Outcome {
        var copy = o
        for errno in ["Operation not supported", "Application error", "Operation now in progress"] {
            copy.stderr = copy.stderr.replacingOccurrences(of: "query error: \(errno)", with: "query error: Resource temporarily unavailable")
        }
        return copy
    }

    static let cases: [SQLCase] = [
        SQLCase(label: "plain lookups, multi-row results", cf: query, keys: PgSQLTests.people),
        SQLCase(label: "plain lookups without folding (-f)", cf: query, keys: PgSQLTests.people, flags: ["-f"]),
        SQLCase(label: "quotes, backslashes, percent signs and injections are data", cf: query, keys: PgSQLTests.hostile + PgSQLTests.people),
        SQLCase(label: "%u and %d", cf: "query = SELECT forw FROM aliases WHERE alias = CONCAT('%u', '@', '%d')\n",
                keys: PgSQLTests.people + PgSQLTests.hostile),
        SQLCase(label: "%d alone", cf: "query = SELECT transport FROM domains WHERE domain='%d'\n", keys: PgSQLTests.people),
        SQLCase(label: "%1 %2 %3 labels", cf: "query = SELECT '%3|%2|%1'\n",
                keys: ["x@sub.dept.example.com", "x@example.com", "x@a.sub.dept.example.com", "x@sub..dept.example.com", "x"]),
        SQLCase(label: "%S %U %D", cf: "query = SELECT '%S/%U/%D' FROM DUAL WHERE '%s' <> 'nobody@example.com'\n", keys: PgSQLTests.people),
        SQLCase(label: "several columns", cf: "query = SELECT alias, forw FROM aliases WHERE alias='%s'\n", keys: PgSQLTests.people),
        SQLCase(label: "result_format with the value's parts", cf: query + "result_format = %u+ext@%d\n", keys: PgSQLTests.people),
        SQLCase(label: "result_format with the key's parts", cf: query + "result_format = %U via %D for %S (%%s=%s)\n", keys: PgSQLTests.people),
        SQLCase(label: "domain restriction, literal", cf: query + "domain = example.com, EXAMPLE.net\n", keys: PgSQLTests.people),
        SQLCase(label: "domain restriction from a file and a table",
                cf: query + "domain = ./domains.list, texthash:./domains.table\n", keys: PgSQLTests.people),
        SQLCase(label: "expansion limit", cf: query + "expansion_limit = 2\n", keys: ["team@example.com", "bob@example.com", "alice@example.com"]),
        SQLCase(label: "legacy table, select_field, where_field, additional_conditions",
                cf: "table = aliases\nselect_field = forw\nwhere_field = alias\nadditional_conditions = AND active\n",
                keys: PgSQLTests.people + PgSQLTests.hostile),
        SQLCase(label: "select_function is not a mysql setting",
                cf: "select_function = lookup_alias\ntable = aliases\nselect_field = forw\nwhere_field = alias\n", keys: PgSQLTests.people),
        SQLCase(label: "a stored procedure: one result set", cf: "query = CALL lookup_alias('%s')\n", keys: PgSQLTests.people),
        SQLCase(label: "a stored procedure with two result sets", cf: "query = CALL two_sets('%s')\n", keys: ["alice@example.com"]),
        SQLCase(label: "a stored procedure without a result set", cf: "query = CALL no_set('%s')\n", keys: ["alice@example.com"]),
        SQLCase(label: "no result set allowed", cf: "query = CALL no_set('%s')\nrequire_result_set = no\n", keys: ["alice@example.com"]),
        SQLCase(label: "a stored procedure that fails after a result set", cf: "query = CALL fails('%s')\n", keys: ["alice@example.com"]),
        SQLCase(label: "a statement without a result set", cf: "query = DO '%s'\n", keys: ["alice@example.com"]),
        SQLCase(label: "a statement without a result set, allowed", cf: "query = DO '%s'\nrequire_result_set = NO\n", keys: ["alice@example.com"]),
        SQLCase(label: "two statements are a syntax error", cf: "query = SELECT 1; SELECT forw FROM aliases WHERE alias='%s'\n",
                keys: ["alice@example.com"]),
        SQLCase(label: "option_group of the client library", cf: query + "option_group = postfix\n", keys: ["alice@example.com"]),
        SQLCase(label: "idle and retry settings of later Postfix versions are ignored",
                cf: query + "retry_interval = 5\nidle_interval = 5\n", keys: ["alice@example.com"]),
        SQLCase(label: "empty key", cf: query, keys: [""]),
        // Keys after the first 64 are sent ahead; an error there is read where the query would have run.
        SQLCase(label: "an SQL error for one key in the second read-ahead batch",
                cf: "query = SELECT forw FROM aliases WHERE alias='%s' AND (SELECT 1 UNION SELECT 2 FROM DUAL WHERE '%s' = 'abcde') = 1\n",
                keys: (0..<70).map { "user\($0)@example.com" } + ["alice@example.com", "abcde", "bob@example.com"]),
    ]

    static func login(_ server: MariaDBServer, hosts: String? = nil) -> String {
        "hosts = \(hosts ?? server.hostPort)\nuser = postfix\npassword = \(MariaDBServer.password)\ndbname = mail\n"
    }

    static func compare(_ c: SQLCase, twin: Twin, login: String, sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let file = "\(c.label.filter { $0.isLetter || $0.isNumber }).cf"
        let cf = c.cf.contains("hosts =") ? c.cf : login + c.cf
        twin.write(file, cf)
        for key in c.keys {
            try await twin.sameAsync("postmap", c.flags + ["-q", key, "mysql:./\(file)"], normalize: normalize, sourceLocation: sourceLocation)
        }
        let input = Array(c.keys.map { $0 + "\n" }.joined().utf8)
        try await twin.sameAsync("postmap", c.flags + ["-q", "-", "mysql:./\(file)"], stdin: input, normalize: normalize, sourceLocation: sourceLocation)
        let repeated = Array(repeating: input, count: 140 / max(c.keys.count, 1) + 1).flatMap { $0 }
        try await twin.sameAsync("postmap", c.flags + ["-q", "-", "mysql:./\(file)"], stdin: repeated, normalize: normalize, sourceLocation: sourceLocation)
    }

    /// The suite's server (testdata/sql/mariadb.sql), shared by the tests that only read it.
    static func server() throws -> MariaDBServer { try MariaDBServer.shared.get() }

    /// The same, awaited: the first test starts it without holding a cooperative thread.
    static func sharedServer() async throws -> MariaDBServer { try await MariaDBServer.shared.value() }

    /// A server of the test's own, for a test that stops, freezes or restarts it.
    static func ownServer() throws -> MariaDBServer {
        let sql = try String(contentsOfFile: Paths.inRoot("testdata/sql/mariadb.sql"), encoding: .utf8)
        return try MariaDBServer(sql: sql)
    }

    @Test("lookups through Debian's postmap and ours agree", arguments: DifferentialTests.configReleases)
    func differential(configRelease: DifferentialTests.ConfigRelease) async throws {
        let (mainCf, release) = (configRelease.config, configRelease.release)
        guard release.check(), release.hasModule("mysql") || Oracle.required else { return }
        let server = try await Self.sharedServer()
        let twin = PgSQLTests.twin(mainCf, release: release)
        twin.write("sanity.cf", Self.login(server) + Self.query)
        #expect(try await twin.sameAsync("postmap", ["-q", "alice@example.com", "mysql:./sanity.cf"]).out == "alice@mail.example.com\n")
        #expect(try await twin.sameAsync("postmap", ["-q", "o'brien@example.com", "mysql:./sanity.cf"]).out == "obrien@mail.example.com\n")
        #expect(try await twin.sameAsync("postmap", ["-q", "' OR '1'='1", "mysql:./sanity.cf"]).status == 1)
        for c in Self.cases {
            try await Self.compare(c, twin: twin, login: Self.login(server))
        }
        let bytes: [UInt8] = Array("jos".utf8) + [0xE9] + Array("@example.com\nJOS".utf8) + [0xC9] + Array("@EXAMPLE.COM\n\u{1}x\n".utf8)
        try await twin.sameAsync("postmap", ["-q", "-", "mysql:./sanity.cf"], stdin: bytes, normalize: Self.normalize)
    }

    @Test("hosts forms, option_file and option_group, TLS settings, several tables in one process")
    func hostForms() async throws {
        let server = try await Self.sharedServer()
        let twin = PgSQLTests.twin()
        twin.write("client.cnf", "[client]\nsocket = \(server.socket)\n[postfix]\nport = \(server.port)\nuser = postfix\n")
        let forms: [SQLCase] = [
            SQLCase(label: "inet prefix", cf: Self.login(server, hosts: "inet:\(server.hostPort)") + Self.query, keys: ["alice@example.com"]),
            SQLCase(label: "unix socket", cf: Self.login(server, hosts: "unix:\(server.socket)") + Self.query, keys: ["alice@example.com"]),
            SQLCase(label: "service name as port", cf: Self.login(server, hosts: "127.0.0.1:mysql") + Self.query, keys: ["alice@example.com"]),
            SQLCase(label: "unknown service", cf: Self.login(server, hosts: "127.0.0.1:nosuchservice") + Self.query, keys: ["alice@example.com"]),
            SQLCase(label: "localhost through the option file's socket",
                    cf: Self.login(server, hosts: "localhost") + "option_file = ./client.cnf\n" + Self.query, keys: ["alice@example.com"]),
            SQLCase(label: "option group with the port",
                    cf: "hosts = 127.0.0.1\npassword = \(MariaDBServer.password)\ndbname = mail\noption_file = ./client.cnf\noption_group = postfix\n"
                        + Self.query, keys: ["alice@example.com"]),
            SQLCase(label: "a missing option file", cf: Self.login(server) + "option_file = ./nosuch.cnf\n" + Self.query, keys: ["alice@example.com"]),
            SQLCase(label: "TLS verified against the test authority",
                    cf: Self.login(server) + "tls_CAfile = \(server.caFile)\ntls_verify_cert = yes\n" + Self.query,
                    keys: ["alice@example.com"]),
            SQLCase(label: "TLS in use: the session's protocol",
                    cf: Self.login(server) + "tls_CAfile = \(server.caFile)\ntls_verify_cert = yes\n"
                        + "query = SHOW SESSION STATUS WHERE Variable_name = 'Ssl_version' AND Value LIKE 'TLS%' AND '%s' <> ''\n",
                    keys: ["alice@example.com"]),
            SQLCase(label: "TLS verified against another authority fails",
                    cf: Self.login(server) + "tls_CAfile = \(server.caFile.replacingOccurrences(of: "ca.pem", with: "other.pem"))\n"
                        + "tls_verify_cert = yes\n" + Self.query, keys: ["alice@example.com"]),
            SQLCase(label: "TLS directory of authorities without ours",
                    cf: Self.login(server) + "tls_CApath = /etc/ssl/certs\ntls_verify_cert = yes\n" + Self.query, keys: ["alice@example.com"]),
            SQLCase(label: "a user that requires TLS, without TLS",
                    cf: "hosts = \(server.hostPort)\nuser = tlsonly\npassword = tls-secret\ndbname = mail\n" + Self.query,
                    keys: ["alice@example.com"]),
            SQLCase(label: "a user that requires TLS, with TLS",
                    cf: "hosts = \(server.hostPort)\nuser = tlsonly\npassword = tls-secret\ndbname = mail\ntls_CAfile = \(server.caFile)\n"
                        + Self.query, keys: ["alice@example.com"]),
            SQLCase(label: "TLS ciphers and no verification",
                    cf: Self.login(server) + "tls_ciphers = HIGH\ntls_verify_cert = no\n" + Self.query, keys: ["alice@example.com"]),
            SQLCase(label: "TLS key and certificate that do not exist",
                    cf: Self.login(server) + "tls_key_file = ./nosuch.key\ntls_cert_file = ./nosuch.pem\ntls_CApath = /etc/ssl/certs\n" + Self.query,
                    keys: ["alice@example.com"]),
            SQLCase(label: "bad tls_verify_cert", cf: Self.login(server) + "tls_verify_cert = perhaps\n" + Self.query, keys: ["alice@example.com"]),
            SQLCase(label: "bad require_result_set", cf: Self.login(server) + "require_result_set = 2\n" + Self.query, keys: ["alice@example.com"]),
        ]
        for c in forms { try await Self.compare(c, twin: twin, login: Self.login(server)) }
        // TLS is really in use, and a TLS-only user gets in with it.
        twin.write("tlsversion.cf", Self.login(server) + "tls_CAfile = \(server.caFile)\ntls_verify_cert = yes\n"
                    + "query = SHOW SESSION STATUS WHERE Variable_name = 'Ssl_version' AND '%s' <> ''\n")
        let version = try await twin.sameAsync("postmap", ["-q", "x", "mysql:./tlsversion.cf"])
        #expect(version.out.hasPrefix("Ssl_version,TLSv1."), "\(version)")
        twin.write("tlsonly.cf", "hosts = \(server.hostPort)\nuser = tlsonly\npassword = tls-secret\ndbname = mail\ntls_CAfile = \(server.caFile)\n"
                    + Self.query)
        #expect(try await twin.sameAsync("postmap", ["-q", "alice@example.com", "mysql:./tlsonly.cf"]).out == "alice@mail.example.com\n")
        twin.write("one.cf", Self.login(server) + "query = SELECT transport FROM domains WHERE domain='%d'\n")
        twin.write("two.cf", Self.login(server) + Self.query)
        try await twin.sameAsync("postmap", ["-q", "-", "mysql:./two.cf", "mysql:./one.cf"],
                      stdin: Array("alice@example.com\ninfo@example.org\nnobody@example.net\n".utf8))
    }

    @Test("legacy main.cf form and configuration errors")
    func configuration() async throws {
        let server = try await Self.sharedServer()
        let main = """
            compatibility_level = 3.6
            my_host = 127.0.0.1:\(server.port)
            mydata_hosts = $my_host
            mydata_user = postfix
            mydata_password = \(MariaDBServer.password)
            mydata_dbname = mail
            mydata_query = SELECT forw FROM aliases WHERE alias='%s'
            mydata_result_format = <%s>
            broken_hosts = $my_host
            broken_dbname = mail
            broken_require_result_set = maybe

            """
        let twin = Twin(mainCf: main)
        for key in ["alice@example.com", "bob@example.com", "nobody@example.com"] {
            try await twin.sameAsync("postmap", ["-q", key, "mysql:mydata"])
        }
        try await twin.sameAsync("postmap", ["-q", "alice@example.com", "mysql:broken"])
        let login = Self.login(server)
        let bad: [String: String] = [
            "nodbname": "hosts = \(server.hostPort)\n" + Self.query,
            "limit": login + Self.query + "expansion_limit = 2x\n",
            "querytemplate": login + "query = SELECT '%x'\n",
            "notable": login + "select_field = forw\nwhere_field = alias\n",
            "emptyformat": login + Self.query + "result_format =\n",
        ]
        for (name, cf) in bad.sorted(by: { $0.key < $1.key }) {
            twin.write("\(name).cf", cf)
            try await twin.sameAsync("postmap", ["-q", "alice@example.com", "mysql:./\(name).cf"])
        }
        twin.write("ok.cf", login + Self.query)
        try await twin.sameAsync("postmap", ["-q", "alice@example.com", "mysql:./missing.cf"])
        try await twin.sameAsync("postmap", ["-s", "mysql:./ok.cf"])
        try await twin.sameAsync("postmap", ["-d", "alice@example.com", "mysql:./ok.cf"])
    }

    @Test("faults: dead, failover, wrong password, SQL error, stopped and frozen servers")
    func faults() throws {
        let server = try Self.ownServer()
        defer { server.stop() }
        let dead = try Slapd.freePort()
        let twin = Twin()
        let login = Self.login(server)
        twin.write("dead.cf", Self.login(server, hosts: "127.0.0.1:\(dead)") + Self.query)
        twin.write("failover.cf", Self.login(server, hosts: "unix:/nonexistent/mysqld.sock \(server.hostPort)") + Self.query)
        twin.write("wrong.cf", login.replacingOccurrences(of: MariaDBServer.password, with: "not-the-secret") + Self.query)
        twin.write("sqlerror.cf", login + "query = SELECT forw FROM nosuchtable WHERE alias='%s'\n")
        for map in ["dead", "failover", "wrong", "sqlerror"] {
            let o = try twin.same("postmap", ["-q", "alice@example.com", "mysql:./\(map).cf"], normalize: Self.normalize)
            if map == "failover" {
                #expect(o.status == 0 && o.out == "alice@mail.example.com\n", "\(o)")
            } else {
                #expect(o.status == 1 && o.stderr.contains("postmap: fatal: table mysql:./\(map).cf: query error: "), "\(map): \(o)")
            }
            try twin.same("postmap", ["-q", "-", "mysql:./\(map).cf"], stdin: Array("alice@example.com\nbob@example.com\n".utf8),
                          normalize: Self.normalize)
        }
        // Stopped between two lookups of one process.
        twin.write("mid.cf", login + Self.query)
        let runs = try PgSQLFaultTests.twoLookups(twin, "mysql:./mid.cf", before: { try server.startIfStopped() },
                                                  between: { server.stop() })
        for (tool, outcome, _) in runs {
            #expect(outcome.status == 1 && outcome.stderr.contains("query error"), "\(tool): \(outcome)")
        }
        PgSQLFaultTests.expectSame(runs.map { ($0.tool, Self.normalize($0.outcome), $0.elapsed) })
        try server.startIfStopped()
        // Frozen before the connection: the option file's connect-timeout bounds both.
        twin.write("timeout.cnf", "[client]\nconnect-timeout = 2\n")
        twin.write("frozen.cf", login + "option_file = ./timeout.cnf\n" + Self.query)
        server.pause()
        defer { server.resume() }
        var outcomes: [Outcome] = []
        for (tool, dir) in [(Paths.ours("postmap"), twin.ours.url), (Paths.postfix("postmap"), twin.theirs.url)] {
            let started = Date()
            let outcome = try run(tool, ["-c", ".", "-q", "alice@example.com", "mysql:./frozen.cf"], in: dir, timeout: 60)
            #expect(outcome.status == 1, "\(tool): \(outcome)")
            #expect(Date().timeIntervalSince(started) < 30, "\(tool)")
            outcomes.append(Self.normalize(outcome))
        }
        #expect(outcomes[0] == outcomes[1], "ours\n\(outcomes[0])\nPostfix's\n\(outcomes[1])")
        server.resume()
        // Frozen between two lookups: ours gives up after the connect timeout; Postfix's would wait forever.
        let ours = try StreamingQuery(Paths.ours("postmap"), ["-c", ".", "-q", "-", "mysql:./frozen.cf"], in: twin.ours.url)
        ours.send("alice@example.com")
        server.pause()
        ours.send("bob@example.com")
        let (outcome, elapsed) = ours.finish(limit: 60)
        server.resume()
        #expect(outcome.status == 1 && outcome.stderr.contains("mysql:./frozen.cf: query failed: "), "\(outcome)")
        #expect(elapsed < 30, "ours took \(elapsed) s")
    }
}
