import Foundation
import Testing
import TestSupport

/// `postconf --check` reads pgsql and mysql client files and main.cf settings as it reads ldap's: the
/// values the tables would refuse at their first lookup, unknown names with suggestions, missing files,
/// and a password in a file every user can read.
@Suite struct SQLLintTests {
    @Test("pgsql and mysql client settings: malformed values, unknown names, readable passwords")
    func clientSettings() throws {
        let dir = TempDir("sql-lint")
        dir.write("main.cf", """
            compatibility_level = 3.6
            virtual_alias_maps = pgsql:\(dir.path)/pg.cf, mysql:\(dir.path)/my.cf, pgsql:pgdata, proxy:mysql:\(dir.path)/good.cf
            pgdata_hosts = db.example.com
            pgdata_dbname =
            pgdata_query = SELECT %z

            """)
        dir.write("master.cf", "")
        dir.write("pg.cf", "hosts = db.example.com\ndbname = mail\npassword = secret\nqeury = SELECT forw FROM aliases WHERE alias='%s'\n"
                    + "expansion_limit = 3x\nresult_format = %s%\n")
        dir.write("my.cf", "hosts = db.example.com\ndbname = mail\nquery = SELECT 1 WHERE '%s' = ''\ntls_verify_cert = maybe\n"
                    + "require_result_set = 1\noption_file = /nonexistent/my.cnf\n")
        dir.write("good.cf", "hosts = unix:/run/mysqld/mysqld.sock\nuser = postfix\npassword = secret\ndbname = mail\n"
                    + "query = SELECT forw FROM aliases WHERE alias='%s'\n")
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: dir.file("pg.cf"))
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: dir.file("good.cf"))
        let old = Date().addingTimeInterval(-3600)
        for name in ["main.cf", "master.cf"] {
            try FileManager.default.setAttributes([.modificationDate: old], ofItemAtPath: dir.file(name))
        }
        let out = try run(Paths.ours("postconf"), ["--check", "-c", dir.path], in: dir.url)
        let text = out.out.replacingOccurrences(of: dir.path, with: "DIR")
        let expected = [
            "DIR/pg.cf:3: warning: DIR/pg.cf holds password and every user can read it (mode 644); make it readable by root and postfix only",
            "DIR/pg.cf:4: warning: unused parameter: qeury=SELECT forw FROM aliases WHERE alias='%s' (did you mean query?)",
            "DIR/pg.cf: error: bad string length 0 < 1: table = ",
            "DIR/pg.cf:5: error: bad numerical configuration: expansion_limit = 3x",
            "DIR/pg.cf:6: error: invalid result template: result_format = %s%",
            "DIR/my.cf:4: error: bad boolean configuration: tls_verify_cert = maybe",
            "DIR/my.cf:5: error: bad boolean configuration: require_result_set = 1",
            "DIR/my.cf:6: error: option_file /nonexistent/my.cnf: No such file or directory",
            "DIR/main.cf:4: error: pgsql:pgdata: bad string length 0 < 1: pgdata_dbname = ",
            "DIR/main.cf:5: error: pgsql:pgdata: invalid query template: SELECT %z",
        ]
        for line in expected {
            #expect(text.contains(line + "\n"), "missing: \(line)\n\(text)")
        }
        #expect(!text.contains("good.cf"), "\(text)")
        #expect(!text.contains("not supported by this toolkit"), "\(text)")
        #expect(out.status == 1)
    }
}
