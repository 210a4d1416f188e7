import Maps
import MapsLDAP
import Testing

/// The % templates of database client tables (Postfix's db_common), without a server.
@Suite struct QueryTemplateTests {
    final class Warnings: @unchecked Sendable { var lines: [String] = [] }

    func expand(_ formats: [(String, Bool)], _ format: String, value: String, key: String? = nil,
                quote: ((ArraySlice<UInt8>, inout [UInt8]) -> Void)? = nil, warnings: Warnings = Warnings()) throws -> String? {
        var t = QueryTemplates(type: "ldap", name: "test.cf")
        for (f, query) in formats { _ = try t.parse(Array(f.utf8), query: query) }
        var out: [UInt8] = []
        let d = Diagnostics(warning: { warnings.lines.append($0) })
        guard t.expand(Array(format.utf8), value: Array(value.utf8), key: key.map { Array($0.utf8) }, into: &out,
                       quote: quote, diagnostics: d) else { return nil }
        return String(decoding: out, as: UTF8.self)
    }

    @Test func filterQuotingStopsInjection() throws {
        let f = "(mail=%s)"
        #expect(try expand([(f, true)], f, value: "*)(uid=*", quote: QueryTemplates.quoteFilter) == "(mail=\\2A\\29\\28uid=\\2A)")
        #expect(try expand([(f, true)], f, value: "back\\slash", quote: QueryTemplates.quoteFilter) == "(mail=back\\5Cslash)")
    }

    @Test func dnQuoting() throws {
        let f = "ou=%d,dc=example"
        #expect(try expand([(f, true)], f, value: "u@a+b,c d#e", quote: QueryTemplates.quoteDN) == "ou=a\\2Bb\\2Cc\\20d\\23e,dc=example")
    }

    @Test func partsAndSkips() throws {
        let q = "(&(uid=%u)(dc=%d))"
        #expect(try expand([(q, true)], q, value: "alice@example.com") == "(&(uid=alice)(dc=example.com))")
        #expect(try expand([(q, true)], q, value: "alice") == nil)          // %d needs a domain
        #expect(try expand([(q, true)], q, value: "@example.com") == nil)   // %u needs a local part
        #expect(try expand([(q, true)], q, value: "alice@") == nil)         // empty domain
        let labels = "%3.%2.%1"
        #expect(try expand([(labels, true)], labels, value: "x@a.b.c.d") == "b.c.d")
        #expect(try expand([(labels, true)], labels, value: "x@c.d") == nil)
        #expect(try expand([(labels, true)], labels, value: "x@a..c.d") == "a.c.d") // runs of dots make no empty label
    }

    @Test func resultTemplatesUseTheValueAndTheKey() throws {
        let r = "%u at %d for %U (%S) %%"
        #expect(try expand([(r, false)], r, value: "bob@mail.example.com", key: "Bob@Example.com")
                == "bob at mail.example.com for Bob (Bob@Example.com) %")
        #expect(try expand([(r, false)], r, value: "bob", key: "bob@example.com") == nil) // value without a domain
        let w = Warnings()
        #expect(try expand([(r, false)], r, value: "", key: "k", warnings: w) == nil)
        #expect(w.lines == ["table \"ldap:test.cf\": empty lookup result for: \"k\" -- ignored"])
    }

    @Test func invalidTemplatesAreFatal() {
        var t = QueryTemplates(type: "ldap", name: "test.cf")
        #expect(throws: MapError.self) { _ = try t.parse(Array("(cn=%x)".utf8), query: true) }
        #expect(throws: MapError.self) { _ = try t.parse(Array("trailing %".utf8), query: false) }
        #expect((try? t.parse(Array("(cn=fixed)".utf8), query: true)) == false)
        #expect((try? t.parse(Array("%%".utf8), query: true)) == false)
    }
}
