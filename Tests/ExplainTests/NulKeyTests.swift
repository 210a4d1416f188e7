import Foundation
import Testing
import TestSupport
@testable import Explain

/// Each table line of an indexed table shows both forms of the key, with and without the trailing
/// NUL: the one the lookup tried and the other, with why it was not tried (Postfix's dict flags try
/// both forms until a hit, then only the form that matched).
struct NulKeyTests {
    func config() throws -> TempConfig {
        let c = try TempConfig(mainCF: "", files: ["virtual": "x@example.com y@example.net\n@example.org catch@example.net\n"])
        try "compatibility_level = 3.6\nvirtual_alias_maps = hash:\(c.path)/virtual\n".write(to: c.dir.appendingPathComponent("main.cf"), atomically: true, encoding: .utf8)
        c.settle()
        // Built by Debian's postmap when there is one (the oracle's own file), else by ours.
        let postmap = Paths.oracle ? "/usr/sbin/postmap" : Paths.ours("postmap")
        let r = try run(postmap, ["-c", c.path, "hash:\(c.path)/virtual"])
        #expect(r.status == 0, "\(r.stderr)")
        return c
    }

    /// The table nodes of an explanation, depth first.
    func tables(_ e: Explanation) -> [ExplainNode] {
        var out: [ExplainNode] = []
        func walk(_ n: ExplainNode) { if n.kind == .table { out.append(n) }; n.children.forEach(walk) }
        e.nodes.forEach(walk)
        return out
    }

    @Test func bothFormsAreShown() throws {
        let c = try config()
        let e = try c.explainer().lookup(role: .virtualAliasMaps, subject: Array("q@example.org".utf8), table: nil)
        let t = tables(e)
        #expect(t.count == 4)
        // A miss before any hit tries both forms: nothing left to show.
        #expect(t[0].tried == [Array("q@example.org\0".utf8), Array("q@example.org".utf8)] && t[0].untried.isEmpty)
        // A hit with the NUL form, tried first.
        #expect(t[1].tried == [Array("@example.org\0".utf8)] && t[1].untried == [Array("@example.org".utf8)])
        #expect(t[1].untriedWhy == "the form with NUL answered first")
        // After the hit the table tries only the NUL form; the other is shown as not tried.
        #expect(t[2].tried == [Array("catch@example.net\0".utf8)] && t[2].untried == [Array("catch@example.net".utf8)])
        #expect(t[2].untriedWhy?.contains("DICT_FLAG_TRY1NULL") == true)
        let text = ExplainRenderer.text(e, colour: false)
        #expect(text.contains(#"tried "catch@example.net\x00"; not tried catch@example.net (an earlier hit in this table had the NUL"#), "\(text)")
        let json = ExplainRenderer.json(e)
        #expect(json.contains(#""keys_not_tried": ["catch@example.net"]"#), "\(json)")
    }

    /// Pattern tables have no NUL forms: nothing is added.
    @Test func patternTablesAreLeftAlone() throws {
        let c = try TempConfig(mainCF: "", files: ["re": "/^x@/ y@example.net\n"])
        try "compatibility_level = 3.6\nvirtual_alias_maps = regexp:\(c.path)/re\n".write(to: c.dir.appendingPathComponent("main.cf"), atomically: true, encoding: .utf8)
        c.settle()
        let e = try c.explainer().lookup(role: .virtualAliasMaps, subject: Array("x@example.com".utf8), table: nil)
        #expect(tables(e).allSatisfy { $0.untried.isEmpty })
    }
}
