import Testing
import TestSupport
@testable import Explain
import PostfixText

/// The order of partial keys, checked against vectors written after Postfix's mail_addr_find.in/.ref
/// (own cases covering the same behaviours: extensions, quoting, @domain, local parts, domains and parents).
struct AddressSearchTests {
    /// Run a search whose probe answers from `table` and records every key.
    func keys(_ address: String, strategy: FindStrategy, inForm: AddressForm = .internal, queryForm: AddressForm = .external,
              delimiters: String = "+", local: Set<String> = ["localhost.localdomain"],
              table: [String: String] = [:]) -> (keys: [String], value: String?, ext: String?) {
        var search = AddressSearch(delimiters: Array(delimiters.utf8), myorigin: Array("localdomain".utf8),
                                   resolveLocal: { local.contains(String(decoding: $0, as: UTF8.self)) ? 1 : 0 })
        search.ownerRequestSpecial = true
        var tried: [String] = []
        let outcome = search.find(Array(address.utf8), inForm: inForm, queryForm: queryForm, strategy: strategy) { q in
            let k = String(decoding: q.key, as: UTF8.self)
            tried.append(k + (q.partial ? "" : " (full)"))
            if let v = table[k] { return .found(Array(v.utf8)) }
            return .notFound
        }
        var value: String?
        if case .found(let v) = outcome.result { value = String(decoding: v, as: UTF8.self) }
        return (tried, value, outcome.extensionPart.map { String(decoding: $0, as: UTF8.self) })
    }

    @Test func defaultStrategyRemoteDomain() {
        let r = keys("user+ext@example.com", strategy: .standard)
        #expect(r.keys == ["user+ext@example.com (full)", "user@example.com", "@example.com"])
    }

    @Test func defaultStrategyLocalDomain() {
        let r = keys("user+ext@localhost.localdomain", strategy: .standard)
        #expect(r.keys == ["user+ext@localhost.localdomain (full)", "user@localhost.localdomain", "user+ext", "user", "@localhost.localdomain"])
        // myorigin counts as local too.
        #expect(keys("a@localdomain", strategy: .standard).keys == ["a@localdomain (full)", "a", "@localdomain"])
    }

    @Test func extensionIsReturned() {
        let r = keys("plain1+ext@1.example", strategy: .standard, table: ["plain1@1.example": "plain2@2.example"])
        #expect(r.value == "plain2@2.example" && r.ext == "+ext")
    }

    @Test func quotedLocalPart() {
        // internal "aa bb@cc.example" is asked in external (quoted) form.
        let r = keys("aa bb@cc.example", strategy: .standard, table: ["\"aa bb\"@cc.example": "x"])
        #expect(r.value == "x")
        #expect(r.keys.first == "\"aa bb\"@cc.example (full)")
        // external input is unquoted first, then quoted for the query.
        let e = keys("\"aa bb+ax bx\"@cc.example", strategy: .standard, inForm: .external, table: ["\"aa bb\"@cc.example": "y"])
        #expect(e.value == "y" && e.ext == "+ax bx")
        // external-first falls back to the unquoted form when it differs.
        let l = keys("a.b.@localhost.localdomain", strategy: .standard, queryForm: .externalFirst, table: ["a.b.": "intern-2"])
        #expect(l.value == "intern-2")
        #expect(l.keys.prefix(2) == ["\"a.b.\"@localhost.localdomain (full)", "a.b.@localhost.localdomain (full)"])
    }

    @Test func atDomainAndDomainStrategies() {
        #expect(keys("plain3@3.example", strategy: .standard, table: ["@3.example": "p4"]).value == "p4")
        #expect(keys("plain3@3.example", strategy: [.full, .noExtension, .domain], table: ["3.example": "p4"]).value == "p4")
        #expect(keys("plain2@2.example", strategy: [.full, .noExtension, .domain]).keys == ["plain2@2.example (full)", "2.example"])
    }

    @Test func parentDomains() {
        let pdms = keys("foo@sub.sub.example", strategy: [.full, .noExtension, .domain, .parentMatchesSubdomains])
        #expect(pdms.keys == ["foo@sub.sub.example (full)", "sub.sub.example", "sub.example", "example"])
        let dot = keys("foo@sub.sub.example", strategy: [.full, .noExtension, .domain, .dotParentMatchesSubdomains])
        #expect(dot.keys == ["foo@sub.sub.example (full)", "sub.sub.example", ".sub.example", ".example"])
    }

    @Test func localpartAtHasLessPrecedenceThanDomain() {
        let table = ["ab@": "foo@example", "localhost.localdomain": "@bar.example"]
        let s: FindStrategy = [.full, .noExtension, .domain, .localpartAt]
        #expect(keys("ab@localhost.localdomain", strategy: s, table: table).value == "@bar.example")
        #expect(keys("ab@foo", strategy: s, table: table).value == "foo@example")
        #expect(keys("ab+x@foo", strategy: s).keys == ["ab+x@foo (full)", "ab@foo", "foo", "ab+x@", "ab@"])
    }

    @Test func localpartAtIfLocal() {
        let s: FindStrategy = [.localpartAtIfLocal, .noExtension, .domain]
        let r = keys("ab+ext@localhost.localdomain", strategy: s, table: ["ab@": "foo@example"])
        #expect(r.value == "foo@example" && r.ext == "+ext")
    }

    @Test func severalDelimitersAndSpecialNames() {
        #expect(keys("a-b+c@x.example", strategy: .standard, delimiters: "+-").keys == ["a-b+c@x.example (full)", "a@x.example", "@x.example"])
        // owner-foo, foo-request, postmaster and MAILER-DAEMON are never split.
        #expect(keys("owner-list@x.example", strategy: .standard, delimiters: "-").keys == ["owner-list@x.example (full)", "@x.example"])
        #expect(keys("list-request@x.example", strategy: .standard, delimiters: "-").keys == ["list-request@x.example (full)", "@x.example"])
        #expect(keys("postmaster+x@x.example", strategy: .standard).keys.count == 3)
        // A delimiter at the start is not an extension.
        #expect(keys("+x@x.example", strategy: .standard).keys == ["+x@x.example (full)", "@x.example"])
    }

    @Test func quoting() {
        #expect(String(decoding: AddressSearch.quoteLocal(Array("a b@x".utf8), bareLocalpart: false), as: UTF8.self) == "\"a b\"@x")
        #expect(String(decoding: AddressSearch.quoteLocal(Array("a.b@x".utf8), bareLocalpart: false), as: UTF8.self) == "a.b@x")
        #expect(String(decoding: AddressSearch.unquoteLocal(Array("\"a\\\"b\"@x".utf8)), as: UTF8.self) == "a\"b@x")
    }
}
