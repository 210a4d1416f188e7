import Foundation
import Maps
import Testing

/// A directory removed when the value is dropped.
final class Scratch {
    let path: String
    init() {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("maplist-\(UUID().uuidString)").path
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }
    func write(_ name: String, _ text: String) -> String {
        let file = path + "/" + name
        _ = FileManager.default.createFile(atPath: file, contents: Data(text.utf8))
        return file
    }
    deinit { try? FileManager.default.removeItem(atPath: path) }
}

final class Warnings: @unchecked Sendable {
    // Proof: the tests below open and search on their own thread only.
    var items: [String] = []
    var diagnostics: Diagnostics { Diagnostics(warning: { [self] in items.append($0) }) }
}

let builtins = MapRegistry(catalog: MapCatalog.entries, backends: [])

@Suite struct MapListTests {
    @Test func splitsAsMystrtokq() {
        let specs = MapList.split(" regexp:/a, {x},static:{a b} ,unionmap:{inline:{k=v}, static:y}\n\thash:/b ")
        #expect(specs.map(\.description) == ["regexp:/a", ":{x}", "static:{a b}", "unionmap:{inline:{k=v}, static:y}", "hash:/b"])
    }

    @Test func firstTableThatHasTheKeyAnswersWithATrace() throws {
        let s = Scratch()
        let rules = s.write("rules", "# comment\n/^nobody@/ skip\n/@example\\.com$/ from-regexp\n")
        let w = Warnings()
        let list = try MapList(title: "virtual_alias_maps", value: "inline:{a@example.com=from-inline}, regexp:\(rules), static:last",
                               registry: builtins, request: OpenRequest(diagnostics: w.diagnostics))
        let (outcome, trace) = list.find(Array("B@Example.com".utf8))
        guard case .found(let value) = outcome else { Issue.record("not found: \(outcome)"); return }
        #expect(String(decoding: value, as: UTF8.self) == "from-regexp")
        #expect(trace.count == 2)
        #expect(trace[0].table == "inline:{a@example.com=from-inline}")
        #expect(trace[0].detail.keys == [Array("b@example.com".utf8)], "the inline table folds the key")
        if case .notFound = trace[0].outcome {} else { Issue.record("inline answered") }
        #expect(trace[1].detail.rule == RuleLocation(file: rules, line: 3))
        #expect(w.items.isEmpty)
        list.close()
    }

    @Test func partialKeysSkipPatternTables() throws {
        let list = try MapList(title: "t", value: "regexp:{ {/./ pattern} }, static:fixed", registry: builtins, request: OpenRequest())
        let (outcome, trace) = list.find(Array("user@".utf8), keys: .fixed)
        let proxied = try MapList(title: "t", value: "proxy:regexp:{ {/./ pattern} }, static:fixed", registry: builtins,
                                  request: OpenRequest())
        if case .skipped = proxied.find(Array("user@".utf8), keys: .fixed).trace[0].outcome {} else {
            Issue.record("a proxied regexp table was asked for a fixed key")
        }
        guard case .found(let value) = outcome else { Issue.record("\(outcome)"); return }
        #expect(value == Array("fixed".utf8))
        if case .skipped = trace[0].outcome {} else { Issue.record("regexp was asked for a fixed key") }
    }

    @Test func emptyKeyIsNotFoundWithoutLookup() throws {
        let list = try MapList(title: "t", value: "static:x", registry: builtins, request: OpenRequest())
        let (outcome, trace) = list.find([])
        if case .notFound = outcome {} else { Issue.record("\(outcome)") }
        #expect(trace.isEmpty)
    }

