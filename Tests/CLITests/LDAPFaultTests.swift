import Foundation
import Testing
import TestSupport

/// A server that is down, dies, freezes or comes back: the lookup fails with a temporary error (never
/// "not found"), within the configured timeout, and a later lookup reconnects. Each scenario runs with
/// Debian's postmap and ours against the same server, and their output must agree.
@Suite(.enabled(if: Oracle.enabled(Paths.oracleAvailable && Slapd.available), "needs slapd, openssl and Debian's postfix-ldap"))
struct LDAPFaultTests {
    static let cf = "search_base = dc=example,dc=com\ntimeout = 2\n"

    /// Each postmap (ours, then Debian's) as one `-q -` process: `before`, a lookup of alice, `between`,
    /// a lookup of bob, the end of input, then `after`. Returns what each printed and how long it took to
    /// end once its input closed.
    static func twoLookups(_ twin: Twin, _ map: String, before: () throws -> Void = {}, between: () throws -> Void,
                           after: () throws -> Void = {}) throws -> [(tool: String, outcome: Outcome, elapsed: TimeInterval)] {
        try twin.twoLookups(map, before: before, between: between, after: after)
    }

    @Test("a dead server is a temporary error, not \"not found\"")
    func deadServer() throws {
        let dead = try Slapd.freePort()
        let twin = Twin()
        twin.write("dead.cf", "server_host = 127.0.0.1:\(dead)\n" + Self.cf)
        let outcome = try twin.same("postmap", ["-q", "alice@example.com", "ldap:./dead.cf"])
        #expect(outcome.status == 1)
        #expect(outcome.stderr.contains("Can't contact LDAP server"))
        #expect(outcome.stderr.contains("postmap: fatal: table ldap:./dead.cf: query error"))
        // With -q -, the first key already fails the whole run: no key is reported as absent.
        let stream = try twin.same("postmap", ["-q", "-", "ldap:./dead.cf"], stdin: Array("a@example.com\nb@example.com\n".utf8))
        #expect(stream.status == 1 && stream.stdout.isEmpty)
    }

    @Test("a frozen server (SIGSTOP) times out within the configured timeout")
    func frozenServer() throws {
        let server = try Slapd()
        defer { server.stop() }
        let twin = Twin()
        twin.write("slow.cf", "server_host = \(server.url)\n" + Self.cf)
        server.pause()
        defer { server.resume() }
        for tool in [Paths.ours("postmap"), Paths.postfix("postmap")] {
            let dir = tool == Paths.ours("postmap") ? twin.ours.url : twin.theirs.url
            let started = Date()
            let outcome = try run(tool, ["-c", ".", "-q", "alice@example.com", "ldap:./slow.cf"], in: dir, timeout: 60)
            let elapsed = Date().timeIntervalSince(started)
            #expect(outcome.status == 1, "\(tool)")
            #expect(outcome.stderr.contains("Unable to bind to server \(server.url) with dn empty or implicit: -5 (Timed out)"), "\(outcome)")
            // timeout = 2: well under the 60 s the harness allows, so the timeout was honoured.
            #expect(elapsed < 30, "\(tool) took \(elapsed) s")
        }
    }

    @Test("a server frozen between two lookups of one process times out, it does not hang")
    func frozenMidStream() throws {
        let server = try Slapd()
        defer { server.stop() }
        let twin = Twin()
        twin.write("mid.cf", "server_host = \(server.url)\n" + Self.cf)
        let runs = try Self.twoLookups(twin, "ldap:./mid.cf", between: { server.pause() }, after: { server.resume() })
        for (tool, outcome, elapsed) in runs {
            #expect(outcome.status == 1, "\(tool): \(outcome)")
            #expect(outcome.stderr.contains("dict_ldap_lookup: Search error -5: Timed out"), "\(tool): \(outcome)")
            #expect(elapsed < 30, "\(tool) took \(elapsed) s after its input ended")
        }
        #expect(runs[0].outcome.stderr == runs[1].outcome.stderr)
        #expect(runs[0].outcome.status == runs[1].outcome.status)
    }

