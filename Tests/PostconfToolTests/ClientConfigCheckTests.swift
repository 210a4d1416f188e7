import Foundation
import Maps
import PostfixConfig
@testable import PostconfTool
import PostfixText
import Testing

/// `postconf --check` checks every client table type (the catalog's `.clientConfig` rows): Postfix's types
/// with their part of `ClientConfigCheck`, any other type from the settings its row declares. A new client
/// type with neither fails here, not silently in the lint.
@Suite struct ClientConfigCheckTests {
    @Test("every .clientConfig row has a check: a part, or declared settings; and names postconf knows")
    func everyClientTypeIsChecked() {
        let rows = MapCatalog.entries.filter { $0.files == .clientConfig && $0.isImplemented }
        #expect(!rows.isEmpty)
        for row in rows {
            #expect(ClientConfigCheck.part(for: row) != nil,
                    "client type \(row.name): no ClientConfigCheck part and no settings declared in its catalog row")
            #expect(BuiltinParameters.clientParameterNames(row.name) != nil,
                    "client type \(row.name): postconf knows none of its parameter names (declare them in its row)")
        }
    }

    @Test("every part belongs to a .clientConfig row of the catalog")
    func everyPartIsAClientType() {
        let types = Set(ClientConfigCheck.types)
        for type in ClientConfigCheck.parts.keys {
            #expect(types.contains(type), "ClientConfigCheck part \(type) is not a .clientConfig row of the catalog")
        }
    }

    /// Postfix's types take their names from Postfix's parameter table: a row that declared them too would
    /// be a second list.
    @Test("only types that Postfix does not have declare their settings")
    func declaredSettingsAreNotPostfixTypes() {
        for row in MapCatalog.entries where !row.clientSettings.isEmpty {
            #expect(BuiltinParameters.dbmsSuffixes[row.name] == nil, "\(row.name): Postfix's parameter table has its names")
            #expect(row.files == .clientConfig, "\(row.name) declares client settings but is not a .clientConfig row")
            #expect(Set(row.clientSettings.map(\.name)).count == row.clientSettings.count, "\(row.name) declares a name twice")
        }
    }

    /// One list of names per type: every name a client module reads through `TableParameters`
    /// (`p.int("timeout", ...)`) is one that postconf knows for a type of that module (Postfix's for its
    /// types, the row's declared settings for any other), so a name read and not declared fails here.
    @Test func everyNameAClientModuleReadsIsKnown() throws {
        let sources = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Sources")
        let rows = MapCatalog.entries.filter { $0.files == .clientConfig && $0.module != nil }
        let reads = try NSRegularExpression(
            pattern: #"\.(?:isSet|checkedString|checkedInt|checkedBool|string|optionalString|int|bool)\(\s*"([A-Za-z0-9_]+)""#)
        for module in Set(rows.compactMap(\.module)).sorted() {
            // Known in some release (3.10 adds names, as pgsql's and mysql's retry_interval).
            let known = Set(rows.filter { $0.module == module }
                .flatMap { row in
                    PostfixRelease.allCases.flatMap { release in
                        BuiltinParameters.dbmsSuffixes(for: release)[row.name]
                            ?? BuiltinParameters.clientParameterNames(declaredBy: row) ?? []
                    }
                }
                .map { String(decoding: $0, as: UTF8.self) })
            let dir = sources.appendingPathComponent(module)
            let files = (FileManager.default.enumerator(atPath: dir.path)?.compactMap { $0 as? String } ?? [])
                .filter { $0.hasSuffix(".swift") }
            var names: Set<String> = []
            for file in files {
                let text = try String(contentsOf: dir.appendingPathComponent(file), encoding: .utf8)
                for match in reads.matches(in: text, range: NSRange(text.startIndex..., in: text)) {
                    if let range = Range(match.range(at: 1), in: text) { names.insert(String(text[range])) }
                }
            }
            #expect(!names.isEmpty, "\(module): no setting read through TableParameters found")
            for name in names.sorted() {
                #expect(known.contains(name), "\(module) reads \(name), which no client row of it declares")
            }
        }
    }

    /// Each part runs for its type: a problem only that part reports is reported.
    @Test(arguments: ClientConfigCheck.parts.keys.sorted())
    func partRunsForItsType(type: String) throws {
        let samples: [String: (text: String, message: String)] = [
            "ldap": ("version = 7\n", "Unknown version 7, using 3."),
            "sqlite": ("query = SELECT x\n", "bad string length 0 < 1: dbpath = "),
            "pgsql": ("dbname = d\nselect_function = f\nquery = %q\n", "invalid query template: %q"),
            "mysql": ("dbname = d\nrequire_result_set = maybe\n", "bad boolean configuration: require_result_set = maybe"),
            "memcache": ("retry_pause = 0\n", "invalid retry_pause parameter value 0 < 1"),
        ]
        let sample = try #require(samples[type], "no sample for part \(type): add one")
        let row = try #require(MapCatalog.entry(named: type))
        let dir = ConfigDir(["\(type).cf": sample.text])
        let findings = check(row, file: dir.path + "/\(type).cf")
        #expect(findings.contains { $0.message.hasSuffix(sample.message) }, "\(findings)")
    }

    /// A type without a part is checked from its row's settings, in the file and in main.cf.
    @Test func declaredSettingsAreChecked() throws {
        let row = Self.example
        let dir = ConfigDir(["example.cf": """
            timeout = 10s
            tls = maybe
            password = secret
            query = SELECT %q
            result_format = %
            ca_file = /nonexistent/ca.pem
            retries = 0
            """ + "\n"])
        let file = dir.path + "/example.cf"
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: file)
        let findings = check(row, file: file)
        let expected: [(LintFinding.Severity, Int?, String)] = [
            (.error, nil, "bad string length 0 < 1: server = "),
            (.error, 1, "bad numerical configuration: timeout = 10s"),
            (.error, 2, "bad boolean configuration: tls = maybe"),
            (.error, 4, "invalid query template: query = SELECT %q"),
            (.error, 5, "invalid result template: result_format = %"),
            (.error, 6, "ca_file /nonexistent/ca.pem: No such file or directory"),
            (.error, 7, "invalid retries parameter value 0 < 1"),
            (.warning, 3, "holds password and every user can read it (mode 644); make it readable by root and postfix only"),
        ]
        for (severity, line, message) in expected {
            #expect(findings.contains { $0.severity == severity && $0.line == line && $0.message.hasSuffix(message) },
                    "\(message): \(findings)")
        }
        #expect(findings.count == expected.count, "\(findings)")

        // A file that names every setting well: nothing to say.
        let good = ConfigDir(["example.cf": "server = s\ntimeout = 5\ntls = yes\nquery = SELECT %s\nresult_format = %s\nretries = 2\n"])
        #expect(check(row, file: good.path + "/example.cf").isEmpty)

        // The main.cf form: NAME_* parameters, reported at their main.cf lines.
        let main = check(row, name: "ex", main: [("ex_server", "s", 1), ("ex_timeout", "x", 2), ("ex_tls", "no", 3)])
        #expect(main.count == 1 && main.first?.line == 2 && main.first?.message.hasSuffix("bad numerical configuration: ex_timeout = x") == true,
                "\(main)")
    }

    /// The declared names are the ones postconf knows for the type (unknown ones are its "unused parameter").
    @Test func declaredNamesAreTheKnownNames() {
        #expect(BuiltinParameters.clientParameterNames(declaredBy: Self.example)?.map { String(decoding: $0, as: UTF8.self) }
                == ["server", "timeout", "tls", "password", "query", "result_format", "ca_file", "retries"])
        #expect(BuiltinParameters.clientParameterNames("ldap") == BuiltinParameters.dbmsSuffixes["ldap"])
        let bare = MapCatalog.Entry.backend("bare", module: "MapsBare", keys: .fixed, buildable: false, files: .clientConfig,
                                            lookups: .waits, postfix: nil, library: nil, summary: "no check")
        #expect(ClientConfigCheck.part(for: bare) == nil)
        #expect(BuiltinParameters.clientParameterNames(declaredBy: bare) == nil)
    }

    /// A client type that Postfix does not have, as a row would declare it.
    static let example = MapCatalog.Entry.backend(
        "example", module: "MapsExample", keys: .fixed, buildable: false, files: .clientConfig, lookups: .waits,
        postfix: nil, library: nil, summary: "an example client",
        settings: [.string("server", min: 1), .number("timeout"), .boolean("tls"), .password("password"),
                   .queryTemplate("query"), .resultTemplate("result_format"), .file("ca_file"), .number("retries", min: 1)])

    struct Finding {
        var severity: LintFinding.Severity
        var file: String
        var line: Int?
        var message: String
    }

    /// The findings of checking `row`'s table `file`, or its main.cf form `name` with `main`'s settings.
    private func check(_ row: MapCatalog.Entry, file: String? = nil, name: String? = nil,
                       main: [(name: String, value: String, line: Int?)] = []) -> [Finding] {
        var findings: [Finding] = []
        let table = file ?? name ?? ""
        let checked = ClientConfigCheck.check(entry: row, name: table, spec: "\(row.name):\(table)", mainFile: "main.cf",
                                              mainValues: { main },
                                              report: { severity, file, line, message, _ in
                                                  findings.append(Finding(severity: severity, file: file, line: line, message: message))
                                              },
                                              atReference: { findings.append(Finding(severity: .error, file: "", line: nil, message: $0)) },
                                              otherTable: { _ in })
        #expect(checked)
        return findings
    }
}