    @Test func emptyValueIsAConfigurationErrorAsInMapsFind() throws {
        let w = Warnings()
        let list = try MapList(title: "transport_maps", value: "inline:{k=}", registry: builtins,
                               request: OpenRequest(diagnostics: w.diagnostics))
        let (outcome, _) = list.find(Array("k".utf8))
        guard case .failed(_, let error, opening: false) = outcome else { Issue.record("\(outcome)"); return }
        #expect(error.code == .configuration)
        #expect(w.items == ["transport_maps lookup of k returns an empty string result",
                            "transport_maps should return NO RESULT in case of NOT FOUND"])
    }

    @Test func aFailingTableStopsTheSearchWithATemporaryError() throws {
        let w = Warnings()
        let list = try MapList(title: "t", value: "fail:down, static:never", registry: builtins,
                               request: OpenRequest(diagnostics: w.diagnostics))
        let (outcome, trace) = list.find(Array("k".utf8))
        guard case .failed(let spec, let error, opening: false) = outcome else { Issue.record("\(outcome)"); return }
        #expect(spec.description == "fail:down")
        #expect(error.code == .temporary)
        #expect(trace.count == 1)
        #expect(w.items == ["fail:down lookup error for \"k\""])
    }

    @Test func openErrorsAreThrownEagerlyAndReturnedLazily() throws {
        #expect(throws: MapError.self) {
            try MapList(title: "t", value: "static:a, nosuch:b", registry: builtins, request: OpenRequest())
        }
        let lazy = MapList(title: "t", specs: MapList.split("static:a, nosuch:b"), registry: builtins,
                           request: OpenRequest(), lazily: true)
        if case .found = lazy.find(Array("k".utf8)).outcome {} else { Issue.record("static did not answer") }
    }

    @Test func cidrAndCompositeTraces() throws {
        let s = Scratch()
        let cidr = s.write("clients.cidr", "10.0.0.0/8 first\n192.0.2.0/24 second\n")
        let list = try MapList(title: "t", value: "pipemap:{inline:{k=192.0.2.7}, cidr:\(cidr)}", registry: builtins,
                               request: OpenRequest())
        let (outcome, trace) = list.find(Array("k".utf8))
        guard case .found(let value) = outcome else { Issue.record("\(outcome)"); return }
        #expect(value == Array("second".utf8))
        #expect(trace[0].detail.members.count == 2)
        #expect(trace[0].detail.members[1].detail.rule == RuleLocation(file: cidr, line: 2))
    }

    @Test func proxyOpensTheInnerTableDirectlyAndSaysSo() throws {
        let list = try MapList(title: "t", value: "proxy:inline:{a=b}", registry: builtins, request: OpenRequest())
        let (outcome, trace) = list.find(Array("a".utf8))
        guard case .found(let value) = outcome else { Issue.record("\(outcome)"); return }
        #expect(value == Array("b".utf8))
        #expect(trace[0].detail.notes.contains { $0.contains("opened directly") })
    }
}

@Suite struct MapCatalogTests {
    @Test func rowsAreSortedAndUnique() {
        let names = MapCatalog.entries.map(\.name)
        #expect(names == names.sorted())
        #expect(Set(names).count == names.count)
    }

    @Test func everyPostfix37TypeHasARow() {
        // Debian's `postconf -m` with every postfix-* module, plus the types of other builds.
        for name in ["btree", "cdb", "cidr", "environ", "fail", "hash", "inline", "internal", "ldap", "lmdb", "memcache",
                     "mysql", "nis", "pcre", "pgsql", "pipemap", "proxy", "randmap", "regexp", "sdbm", "socketmap",
                     "sqlite", "static", "tcp", "texthash", "unionmap", "unix"] {
            #expect(MapCatalog.entry(named: name) != nil, "no row for \(name)")
        }
    }

    @Test func builtinRowsAgreeWithTheirOpeners() {
        let problems = builtins.mismatches(with: MapCatalog.entries).filter { !$0.contains("no opener registered") }
        #expect(problems.isEmpty, "\(problems)")
    }
}

@Suite struct NewSimpleTypesTests {
    @Test func randmapAnswersOneOfItsValues() throws {
        let t = try builtins.open(MapSpec(type: "randmap", name: "{a, {b c}, d}"), OpenRequest())
        var seen = Set<[UInt8]>()
        for _ in 0..<200 { if let v = try t.lookup(Array("x".utf8)) { seen.insert(v) } }
        #expect(seen == [Array("a".utf8), Array("{b c}".utf8), Array("d".utf8)])
    }

    @Test func internalTablesStartEmptyAndKeepUpdates() throws {
        let t = try builtins.open(MapSpec(type: "internal", name: "x"), OpenRequest(mode: .readWrite))
        #expect(try t.lookup(Array("K".utf8)) == nil)
        _ = try t.update(Array("K".utf8), Array("v".utf8))
        #expect(try t.lookup(Array("k".utf8)) == Array("v".utf8))
        #expect(try t.delete(Array("K".utf8)))
        #expect(try t.lookup(Array("k".utf8)) == nil)
    }

    @Test func unixPasswdFindsRoot() throws {
        let t = try builtins.open(MapSpec(type: "unix", name: "passwd.byname"), OpenRequest())
        let v = try t.lookup(Array("ROOT".utf8)).map { String(decoding: $0, as: UTF8.self) }
        #expect(v?.hasPrefix("root:") == true)
        #expect(v?.split(separator: ":", omittingEmptySubsequences: false).count == 7)
        #expect(try t.lookup(Array("no-such-user-here".utf8)) == nil)
    }
}