    @Test("a server restarted between two lookups: the second lookup reconnects")
    func restartedServer() throws {
        let server = try Slapd()
        defer { server.stop() }
        let twin = Twin()
        twin.write("restart.cf", "server_host = \(server.url)\n" + Self.cf)
        let runs = try Self.twoLookups(twin, "ldap:./restart.cf", between: {
            server.stop()
            try server.start()
        })
        for (tool, outcome, _) in runs {
            #expect(outcome.status == 0, "\(tool): \(outcome)")
            #expect(outcome.out == "alice@example.com\talice@mail.example.com\nbob@example.com\tbob@mail.example.com,bob@backup.example.com\n",
                    "\(tool): \(outcome)")
        }
        #expect(runs[0].outcome == runs[1].outcome)
    }

    @Test("a server that dies between two lookups, with a second server listed: the next lookup fails over")
    func failoverMidStream() throws {
        let first = try Slapd()
        defer { first.stop() }
        let second = try Slapd()
        defer { second.stop() }
        let twin = Twin()
        twin.write("two.cf", "server_host = \(first.url) \(second.url)\n" + Self.cf)
        let runs = try Self.twoLookups(twin, "ldap:./two.cf", before: { try first.start(ifStopped: true) },
                                       between: { first.stop() })
        for (tool, outcome, _) in runs {
            #expect(outcome.status == 0, "\(tool): \(outcome)")
            #expect(outcome.out.hasSuffix("bob@example.com\tbob@mail.example.com,bob@backup.example.com\n"), "\(tool): \(outcome)")
        }
        // Debian's postmap and ours print the same, messages included.
        let (ours, theirs) = (runs[0].outcome, runs[1].outcome)
        #expect(ours.status == theirs.status, "exit status: ours \(ours.status), Postfix's \(theirs.status)")
        #expect(ours.stdout == theirs.stdout, "stdout: ours\n\(ours.out)Postfix's\n\(theirs.out)")
        #expect(ours.stderr == theirs.stderr, "stderr: ours\n\(ours.stderr)Postfix's\n\(theirs.stderr)")
        #expect(ours.out == "alice@example.com\talice@mail.example.com\n"
                    + "bob@example.com\tbob@mail.example.com,bob@backup.example.com\n", "\(ours)")
    }

    @Test("StartTLS and ldaps with a certificate made for the test")
    func tls() throws {
        let server = try Slapd.shared.get()
        let twin = Twin()
        let ca = server.caFile
        let cases: [(String, String)] = [
            ("starttls", "server_host = \(server.url)\nstart_tls = yes\ntls_require_cert = yes\ntls_ca_cert_file = \(ca)\n"),
            ("starttls-v2", "server_host = \(server.url)\nstart_tls = yes\nversion = 2\ntls_ca_cert_file = \(ca)\n"),
            ("starttls-unverified", "server_host = \(server.url)\nstart_tls = yes\n"),
            ("starttls-untrusted", "server_host = \(server.url)\nstart_tls = yes\ntls_require_cert = yes\ntls_ca_cert_file = /etc/ssl/certs/ca-certificates.crt\n"),
            ("ldaps", "server_host = \(server.tlsURL)\ntls_require_cert = yes\ntls_ca_cert_file = \(ca)\n"),
            ("ldaps-v2", "server_host = \(server.tlsURL)\nversion = 2\ntls_ca_cert_file = \(ca)\n"),
            ("ldaps-untrusted", "server_host = \(server.tlsURL)\ntls_require_cert = yes\ntls_ca_cert_file = /etc/ssl/certs/ca-certificates.crt\n"),
            ("ldaps-missing-ca", "server_host = \(server.tlsURL)\ntls_require_cert = yes\ntls_ca_cert_file = /nonexistent/ca.pem\n"),
            ("starttls-bind", "server_host = \(server.url)\nstart_tls = yes\ntls_require_cert = yes\ntls_ca_cert_file = \(ca)\n"
                + "bind_dn = cn=postfix,ou=services,dc=example,dc=com\nbind_pw = postfix-secret\n"),
        ]
        // After a failed TLS handshake, the errno that `query error: %m` prints is whatever libldap and
        // GnuTLS left behind, and it varies from run to run for Postfix too: compare up to it.
        let normalize: (Outcome) -> Outcome = { o in
            var copy = o
            if let r = copy.stderr.range(of: "query error: ") {
                copy.stderr = String(copy.stderr[..<r.upperBound]) + "<errno>\n"
            }
            return copy
        }
        for (name, cf) in cases {
            twin.write("\(name).cf", cf + Self.cf)
            for key in ["alice@example.com", "secret@example.com"] {
                try twin.same("postmap", ["-q", key, "ldap:./\(name).cf"], normalize: normalize)
            }
        }
        let ok = try twin.same("postmap", ["-q", "alice@example.com", "ldap:./starttls.cf"])
        #expect(ok.out == "alice@mail.example.com\n")
        let okTLS = try twin.same("postmap", ["-q", "alice@example.com", "ldap:./ldaps.cf"])
        #expect(okTLS.out == "alice@mail.example.com\n")
        let bound = try twin.same("postmap", ["-q", "secret@example.com", "ldap:./starttls-bind.cf"])
        #expect(bound.out == "secret@vault.example.com\n")
    }

    @Test("StartTLS against a frozen server times out")
    func tlsFrozen() throws {
        let server = try Slapd()
        defer { server.stop() }
        let twin = Twin()
        twin.write("frozen.cf", "server_host = \(server.url)\nstart_tls = yes\nbind = no\n" + Self.cf)
        twin.write("frozen-ldaps.cf", "server_host = \(server.tlsURL)\nbind = no\n" + Self.cf)
        server.pause()
        defer { server.resume() }
        for map in ["ldap:./frozen.cf", "ldap:./frozen-ldaps.cf"] {
            let started = Date()
            let outcome = try run(Paths.ours("postmap"), ["-c", ".", "-q", "alice@example.com", map], in: twin.ours.url, timeout: 60)
            #expect(outcome.status == 1, "\(outcome)")
            #expect(Date().timeIntervalSince(started) < 30)
        }
    }
}

