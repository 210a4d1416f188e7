import Foundation
import Testing
import TestSupport

/// A PostgreSQL server that is down, dies, freezes, refuses the login or fails the query: the lookup
/// fails with Postfix's warnings and a temporary error (postmap's `query error`), never "not found".
/// Each scenario runs Debian's postmap and ours against the same server, and their output must agree,
/// except where Postfix waits forever (a server frozen after the connection): there ours gives up after
/// the connection's connect_timeout, and the test only shows that Postfix's is still waiting.
@Suite(.enabled(if: Oracle.enabled(Paths.oracleAvailable && PgSQLServer.available), "needs postgresql and Debian's postfix-pgsql"))
struct PgSQLFaultTests {
    static let query = PgSQLTests.query

    /// Each postmap (ours, then Debian's) as one `-q -` process: a lookup of alice, `between`, a lookup
    /// of bob, the end of input, then `after`.
    static func twoLookups(_ twin: Twin, _ map: String, before: () throws -> Void = {}, between: () throws -> Void,
                           after: () throws -> Void = {}) throws -> [(tool: String, outcome: Outcome, elapsed: TimeInterval)] {
        try twin.twoLookups(map, before: before, between: between, after: after)
    }

    static func expectSame(_ runs: [(tool: String, outcome: Outcome, elapsed: TimeInterval)],
                           sourceLocation: SourceLocation = #_sourceLocation) {
        let (ours, theirs) = (runs[0].outcome, runs[1].outcome)
        #expect(ours.status == theirs.status, "exit status: ours \(ours.status), Postfix's \(theirs.status)", sourceLocation: sourceLocation)
        #expect(ours.stdout == theirs.stdout, "stdout: ours\n\(ours.out)Postfix's\n\(theirs.out)", sourceLocation: sourceLocation)
        #expect(ours.stderr == theirs.stderr, "stderr: ours\n\(ours.stderr)Postfix's\n\(theirs.stderr)", sourceLocation: sourceLocation)
    }

    @Test("a dead server is a temporary error, not \"not found\"")
    func deadServer() throws {
        let dead = try Slapd.freePort()
        let twin = Twin()
        twin.write("dead.cf", "hosts = 127.0.0.1:\(dead)\ndbname = postgres\nuser = postfix\n" + Self.query)
        let outcome = try twin.same("postmap", ["-q", "alice@example.com", "pgsql:./dead.cf"])
        #expect(outcome.status == 1)
        #expect(outcome.stderr.contains("postmap: warning: connect to pgsql server 127.0.0.1:\(dead): "))
        #expect(outcome.stderr.contains("postmap: fatal: table pgsql:./dead.cf: query error: "))
        let stream = try twin.same("postmap", ["-q", "-", "pgsql:./dead.cf"], stdin: Array("a@example.com\nb@example.com\n".utf8))
        #expect(stream.status == 1 && stream.stdout.isEmpty)
        // A socket directory without a server.
        twin.write("nosocket.cf", "hosts = unix:/nonexistent/run\ndbname = postgres\n" + Self.query)
        try twin.same("postmap", ["-q", "alice@example.com", "pgsql:./nosocket.cf"])
    }

