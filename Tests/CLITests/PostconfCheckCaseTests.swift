import Foundation
import Testing
import TestSupport

/// `postconf --check`, one configuration per kind of finding (testdata/postconf/check/CASE: main.cf, files,
/// and `expected`, the whole output with the directory written as DIR), realistic configurations that must
/// be clean (testdata/postconf/good), Debian's main.cf.dist, and agreement with Postfix's own texts.
@Suite struct PostconfCheckCaseTests {
    static let checkRoot = Paths.root.appendingPathComponent("testdata/postconf/check")
    static let goodRoot = Paths.root.appendingPathComponent("testdata/postconf/good")
    static let stockMaster = Paths.root.appendingPathComponent("testdata/postconf/debian/master.cf")

    static var cases: [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: checkRoot.path)) ?? []).sorted()
    }

    /// A copy of a test configuration; Debian's stock master.cf when it has none.
    static func copy(_ source: URL, label: String) throws -> TempDir {
        let dir = TempDir(label)
        for name in try FileManager.default.contentsOfDirectory(atPath: source.path) {
            try FileManager.default.copyItem(atPath: source.appendingPathComponent(name).path, toPath: dir.file(name))
        }
        if !dir.exists("master.cf") { try FileManager.default.copyItem(atPath: stockMaster.path, toPath: dir.file("master.cf")) }
        let old = Date().addingTimeInterval(-3600)
        for name in ["main.cf", "master.cf"] {
            try FileManager.default.setAttributes([.modificationDate: old], ofItemAtPath: dir.file(name))
        }
        return dir
    }

    /// Each case under each release: `expected-3.10` holds 3.10's findings where they differ from 3.7's
    /// (removed restrictions are errors, 3.9's warnings).
    @Test("each case reports exactly its findings, with file and line", arguments: OracleRelease.allCases, cases)
    func checkCase(release: OracleRelease, _ name: String) throws {
        let source = Self.checkRoot.appendingPathComponent(name)
        let dir = try Self.copy(source, label: "check-\(name)")
        try? FileManager.default.removeItem(atPath: dir.file("expected"))
        try? FileManager.default.removeItem(atPath: dir.file("expected-3.10"))
        let out = try run(Paths.ours("postconf"), ["--check", "-c", dir.path], in: dir.url, environment: release.environment)
        let own = source.appendingPathComponent("expected-\(release.rawValue)")
        let file = release != .v3_7 && FileManager.default.fileExists(atPath: own.path) ? own : source.appendingPathComponent("expected")
        let expected = try String(contentsOf: file, encoding: .utf8)
        let text = out.out.replacingOccurrences(of: dir.path, with: "DIR")
        #expect(text == expected, "\(name):\n\(text)")
        #expect(out.status == (expected.contains(": 0 errors,") ? 0 : 1))
        // Each finding names its place once.
        for line in text.split(separator: "\n").dropLast() {
            #expect(!line.dropFirst(4).contains("DIR/main.cf, line") && !line.contains(": DIR/main.cf:"), "\(line)")
        }
    }

    static let goodConfigurations = ["relay-sasl", "virtual-mailbox", "ldap-mailhost"]

    @Test("realistic configurations are clean, under both releases", arguments: OracleRelease.allCases, goodConfigurations)
    func good(release: OracleRelease, _ name: String) throws {
        let dir = try Self.copy(Self.goodRoot.appendingPathComponent(name), label: "good-\(name)")
        for file in try FileManager.default.contentsOfDirectory(atPath: dir.path) where file.hasSuffix(".cf")
            && file != "main.cf" && file != "master.cf" {
            // ldap client files hold bind_pw: readable by root and postfix only.
            try FileManager.default.setAttributes([.posixPermissions: 0o640], ofItemAtPath: dir.file(file))
        }
        let tables = try String(contentsOfFile: dir.file("tables"), encoding: .utf8)
        for line in tables.split(separator: "\n") {
            let words = line.split(separator: " ").map(String.init)
            guard words.count == 2, let colon = words[1].firstIndex(of: ":") else { continue }
            let spec = String(words[1][..<colon]) + ":" + dir.file(String(words[1][words[1].index(after: colon)...]))
            let built = try run(Paths.ours(words[0]), ["-c", dir.path, spec], in: dir.url)
            #expect(built.status == 0, "\(built)")
        }
        let out = try run(Paths.ours("postconf"), ["--check", "-c", dir.path], in: dir.url, environment: release.environment)
        #expect(out.status == 0, "\(out)")
        #expect(out.out == "postconf --check: \(dir.path): 0 errors, 0 warnings\n", "\(out)")
    }

    /// main.cf.dist leaves the paths that postfix-install fills in empty; Postfix's own `postfix check`
    /// refuses it (`postfix: fatal: bad string length 0 < 1: setgid_group = `), and so does lint, for
    /// exactly those. Filled in as Debian installs them, it has no error.
    @Test("main.cf.dist: only the install-time paths; none once they are filled in",
          .enabled(if: FileManager.default.fileExists(atPath: "/usr/share/postfix/main.cf.dist")))
    func mainCfDist() throws {
        let dir = TempDir("check-dist")
        let dist = try String(contentsOfFile: "/usr/share/postfix/main.cf.dist", encoding: .utf8)
        dir.write("main.cf", dist)
        try FileManager.default.copyItem(atPath: Self.stockMaster.path, toPath: dir.file("master.cf"))
        let out = try run(Paths.ours("postconf"), ["--check", "-c", dir.path], in: dir.url)
        let install = ["sendmail_path": "/usr/sbin/sendmail", "newaliases_path": "/usr/bin/newaliases",
                       "mailq_path": "/usr/bin/mailq", "setgid_group": "postdrop",
                       "html_directory": "no", "manpage_directory": "/usr/share/man",
                       "sample_directory": "/usr/share/doc/postfix/examples", "readme_directory": "no"]
        let errors = out.out.split(separator: "\n").filter { $0.contains(": error: ") }
        #expect(errors.count == install.count, "\(out)")
        for e in errors {
            #expect(install.keys.contains { e.hasSuffix("bad string length 0 < 1: \($0) = ") }, "\(e)")
        }
        var filled = dist
        for (name, value) in install { filled = filled.replacingOccurrences(of: "\n\(name) =\n", with: "\n\(name) = \(value)\n") }
        dir.write("main.cf", filled)
        let again = try run(Paths.ours("postconf"), ["--check", "-c", dir.path], in: dir.url)
        #expect(again.status == 0, "\(again)")
        #expect(again.out.contains(": 0 errors, "), "\(again)")
    }

    /// The non-null host bits text of a match list is Postfix's `cidr_match_parse` text, the same one
    /// Debian's cidr table prints for the same pattern.
    @Test("non-null host bits, bad masks and networks: Postfix's own texts", .enabled(if: Paths.oracleAvailable),
          arguments: ["192.0.34.0/8", "10.1.2.3/16", "10.0.0.0/33", "[2001:db8::1]/64", "192.168.1/24", "[::ffff:1.2.3.4]/96"])
    func hostBits(_ pattern: String) throws {
        let dir = TempDir("check-bits")
        dir.write("main.cf", "compatibility_level = 3.6\nmynetworks = \(pattern)\n")
        try FileManager.default.copyItem(atPath: Self.stockMaster.path, toPath: dir.file("master.cf"))
        dir.write("rules.cidr", "\(pattern) OK\n")
        let postfix = try run(Paths.postfix("postmap"), ["-c", dir.path, "-q", "127.0.0.1", "cidr:\(dir.file("rules.cidr"))"], in: dir.url)
        let prefix = "postmap: warning: cidr map \(dir.file("rules.cidr")), line 1: "
        let theirs = postfix.stderr.split(separator: "\n").first { $0.hasPrefix(prefix) }
            .map { String($0.dropFirst(prefix.count)) }?.replacingOccurrences(of: ": skipping this rule", with: "")
        let ours = try run(Paths.ours("postconf"), ["--check", "-c", dir.path], in: dir.url)
        let finding = ours.out.split(separator: "\n").first { $0.contains("main.cf:2: error: mynetworks: ") }
            .map { line -> String in String(line.split(separator: "mynetworks: ", maxSplits: 1).last ?? "") }
        #expect(theirs != nil && finding == theirs, "Postfix: \(postfix.stderr)\nours: \(ours.out)")
    }
}
