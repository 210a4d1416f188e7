import Foundation

import PostfixConfig
import PostfixText
import Testing
import TestSupport

func config(_ text: String) throws -> MainConfig {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("cf-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    try Data(text.utf8).write(to: dir.appendingPathComponent("main.cf"))
    return try MainConfig.load(directory: dir.path)
}

@Suite struct MainConfigTests {
    @Test(arguments: [("", "no"), ("compatibility_level = 0\n", "no"), ("compatibility_level = 1\n", "yes"),
                      ("compatibility_level = 3.6\n", "yes"), ("compatibility_level = 3.6\nsmtputf8_enable = no\n", "no")])
    func smtputf8Default(text: String, expected: String) throws {
        #expect(try config(text).value("smtputf8_enable") == expected)
    }

    @Test func expansions() throws {
        let c = try config("""
        a = x
        b = $a-${a}-$(a)
        c = ${a?set}${nothing?set}
        d = ${a:unset}${nothing:unset}
        e = ${a?{yes}:{no}} ${nothing?{yes}:{no}}
        f = ${{10} < {9} ? {lt} : {ge}} ${{abc} < {abd} ? {lt} : {ge}}
        g = ${{3.6} <level {3.10} ? {older} : {newer}}
        h = $$a
        continued = one,
            two
        """)
        #expect(c.value("b") == "x-x-x")
        #expect(c.value("c") == "set")
        #expect(c.value("d") == "unset")
        #expect(c.value("e") == "yes no")
        #expect(c.value("f") == "ge lt")
        #expect(c.value("g") == "older")
        #expect(c.value("h") == "$a")
        #expect(c.value("continued") == "one,    two")
    }

    /// Two parameters that name each other: the expansion stops at Postfix's nesting limit, with its
    /// warning, instead of looping. It runs on a thread of its own with a deadline, so a loop fails the
    /// test instead of hanging the run.
    @Test func recursionTerminates() throws {
        let c = try config("a = $b\nb = $a\n")
        let value = withDeadline(30) { c.value("a") }
        #expect(value != nil, "expanding a = $b, b = $a did not end within 30 s")
        let outcome = MacroExpanderLimitTests.expand("$a", ["a": "$b", "b": "$a"], options: .recurse)
        #expect(outcome.outcome.status.contains(.error))
        #expect(outcome.warnings.first?.hasPrefix("unreasonable macro call nesting: ") == true, "\(outcome.warnings)")
    }

    @Test func overridesWarn() throws {
        let c = try config("a = 1\na = 2\na = 2\n")
        #expect(c.value("a") == "2")
        #expect(c.warnings.count == 1)
        #expect(c.warnings.first?.hasSuffix("main.cf, line 2: overriding earlier entry: a=1") == true)
    }

    @Test func syntaxErrors() {
        #expect(throws: Fatal.self) { try config("no equals sign\n") }
    }

    @Test func hostnameDefaults() throws {
        let c = try config("myhostname = mx.example.com\n")
        #expect(c.value("mydomain") == "example.com")
        let d = try config("")
        #expect(d.value("myhostname")?.contains(".") == true)
    }
}

@Suite struct PostconfTableTests {
    @Test("the parameter table: 828 configuration-table names, 3 run-time, 13 legacy")
    func parameterTable() {
        let kinds = Dictionary(grouping: BuiltinParameters.all, by: \.kind).mapValues(\.count)
        #expect(BuiltinParameters.all.count == 844)
        #expect(kinds[.adhoc] == 3)
        #expect(kinds[.legacy] == 13)
        #expect(kinds[.hostDependent] == 3)
        #expect(BuiltinParameters.lookup(Array("smtpd_expansion_filter".utf8))?.kind == .raw)
        #expect(BuiltinParameters.lookup(Array("smtpd_timeout".utf8))?.defaultValue == Array("${stress?{10}:{300}}s".utf8))
        #expect(BuiltinParameters.dbmsSuffixes["ldap"]?.contains(Array("server_host".utf8)) == true)
    }

    @Test("mac_expand: conditionals, relational operators, levels", arguments: [
        ("$a", "x"), ("${a?{yes}:{no}}", "yes"), ("${zz?{yes}:{no}}", "no"), ("${a:unset}${zz:unset}", "unset"),
        ("${{10} < {9} ? {lt} : {ge}}", "ge"), ("${{abc} < {abd} ? {lt} : {ge}}", "lt"),
        ("${{3.6} <level {3.10} ? {older} : {newer}}", "older"), ("$$a", "$a"), ("${{1} == {1}}", "true"),
    ])
    func expansions(pattern: String, expected: String) {
        let values: [String: String] = ["a": "x"]
        var warnings: [String] = []
        let outcome = MacroExpander.expand(Array(pattern.utf8), options: .recurse, lookup: { name, _ in
            values[String(decoding: name, as: UTF8.self)].map { Array($0.utf8) }
        }, warn: { warnings.append($0) })
        #expect(String(decoding: outcome.text, as: UTF8.self) == expected)
        #expect(warnings.isEmpty)
    }
}
