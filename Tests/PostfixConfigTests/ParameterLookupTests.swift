import Testing
import PostfixConfig

/// `BuiltinParameters.lookup` searches the sorted table text instead of parsing it all; it must agree
/// with the parsed table on every name, and find nothing else.
@Suite("parameter lookup by binary search")
struct ParameterLookupTests {
    @Test("every parameter of the table is found with all its fields")
    func everyName() {
        for p in BuiltinParameters.all {
            let found = BuiltinParameters.lookup(p.name)
            #expect(found?.name == p.name)
            #expect(found?.kind == p.kind)
            #expect(found?.min == p.min)
            #expect(found?.max == p.max)
            #expect(found?.defaultValue == p.defaultValue)
        }
    }

    @Test("the table text is sorted by name, as the search needs")
    func sorted() {
        let names = BuiltinParameters.all.map(\.name)
        #expect(zip(names, names.dropFirst()).allSatisfy { $0.lexicographicallyPrecedes($1) })
    }

    @Test("names not in the table, before, between and after its rows", arguments: [
        "", "0", "2bounce_notice_recipien", "2bounce_notice_recipientx", "myhostnam", "myhostname_", "mydomain\t",
        "smtpd_timeou", "zzz", "virtual_uid_maps_", "~",
    ])
    func absent(name: String) {
        #expect(BuiltinParameters.lookup(Array(name.utf8)) == nil)
    }
}
