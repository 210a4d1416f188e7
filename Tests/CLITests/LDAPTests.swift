import Foundation
import Testing
import TestSupport

/// One ldap table configuration and the keys to look up in it.
struct LDAPCase: CustomStringConvertible {
    let label: String
    /// The .cf file without `server_host`, which the test adds (unless the case sets its own).
    let cf: String
    let keys: [String]
    var flags: [String] = []
    var description: String { label }
}

/// The ldap table against a real slapd (testdata/ldap), compared with Debian's postmap and
/// postfix-ldap: the same .cf files, the same keys, identical stdout, stderr and exit status.
@Suite(.enabled(if: Oracle.enabled(Paths.oracleAvailable && Slapd.available), "needs slapd, openssl and Debian's postfix-ldap"))
struct LDAPTests {
    static let base = "search_base = dc=example,dc=com\n"
    static let people = ["alice@example.com", "Alice.Smith@EXAMPLE.com", "bob@example.com", "BOB@Example.COM",
                         "carol@example.com", "dave@sub.dept.example.com", "nobody@example.com", "alice", "@example.com",
                         "postmaster@example.org", "jos\u{e9}@example.com", "JOS\u{c9}@EXAMPLE.COM", "team@example.com"]
    static let hostile = ["*", "star*user@example.com", "star*@example.com", "paren(x)@example.com", "paren(*)@example.com",
                          "back\\slash@example.com", "back\\5cslash@example.com", "evil)(uid=*)@example.com",
                          "*)(objectClass=*", "alice@example.com)(|(uid=*", "\\2a", "a,b+c\"d#e;f<g>h@example.com"]
    static let groups = ["staff@example.com", "nested@example.com", "dynamic@example.com", "terminal@example.com",
                         "outer@example.com", "loop@example.com", "ghost@example.com", "badurl@example.com",
                         "big@example.com", "alice@example.com", "nobody@example.com"]

