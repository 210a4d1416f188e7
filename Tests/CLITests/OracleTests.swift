import Foundation
import Testing
import TestSupport

/// Under `make test` (REQUIRE_ORACLE=1) every oracle the suite compares with must be installed: one
/// failure here names whatever is missing, before the tests that need it fail on their own.
@Suite struct OracleTests {
    static let needed: [(String, String)] = [
        ("/usr/sbin/postmap", "postfix"), ("/usr/sbin/postalias", "postfix"), ("/usr/sbin/postconf", "postfix"),
        ("/usr/share/postfix/main.cf.dist", "postfix"), ("/usr/lib/postfix/postfix-lmdb.so", "postfix-lmdb"),
        ("/usr/lib/postfix/postfix-pcre.so", "postfix-pcre"), ("/usr/lib/postfix/postfix-ldap.so", "postfix-ldap"),
        ("/usr/sbin/slapd", "slapd"), ("/usr/sbin/slapadd", "slapd"), ("/usr/bin/openssl", "openssl"),
    ]

    @Test("REQUIRE_ORACLE=1: Debian's Postfix, its plugins and slapd are installed",
          .enabled(if: Oracle.required, "REQUIRE_ORACLE is not set"))
    func installed() {
        let missing = Self.needed.filter { !FileManager.default.fileExists(atPath: $0.0) }
        #expect(missing.isEmpty, "missing: \(missing.map { "\($0.0) (package \($0.1))" }.joined(separator: ", "))")
    }
}
