import Testing
import PostfixText
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

/// The parameter table of each release: 3.7.11's, and 3.10.13's as a delta over it.
@Suite("the parameter table per release")
struct ParameterTablePerReleaseTests {
    @Test("every parameter of each release's table is found by lookup(_:release:) with all its fields",
          arguments: PostfixRelease.allCases)
    func everyName(release: PostfixRelease) {
        let table = BuiltinParameters.table(for: release)
        #expect(table.map(\.name) == table.map(\.name).sorted { $0.lexicographicallyPrecedes($1) })
        for p in table {
            let found = BuiltinParameters.lookup(p.name, release: release)
            #expect(found?.name == p.name && found?.kind == p.kind && found?.min == p.min && found?.max == p.max
                    && found?.defaultValue == p.defaultValue, "\(String(decoding: p.name, as: UTF8.self))")
        }
    }

    @Test("3.7.11: 831 names postconf -d prints (828 built in, 3 run-time); 3.10.13: 857, 26 more, 12 defaults changed")
    func counts() {
        func printed(_ r: PostfixRelease) -> [[UInt8]: [UInt8]] {
            Dictionary(BuiltinParameters.table(for: r).filter { $0.kind != .legacy }.map { ($0.name, $0.defaultValue) },
                       uniquingKeysWith: { a, _ in a })
        }
        let old = printed(.v3_7), new = printed(.v3_10)
        #expect(old.count == 831)
        #expect(new.count == 857)
        #expect(Set(old.keys).isSubset(of: Set(new.keys)))
        let changed = old.keys.filter { new[$0] != old[$0] }.map { String(decoding: $0, as: UTF8.self) }.sorted()
        // 12 defaults, and mail_version and mail_release_date.
        #expect(changed.count == 14, "\(changed)")
        #expect(BuiltinParameters.lookup(Array("smtpd_forbid_bare_newline".utf8), release: .v3_7)?.defaultValue == Array("no".utf8))
        #expect(BuiltinParameters.lookup(Array("smtpd_forbid_bare_newline".utf8), release: .v3_10)?.defaultValue == Array("normalize".utf8))
        #expect(BuiltinParameters.lookup(Array("use_srv_lookup".utf8), release: .v3_7) == nil)
        #expect(BuiltinParameters.lookup(Array("use_srv_lookup".utf8), release: .v3_10) != nil)
        #expect(BuiltinParameters.dbmsSuffixes(for: .v3_7)["mongodb"] == nil)
        #expect(BuiltinParameters.dbmsSuffixes(for: .v3_10)["mongodb"]?.contains(Array("uri".utf8)) == true)
        #expect(BuiltinParameters.dbmsSuffixes(for: .v3_10)["mysql"]?.count == (BuiltinParameters.dbmsSuffixes(for: .v3_7)["mysql"]?.count ?? 0) + 3)
    }
}