    static let cases: [LDAPCase] = [
        LDAPCase(label: "plain lookups, multi-valued results", cf: base, keys: people + ["Team@Example.Com"]),
        LDAPCase(label: "plain lookups without folding (-f)", cf: base + "result_format = %S=%s\n", keys: people, flags: ["-f"]),
        LDAPCase(label: "filter metacharacters in keys", cf: base, keys: hostile),
        LDAPCase(label: "filter metacharacters with %u and %d", cf: base + "query_filter = (&(uid=%u)(mailacceptinggeneralid=*@%d))\n",
                 keys: hostile + people),
        LDAPCase(label: "several result attributes", cf: base + "result_attribute = maildrop, mailTransport uid\n", keys: people),
        LDAPCase(label: "an attribute no entry has", cf: base + "result_attribute = mailHost\n", keys: people),
        LDAPCase(label: "result_format with the value's parts", cf: base + "result_format = %u+ext@%d\n", keys: people),
        LDAPCase(label: "result_format with the key's parts", cf: base + "result_format = %U via %D for %S (%%s=%s)\n", keys: people),
        LDAPCase(label: "legacy result_filter", cf: base + "result_filter = smtp:[%s]\n", keys: people),
        LDAPCase(label: "result_format with domain labels", cf: base + "result_format = %s@%1.%2\n", keys: people),
        LDAPCase(label: "domain restriction, literal", cf: base + "domain = example.com, EXAMPLE.net\n",
                 keys: people + ["info@example.net", "x@sub.example.com"]),
        LDAPCase(label: "domain restriction with negation", cf: base + "domain = !example.org, example.org example.com\n",
                 keys: people),
        LDAPCase(label: "domain restriction from a file and a table",
                 cf: base + "domain = ./domains.list, texthash:./domains.table\n", keys: people),
        LDAPCase(label: "domain restriction with a comment", cf: base + "domain = example.com #example.org\n", keys: people),
        LDAPCase(label: "%u in the filter", cf: base + "query_filter = (uid=%u)\nresult_attribute = uid, maildrop\n",
                 keys: people + ["alice", "alice@", "@"]),
        LDAPCase(label: "%d in the filter", cf: base + "query_filter = (&(uid=info)(mailacceptinggeneralid=*@%d))\n",
                 keys: ["x@example.org", "x@example.net", "x", "x@", "x@example.com"]),
        LDAPCase(label: "%1 %2 %3 labels", cf: base + "query_filter = (mailacceptinggeneralid=dave@%3.%2.%1)\n",
                 keys: ["x@sub.dept.example.com", "x@example.com", "x@a.sub.dept.example.com", "x@sub..dept.example.com",
                        "x@.sub.dept.example.com.", "x"]),
        LDAPCase(label: "%S %U %D in the filter", cf: base + "query_filter = (|(mailacceptinggeneralid=%S)(uid=%U)(ou=%D))\n",
                 keys: people),
        LDAPCase(label: "key-dependent search base", cf: "search_base = ou=%d,ou=domains,dc=example,dc=com\n",
                 keys: ["info@example.org", "sales@example.org", "info@example.net", "info@nonexistent.org", "info",
                        "info@a+b,c.org", "x@ex ample.org", "#x@#y"]),
        LDAPCase(label: "search base that does not exist", cf: "search_base = ou=missing,dc=example,dc=com\n",
                 keys: ["alice@example.com", "nobody@example.com"]),
        LDAPCase(label: "empty search base", cf: "", keys: ["alice@example.com"]),
        LDAPCase(label: "scope base", cf: "search_base = uid=alice,ou=people,dc=example,dc=com\nscope = base\nquery_filter = (objectClass=*)\n",
                 keys: ["anything", "alice@example.com"]),
        LDAPCase(label: "scope one", cf: "search_base = ou=people,dc=example,dc=com\nscope = one\n", keys: people),
        LDAPCase(label: "scope one above the entries", cf: "search_base = dc=example,dc=com\nscope = ONE\n", keys: people),
        LDAPCase(label: "scope sub below the entries", cf: "search_base = ou=groups,dc=example,dc=com\nscope = sub\n", keys: people),
        LDAPCase(label: "size limit exceeded", cf: base + "size_limit = 3\n", keys: ["team@example.com", "alice@example.com"]),
        LDAPCase(label: "size limit met", cf: base + "size_limit = 5\n", keys: ["team@example.com"]),
        LDAPCase(label: "expansion limit", cf: base + "expansion_limit = 2\n", keys: ["team@example.com", "bob@example.com", "alice@example.com"]),
        LDAPCase(label: "groups: special attributes", cf: base + "special_result_attribute = member, memberURL\n", keys: groups),
        LDAPCase(label: "groups: special and leaf attributes",
                 cf: base + "special_result_attribute = member memberURL\nleaf_result_attribute = mailForwardingAddress\n", keys: groups),
        LDAPCase(label: "groups: special, leaf and terminal attributes",
                 cf: base + "special_result_attribute = member memberURL\nleaf_result_attribute = mailForwardingAddress\n"
                    + "terminal_result_attribute = mailTerminalAddress\n", keys: groups),
        LDAPCase(label: "groups: recursion limit 2", cf: base + "special_result_attribute = member\nrecursion_limit = 2\n", keys: groups),
        LDAPCase(label: "groups: size limit inside a group", cf: base + "special_result_attribute = member memberURL\nsize_limit = 4\n",
                 keys: groups),
        LDAPCase(label: "groups: expansion limit", cf: base + "special_result_attribute = member memberURL\nexpansion_limit = 3\n",
                 keys: groups),
        LDAPCase(label: "groups: URL attributes narrowed",
                 cf: base + "special_result_attribute = memberURL\nresult_attribute = maildrop mailTransport\n", keys: groups),
        LDAPCase(label: "bind as a service account", cf: base + "bind_dn = cn=postfix,ou=services,dc=example,dc=com\nbind_pw = postfix-secret\n",
                 keys: ["secret@example.com", "alice@example.com"]),
        LDAPCase(label: "bind with a wrong password", cf: base + "bind_dn = cn=postfix,ou=services,dc=example,dc=com\nbind_pw = not-the-secret\n",
                 keys: ["secret@example.com"]),
        LDAPCase(label: "anonymous, no bind", cf: base + "bind = no\n", keys: ["secret@example.com", "alice@example.com"]),
        LDAPCase(label: "bind = none, simple, YES", cf: base + "bind = none\n", keys: ["alice@example.com"]),
        LDAPCase(label: "dereference, referrals, version 2, debuglevel 0",
                 cf: base + "dereference = 3\nchase_referrals = yes\nversion = 2\ndebuglevel = 0\n", keys: ["alice@example.com"]),
        LDAPCase(label: "odd values that only warn",
                 cf: base + "scope = everything\nversion = 7\ndereference = 9\ncache = yes\ncache_expiry = 30\ncache_size = 1000\n"
                    + "query_filter = (uid=alice)\n", keys: ["whatever"]),
        LDAPCase(label: "empty key", cf: base, keys: [""]),
    ]

