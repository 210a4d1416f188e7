import Foundation
import Testing
import TestSupport

/// The `static` table type against Debian's postmap (Postfix's dict_static_test through the CLI, and
/// the operations static does not have).
@Suite(.enabled(if: Oracle.enabled(Paths.oracleAvailable), "needs Debian's postfix package"))
struct StaticTableTests {
    static let names = ["static:fooxx", "static:{ foo xx ", "static:{ foo xx }x", "static:{ foo xx }", "static:{ a  b }",
                        "static:{}", "static:{  }", "static:", "static:{ {a} }", "static:{{a}", "static:{a}}",
                        "static:{\ta\t\n}", "static:ÄÖ", "static:a b", "static:{ x } "]

    static func twin(_ mainCf: String) throws -> Twin {
        let twin = Twin(mainCf: mainCf, files: ["src": Array("a b\n".utf8)])
        let past = Date(timeIntervalSinceNow: -3600)
        for dir in [twin.ours, twin.theirs] {
            try FileManager.default.setAttributes([.modificationDate: past], ofItemAtPath: dir.file("main.cf"))
        }
        return twin
    }

    @Test("lookups and syntax errors", arguments: names, ["compatibility_level = 0\n", "compatibility_level = 3.6\n"])
    func lookups(name: String, config: String) throws {
        let twin = try Self.twin(config)
        try twin.same("postmap", ["-q", "K", name])
        try twin.same("postmap", ["-fq", "K", name])
        try twin.same("postmap", ["-q", "-", name], stdin: Array("get\nfoo\nÄ\n".utf8) + [0x62, 0xFF, 0x0A])
        try twin.same("postmap", ["-uq", "-", name], stdin: Array("get\n".utf8) + [0x62, 0xFF, 0x0A])
        // The table opens only when the first key needs it.
        try twin.same("postmap", ["-q", "-", name], stdin: [])
        try twin.same("postalias", ["-q", "K", name])
    }

    @Test("several maps: first match wins; a bad later map is never opened once a key is found")
    func severalMaps() throws {
        let twin = try Self.twin("compatibility_level = 0\n")
        try twin.same("postmap", ["-q", "k", "static:A", "static:B"])
        try twin.same("postmap", ["-q", "-", "static:{ a b }", "static:{ y"], stdin: Array("get\nfoo\n".utf8))
        try twin.same("postmap", ["-q", "-", "hash:nosuch", "static:{ y"], stdin: Array("get\n".utf8))
        try twin.same("postmap", ["-q", "k", "static:{ y", "static:A"])
    }

    @Test("-s, -d, -i and creation are refused with Postfix's texts")
    func unsupported() throws {
        let twin = try Self.twin("compatibility_level = 0\n")
        for args in [["-s", "static:foo"], ["-s", "static:{ x"], ["-d", "k", "static:foo"], ["-d", "-", "static:foo"],
                     ["-i", "static:foo"], ["-i", "static:{ x"], ["-i", "static:"], ["static:src"], ["static:nosrc"],
                     ["static:{ x"], ["-d", "k", "static:{ x"]] {
            try twin.same("postmap", args, stdin: Array("a b\n".utf8))
            try twin.same("postalias", args, stdin: Array("a: b\n".utf8))
        }
        try twin.same("postmap", ["-d", "-", "static:x"], stdin: [])
    }
}