    @Test("the first host dead, the second alive: the lookup fails over")
    func failover() throws {
        let server = try PgSQLTests.server()
        let dead = try Slapd.freePort()
        let twin = Twin()
        // Unix-domain sockets are tried before TCP hosts, so the dead socket is always first.
        twin.write("two.cf", PgSQLTests.login(server, hosts: "unix:/nonexistent/run, \(server.hostPort)") + Self.query)
        let one = try twin.same("postmap", ["-q", "alice@example.com", "pgsql:./two.cf"])
        #expect(one.status == 0 && one.out == "alice@mail.example.com\n", "\(one)")
        #expect(one.stderr.contains("connect to pgsql server unix:/nonexistent/run: "), "\(one)")
        try twin.same("postmap", ["-q", "-", "pgsql:./two.cf"], stdin: Array("alice@example.com\nbob@example.com\nnobody@example.com\n".utf8))
        // Two TCP hosts: Postfix picks one at random; either way the key is found, at most after one warning.
        twin.write("random.cf", PgSQLTests.login(server, hosts: "127.0.0.1:\(dead) \(server.hostPort)") + Self.query)
        for (tool, dir) in [(Paths.ours("postmap"), twin.ours.url), (Paths.postfix("postmap"), twin.theirs.url)] {
            for _ in 0..<4 {
                let o = try run(tool, ["-c", ".", "-q", "alice@example.com", "pgsql:./random.cf"], in: dir)
                #expect(o.status == 0 && o.out == "alice@mail.example.com\n", "\(tool): \(o)")
                #expect(o.stderr.isEmpty || o.stderr.hasPrefix("postmap: warning: connect to pgsql server 127.0.0.1:\(dead): "),
                        "\(tool): \(o)")
            }
        }
    }

    @Test("a wrong password and a query with an SQL error: Postfix's warnings, then a temporary error")
    func refused() throws {
        let server = try PgSQLTests.server()
        let twin = Twin()
        twin.write("wrong.cf", "hosts = \(server.hostPort)\nuser = postfix\npassword = not-the-secret\ndbname = postgres\n" + Self.query)
        twin.write("nouser.cf", "hosts = \(server.hostPort)\nuser = nosuchuser\npassword = x\ndbname = postgres\n" + Self.query)
        twin.write("nodb.cf", PgSQLTests.login(server).replacingOccurrences(of: "dbname = postgres", with: "dbname = nosuchdb") + Self.query)
        twin.write("sqlerror.cf", PgSQLTests.login(server) + "query = SELECT forw FROM nosuchtable WHERE alias='%s'\n")
        twin.write("syntax.cf", PgSQLTests.login(server) + "query = SELEKT '%s'\n")
        twin.write("runtime.cf", PgSQLTests.login(server) + "query = SELECT 1/0 WHERE '%s' <> ''\n")
        for map in ["wrong", "nouser", "nodb", "sqlerror", "syntax", "runtime"] {
            let o = try twin.same("postmap", ["-q", "alice@example.com", "pgsql:./\(map).cf"])
            #expect(o.status == 1 && o.stdout.isEmpty, "\(map): \(o)")
            #expect(o.stderr.contains("postmap: fatal: table pgsql:./\(map).cf: query error: "), "\(map): \(o)")
            try twin.same("postmap", ["-q", "-", "pgsql:./\(map).cf"], stdin: Array("alice@example.com\nbob@example.com\n".utf8))
        }
        let wrong = try twin.same("postmap", ["-q", "alice@example.com", "pgsql:./wrong.cf"])
        #expect(wrong.stderr.contains("password authentication failed for user \"postfix\""), "\(wrong)")
        #expect(!wrong.stderr.contains("not-the-secret"))
    }

    @Test("a server stopped between two lookups of one process: the second lookup is a temporary error")
    func stoppedMidStream() throws {
        let server = try PgSQLTests.ownServer()
        defer { server.stop() }
        let twin = Twin()
        twin.write("mid.cf", PgSQLTests.login(server) + Self.query)
        let runs = try Self.twoLookups(twin, "pgsql:./mid.cf", before: { try server.startIfStopped() },
                                       between: { server.stop() })
        for (tool, outcome, _) in runs {
            #expect(outcome.status == 1, "\(tool): \(outcome)")
            #expect(outcome.stderr.contains("pgsql query failed: fatal error from host \(server.hostPort): "), "\(tool): \(outcome)")
            #expect(outcome.stderr.contains("postmap: fatal: table pgsql:./mid.cf: query error: "), "\(tool): \(outcome)")
        }
        Self.expectSame(runs)
    }

    @Test("a server restarted between two lookups: Postfix does not retry the host for a minute, nor do we")
    func restartedMidStream() throws {
        let server = try PgSQLTests.ownServer()
        defer { server.stop() }
        let twin = Twin()
        twin.write("restart.cf", PgSQLTests.login(server) + Self.query)
        let runs = try Self.twoLookups(twin, "pgsql:./restart.cf", between: {
            server.stop()
            try server.start()
        })
        for (tool, outcome, _) in runs {
            #expect(outcome.status == 1, "\(tool): \(outcome)")
        }
        Self.expectSame(runs)
    }

    @Test("a server frozen (SIGSTOP) before the connection: connect_timeout bounds both")
    func frozenServer() throws {
        let server = try PgSQLTests.ownServer()
        defer { server.stop() }
        let twin = Twin()
        let uri = "postgresql://postfix:\(PgSQLServer.password)@127.0.0.1:\(server.port)/postgres?connect_timeout=2"
        twin.write("slow.cf", "hosts = \(uri)\ndbname = postgres\n" + Self.query)
        server.pause()
        defer { server.resume() }
        var outcomes: [Outcome] = []
        for (tool, dir) in [(Paths.ours("postmap"), twin.ours.url), (Paths.postfix("postmap"), twin.theirs.url)] {
            let started = Date()
            let outcome = try run(tool, ["-c", ".", "-q", "alice@example.com", "pgsql:./slow.cf"], in: dir, timeout: 60)
            let elapsed = Date().timeIntervalSince(started)
            #expect(outcome.status == 1, "\(tool): \(outcome)")
            #expect(outcome.stderr.contains("timeout expired"), "\(tool): \(outcome)")
            #expect(elapsed < 30, "\(tool) took \(elapsed) s")
            outcomes.append(outcome)
        }
        #expect(outcomes[0] == outcomes[1], "ours\n\(outcomes[0])\nPostfix's\n\(outcomes[1])")
    }

    @Test("a server frozen between two lookups: ours gives up after connect_timeout; Postfix waits forever")
    func frozenMidStream() throws {
        let server = try PgSQLTests.ownServer()
        defer { server.stop() }
        let twin = Twin()
        let uri = "postgresql://postfix:\(PgSQLServer.password)@127.0.0.1:\(server.port)/postgres?connect_timeout=2"
        twin.write("mid.cf", "hosts = \(uri)\ndbname = postgres\n" + Self.query)
        // Ours: a temporary error after about 2 s, with Postfix's form of warning.
        let ours = try StreamingQuery(Paths.ours("postmap"), ["-c", ".", "-q", "-", "pgsql:./mid.cf"], in: twin.ours.url)
        ours.send("alice@example.com")
        server.pause()
        ours.send("bob@example.com")
        let (outcome, elapsed) = ours.finish(limit: 60)
        server.resume()
        #expect(outcome.status == 1, "\(outcome)")
        #expect(outcome.stderr.contains("pgsql query failed: fatal error from host \(uri): timeout: no answer in 2 seconds"), "\(outcome)")
        #expect(outcome.stderr.contains("postmap: fatal: table pgsql:./mid.cf: query error: Connection timed out"), "\(outcome)")
        #expect(elapsed < 30, "ours took \(elapsed) s after its input ended")
        // Postfix's: still waiting 5 s after its input ended; then the test kills it.
        if Oracle.check(Paths.oracleAvailable, "Debian's postfix") {
            let theirs = try StreamingQuery(Paths.postfix("postmap"), ["-c", ".", "-q", "-", "pgsql:./mid.cf"], in: twin.theirs.url)
            theirs.send("alice@example.com")
            server.pause()
            theirs.send("bob@example.com")
            // It must still be waiting 5 s on; an end sooner fails at once.
            let ended = waitUntil(deadline: 5, interval: 0.05) { !theirs.process.isRunning }
            #expect(!ended && theirs.process.isRunning, "Postfix's postmap no longer waits for a frozen server")
            theirs.process.terminate()
            server.resume()
            _ = theirs.finish(limit: 30)
        }
    }
}