    /// Run `postmap -q` for each key, and `-q -` with all of them, in Postfix and ours.
    static func compare(_ c: LDAPCase, twin: Twin, server: Slapd, sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let file = "\(c.label.filter { $0.isLetter || $0.isNumber }).cf"
        let cf = c.cf.contains("server_host") ? c.cf : "server_host = \(server.url)\n" + c.cf
        twin.write(file, cf)
        for key in c.keys {
            try await twin.sameAsync("postmap", c.flags + ["-q", key, "ldap:./\(file)"], sourceLocation: sourceLocation)
        }
        let input = Array(c.keys.map { $0 + "\n" }.joined().utf8)
        try await twin.sameAsync("postmap", c.flags + ["-q", "-", "ldap:./\(file)"], stdin: input, sourceLocation: sourceLocation)
        // More than one read-ahead batch (64 keys): later batches are sent ahead on the open connection.
        let repeated = Array(repeating: input, count: 140 / max(c.keys.count, 1) + 1).flatMap { $0 }
        try await twin.sameAsync("postmap", c.flags + ["-q", "-", "ldap:./\(file)"], stdin: repeated, sourceLocation: sourceLocation)
    }

    static func twin(_ mainCf: String = "compatibility_level = 0\n", release: OracleRelease = .v3_7) -> Twin {
        let twin = Twin(mainCf: mainCf, release: release)
        twin.write("domains.list", "# domains served here\nexample.org\n!example.net example.com\n")
        twin.write("domains.table", "example.com ok\n")
        return twin
    }

    @Test("lookups through Debian's postmap and ours agree", arguments: DifferentialTests.configReleases)
    func differential(configRelease: DifferentialTests.ConfigRelease) async throws {
        let (mainCf, release) = (configRelease.config, configRelease.release)
        guard release.check(), release.hasModule("ldap") || Oracle.required else { return }
        let server = try await Slapd.shared.value()
        let twin = Self.twin(mainCf, release: release)
        for c in Self.cases {
            try await Self.compare(c, twin: twin, server: server)
        }
    }

    @Test("server_host forms, failover and several tables in one process")
    func serverHosts() async throws {
        let server = try await Slapd.shared.value()
        let dead = try Slapd.freePort()
        let twin = Self.twin()
        let hostPort = server.url.replacingOccurrences(of: "ldap://", with: "")
        let hostOnly = LDAPCase(label: "host and server_port", cf: "server_host = 127.0.0.1\nserver_port = \(server.port)\n" + Self.base,
                                keys: ["alice@example.com"])
        let forms: [LDAPCase] = [
            LDAPCase(label: "host:port", cf: "server_host = \(hostPort)\n" + Self.base, keys: ["alice@example.com", "bob@example.com"]),
            hostOnly,
            LDAPCase(label: "URL list, first dead", cf: "server_host = ldap://127.0.0.1:\(dead)/, \(server.url)/\n" + Self.base,
                     keys: ["alice@example.com", "bob@example.com"]),
            LDAPCase(label: "host list, first dead", cf: "server_host = 127.0.0.1:\(dead) \(hostPort)\n" + Self.base,
                     keys: ["alice@example.com"]),
            LDAPCase(label: "only a dead server", cf: "server_host = 127.0.0.1:\(dead)\n" + Self.base, keys: ["alice@example.com"]),
            LDAPCase(label: "only a dead server, no bind", cf: "server_host = 127.0.0.1:\(dead)\nbind = no\n" + Self.base,
                     keys: ["alice@example.com"]),
            LDAPCase(label: "a malformed URL is skipped", cf: "server_host = ldap://[oops \(server.url)\n" + Self.base,
                     keys: ["alice@example.com"]),
            LDAPCase(label: "ldapi needs version 3", cf: "server_host = \(server.socketURL)\nversion = 2\n" + Self.base,
                     keys: ["alice@example.com"]),
            LDAPCase(label: "SASL EXTERNAL over ldapi",
                     cf: "server_host = \(server.socketURL)\nbind = sasl\nsasl_mechs = EXTERNAL\n" + Self.base,
                     keys: ["secret@example.com", "alice@example.com"]),
        ]
        for c in forms { try await Self.compare(c, twin: twin, server: server) }
        // Two tables on one server share a connection; the first that finds a key wins.
        twin.write("one.cf", "server_host = \(server.url)\n\(Self.base)result_attribute = mailTransport\n")
        twin.write("two.cf", "server_host = \(server.url)\n\(Self.base)\n")
        for key in ["alice@example.com", "carol@example.com", "nobody@example.com"] {
            try await twin.sameAsync("postmap", ["-q", key, "ldap:./one.cf", "ldap:./two.cf"])
        }
        try await twin.sameAsync("postmap", ["-q", "-", "ldap:./one.cf", "ldap:./two.cf"],
                      stdin: Array("alice@example.com\ncarol@example.com\nnobody@example.com\n".utf8))
    }

