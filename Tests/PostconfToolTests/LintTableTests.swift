import Foundation
import Maps
@testable import PostconfTool
import Testing

/// A configuration directory removed when the value is dropped.
final class ConfigDir {
    let path: String
    init(_ files: [String: String]) {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("lint-\(UUID().uuidString)").path
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        for (name, text) in files {
            let file = path + "/" + name
            _ = FileManager.default.createFile(atPath: file, contents: Data(text.replacingOccurrences(of: "DIR", with: path).utf8))
            if name == "main.cf" {
                try? FileManager.default.setAttributes([.modificationDate: Date().addingTimeInterval(-3600)], ofItemAtPath: file)
            }
        }
    }
    deinit { try? FileManager.default.removeItem(atPath: path) }
}

private func lint(_ files: [String: String]) -> (dir: ConfigDir, findings: [LintFinding]) {
    let dir = ConfigDir(files)
    let run = LintRun(directory: dir.path, program: "postconf")
    run.check()
    return (dir, run.findings)
}

@Suite struct LintTableTests {
    /// Postfix reads the mask with atoi into an unsigned char: /264 is /8, and the rule matches. The lint
    /// uses the table's own parser, so it says nothing (it used to say "bad mask length").
    @Test func cidrMaskThatPostfixWrapsIsAccepted() {
        let (_, findings) = lint(["main.cf": "smtpd_client_restrictions = check_client_access cidr:DIR/clients.cidr\n",
                                  "clients.cidr": "10.0.0.0/264 REJECT\n10.0.0.0/33 REJECT\n"])
        // A finding names its place once: the rule table's file and line, and Postfix's text after them.
        let cidr = findings.filter { $0.file.hasSuffix("/clients.cidr") }

        #expect(!cidr.contains { $0.message.contains("264") })
        #expect(cidr.contains { $0.line == 2 && $0.message == "bad mask length in \"10.0.0.0/33\": skipping this rule" })
    }

    @Test func typesComeFromTheCatalog() {
        let (_, findings) = lint(["main.cf": """
            virtual_alias_maps = randmap:{a,b}, unix:passwd.byname, internal:x, tcp:127.0.0.1:9, netinfo:/nonexistent, nosuch:x
            """ + "\n"])
        let messages = findings.map(\.message)
        #expect(messages.contains("netinfo:/nonexistent: table type netinfo is not supported by this toolkit"))
        #expect(!messages.contains { $0.contains("tcp:") })
        #expect(messages.contains("unsupported dictionary type: nosuch"))
        #expect(!messages.contains { $0.contains("randmap") || $0.contains("unix:") || $0.contains("internal:") })
    }

    /// Every type whose name is a client configuration file has its file checked by postconf --check:
    /// a line without `=` is reported at its line (a type left out of the checks gets no finding there).
    @Test(arguments: MapCatalog.names { $0.files == .clientConfig && $0.isImplemented })
    func everyClientConfigTypeHasItsFileChecked(type: String) {
        let (dir, findings) = lint(["main.cf": "virtual_alias_maps = \(type):DIR/\(type).cf\n",
                                    "\(type).cf": "this line has no equals sign\n"])
        let file = dir.path + "/\(type).cf"
        #expect(findings.contains { $0.file == file && $0.line == 1 && $0.severity == .error }, "\(type): \(findings)")
    }

    @Test func pcreRulesAreParsedByThePcreTable() {
        let (_, findings) = lint(["main.cf": "header_checks = pcre:DIR/h.pcre\n",
                                  "h.pcre": "/ok/ DUNNO\n/(unclosed/ REJECT\n/x/X DUNNO\n"])
        let rules = findings.filter { $0.file.hasSuffix("/h.pcre") }
        #expect(rules.count == 2, "\(rules)")
        #expect(rules.contains { $0.line == 2 && $0.message.hasPrefix("error in regex at offset 9") })
        #expect(rules.contains { $0.line == 3 && $0.message == "ignoring obsolete regexp option \"X\"" })
    }
}