    @Test("legacy main.cf form: NAME_parameter with $name expansion")
    func mainCfForm() async throws {
        let server = try await Slapd.shared.value()
        let main = """
            compatibility_level = 3.6
            ldap_host = 127.0.0.1:\(server.port)
            ldapdata_server_host = $ldap_host
            ldapdata_search_base = dc=example,dc=com
            ldapdata_result_attribute = maildrop, mailTransport
            ldapdata_result_format = <%s>
            broken_server_host = $ldap_host
            broken_timeout = soon
            badbool_server_host = $ldap_host
            badbool_start_tls = maybe
            short_server_host =
            minimum_server_host = $ldap_host
            minimum_recursion_limit = 0

            """
        let twin = Twin(mainCf: main)
        for key in ["alice@example.com", "bob@example.com", "nobody@example.com"] {
            try await twin.sameAsync("postmap", ["-q", key, "ldap:ldapdata"])
        }
        for map in ["ldap:broken", "ldap:badbool", "ldap:short", "ldap:minimum"] {
            try await twin.sameAsync("postmap", ["-q", "alice@example.com", map])
        }
    }

    @Test("configuration errors and refused operations")
    func configurationErrors() async throws {
        let server = try await Slapd.shared.value()
        let twin = Self.twin()
        let host = "server_host = \(server.url)\n"
        let bad: [String: String] = [
            "timeout": host + "timeout = 10s\n",
            "overflow": host + "size_limit = 99999999999\n",
            "boolean": host + "start_tls = perhaps\n",
            "bind": host + "bind = kerberos\n",
            "query": host + "query_filter = (cn=%x)\n",
            "result": host + "result_format = %s%\n",
            "base": host + "search_base = ou=%z\n",
            "emptyhost": "server_host =\n",
            "emptyscope": host + "scope =\n",
            "emptyfilter": host + "result_filter =\n",
            "version": host + "version = 1\n",
            "recursion": host + "recursion_limit = 0\n",
            "minssf": host + "bind = sasl\nsasl_minssf = 5000\n",
            "syntax": host + "this line has no equals sign\n",
            "override": host + Self.base + "search_base = ou=people,dc=example,dc=com\n",
            "nodomainfile": host + "domain = /nonexistent/domains\n",
            "bang": host + "domain = example.com, !\n",
        ]
        for (name, cf) in bad.sorted(by: { $0.key < $1.key }) {
            twin.write("\(name).cf", cf)
            try await twin.sameAsync("postmap", ["-q", "alice@example.com", "ldap:./\(name).cf"])
        }
        twin.write("ok.cf", host + Self.base)
        try await twin.sameAsync("postmap", ["-q", "alice@example.com", "ldap:./missing.cf"])
        try await twin.sameAsync("postmap", ["-q", "alice@example.com", "ldap:/nonexistent/dir/x.cf"])
        try await twin.sameAsync("postmap", ["-s", "ldap:./ok.cf"])
        try await twin.sameAsync("postmap", ["ldap:./ok.cf"])
        try await twin.sameAsync("postmap", ["-i", "ldap:./ok.cf"], stdin: Array("a b\n".utf8))
        try await twin.sameAsync("postmap", ["-d", "alice@example.com", "ldap:./ok.cf"])
        try await twin.sameAsync("postalias", ["-q", "alice@example.com", "ldap:./ok.cf"])
    }

    @Test("the password never appears in a message")
    func passwordHidden() async throws {
        let server = try await Slapd.shared.value()
        let dead = try Slapd.freePort()
        let twin = Self.twin()
        let secret = "Sup3r-S3cret-Passw0rd"
        let configs = [
            "server_host = \(server.url)\n\(Self.base)bind_dn = cn=postfix,ou=services,dc=example,dc=com\nbind_pw = \(secret)\n",
            "server_host = 127.0.0.1:\(dead)\n\(Self.base)bind_dn = cn=postfix,ou=services,dc=example,dc=com\nbind_pw = \(secret)\n",
            "server_host = \(server.url)\n\(Self.base)bind_pw = \(secret)\nbind = sasl\nsasl_mechs = PLAIN\n",
            "server_host = \(server.url)\n\(Self.base)bind_pw = \(secret)\ntimeout = bad\n",
        ]
        for (n, cf) in configs.enumerated() {
            twin.write("pw\(n).cf", cf)
            let outcome = try await twin.sameAsync("postmap", ["-v", "-q", "secret@example.com", "ldap:./pw\(n).cf"],
                                        normalize: { o in var c = o; c.stderr = ""; return c })
            #expect(!outcome.stderr.contains(secret))
            #expect(!outcome.out.contains(secret))
        }
    }
}
