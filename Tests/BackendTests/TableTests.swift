import Foundation
import Maps
import MapsBerkeleyDB
import MapsLMDB
import Testing

let registry = MapRegistry([BerkeleyDBMaps.hash, BerkeleyDBMaps.btree, LMDBMaps.lmdb])

final class Collected: @unchecked Sendable {
    // Only touched from the test's own thread.
    var warnings: [String] = []
    var diagnostics: Diagnostics { Diagnostics(warning: { [self] in warnings.append($0) }) }
}

func b(_ s: String) -> [UInt8] { Array(s.utf8) }

/// Build `name` from records with the library's builder.
func build(_ type: String, _ name: String, _ records: [(String, String)], flags: DictFlags = .commandLineDefault,
           diagnostics: Diagnostics = .silent) throws {
    let builder = try registry.builder(MapSpec(type: type, name: name),
                                       OpenRequest(mode: .readWriteCreate, flags: flags, diagnostics: diagnostics))
    try builder.load { _, sink in
        for (k, v) in records { _ = try sink.put(b(k), b(v)) }
    }
    try builder.commit()
}

func open(_ type: String, _ name: String, mode: AccessMode = .readOnly, flags: DictFlags = .commandLineDefault,
          settings: MapSettings = MapSettings(), diagnostics: Diagnostics = .silent) throws(MapError) -> any LookupTable {
    try registry.open(MapSpec(type: type, name: name), OpenRequest(mode: mode, flags: flags, settings: settings, diagnostics: diagnostics))
}

@Suite(.temporaryDirectory) struct TableTests {
    static let types = ["hash", "btree", "lmdb"]

    @Test(arguments: types)
    func lookupUpdateDeleteSequence(type: String) throws {
        let name = tempName()
        try build(type, name, [("Alpha", "1"), ("beta", "2")])
        let t = try open(type, name, mode: .readWrite)
        #expect(try t.lookup(b("ALPHA")) == b("1"))
        #expect(try t.lookup(b("gamma")) == nil)
        #expect(try t.update(b("Gamma"), b("3")) == .stored)
        #expect(try t.lookup(b("gamma")) == b("3"))
        #expect(try t.delete(b("BETA")) == true)
        #expect(try t.delete(b("beta")) == false)
        var seen: [String: String] = [:]
        try t.forEach { k, v in seen[String(decoding: k, as: UTF8.self)] = String(decoding: v, as: UTF8.self) }
        #expect(seen == ["alpha": "1", "gamma": "3"])
        t.close()
    }

    @Test(arguments: types)
    func trailingNulOnDiskAndProbing(type: String) throws {
        let withNul = tempName(), withoutNul = tempName()
        try build(type, withNul, [("k", "v")])
        try build(type, withoutNul, [("k", "v")], flags: DictFlags.commandLineDefault.union(.tryWithoutNul).subtracting(.tryWithNul))
        // Default readers find both forms; a reader told one form finds only that one.
        #expect(try open(type, withNul).lookup(b("k")) == b("v"))
        #expect(try open(type, withoutNul).lookup(b("k")) == b("v"))
        let onlyNul = DictFlags.commandLineDefault.union(.tryWithNul)
        #expect(try open(type, withoutNul, flags: onlyNul).lookup(b("k")) == nil)
        // The stored key carries the NUL: a raw sequence shows it stripped, as Postfix prints it.
        var keys: [[UInt8]] = []
        try open(type, withNul).forEach { k, _ in keys.append(k) }
        #expect(keys == [b("k")])
    }

    @Test(arguments: types)
    func duplicatePolicies(type: String) throws {
        let c = Collected()
        let name = tempName()
        try build(type, name, [("a", "first"), ("A", "second")], diagnostics: c.diagnostics)
        #expect(try open(type, name).lookup(b("a")) == b("first"))
        let label = type == "lmdb" ? "lmdb:\(name)" : "\(name).db"
        #expect(c.warnings == ["\(label): duplicate entry: \"a\""])

        var replace = DictFlags.commandLineDefault
        replace.setDuplicatePolicy(.replace)
        try build(type, name, [("a", "first"), ("a", "second")], flags: replace)
        #expect(try open(type, name).lookup(b("a")) == b("second"))

        var fatal = DictFlags.commandLineDefault
        fatal.setDuplicatePolicy(.fatal)
        #expect(throws: MapError.self) { try build(type, name, [("a", "1"), ("a", "2")], flags: fatal) }
        // The failed build left the previous table in place.
        #expect(try open(type, name).lookup(b("a")) == b("second"))
    }

    @Test(arguments: types)
    func verbatimRecords(type: String) throws {
        let name = tempName()
        let builder = try registry.builder(MapSpec(type: type, name: name), OpenRequest(mode: .readWriteCreate))
        try builder.load { _, sink in
            _ = try sink.put(b("YP_MASTER_NAME"), b("host"), options: RecordOptions(fold: false, trailingNul: false))
        }
        try builder.commit()
        #expect(try open(type, name).lookup(b("YP_MASTER_NAME")) == nil) // folded lookup misses
        #expect(try open(type, name, flags: [.duplicateWarn]).lookup(b("YP_MASTER_NAME")) == b("host"))
    }

    @Test(arguments: types)
    func abortedBuildKeepsOldTable(type: String) throws {
        let name = tempName()
        try build(type, name, [("k", "old")])
        let builder = try registry.builder(MapSpec(type: type, name: name), OpenRequest(mode: .readWriteCreate))
        struct Stop: Error {}
        #expect(throws: Stop.self) {
            try builder.load { _, sink in
                _ = try sink.put(b("k"), b("new"))
                throw Stop()
            }
        }
        builder.abort()
        #expect(try open(type, name).lookup(b("k")) == b("old"))
        let dir = (name as NSString).deletingLastPathComponent
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir).allSatisfy { !$0.contains(".tmp.") })
    }

    @Test(arguments: types)
    func rebuildKeepsOwnerAndMode(type: String) throws {
        let name = tempName()
        try build(type, name, [("k", "old")])
        let file = name + (type == "lmdb" ? ".lmdb" : ".db")
        chmod(file, 0o640)
        try build(type, name, [("k", "new")])
        let mode = try FileManager.default.attributesOfItem(atPath: file)[.posixPermissions] as? Int
        #expect(mode == 0o640)
    }

    @Test func lmdbGrowsWhenTheMapFills() throws {
        let name = tempName()
        var settings = MapSettings()
        settings.lmdbMapSize = 32 * 1024
        let builder = try registry.builder(MapSpec(type: "lmdb", name: name), OpenRequest(mode: .readWriteCreate, settings: settings))
        var passes = 0
        try builder.load { replay, sink in
            passes += 1
            for n in 0..<5_000 { _ = try sink.put(b("key\(n)"), b(String(repeating: "v", count: 40))) }
        }
        try builder.commit()
        #expect(passes > 1)
        #expect(try open("lmdb", name).lookup(b("key4999")) == b(String(repeating: "v", count: 40)))
        // In-place updates grow it too.
        let t = try open("lmdb", name, mode: .readWrite, settings: settings)
        for n in 5_000..<8_000 { _ = try t.update(b("key\(n)"), b(String(repeating: "w", count: 40))) }
        #expect(try t.lookup(b("key7999")) == b(String(repeating: "w", count: 40)))
    }

    @Test func openErrors() throws {
        #expect(throws: MapError.self) { try open("hash", "/nonexistent/dir/x") }
        do {
            _ = try open("nosuch", "x")
            Issue.record("opened an unknown type")
        } catch {
            #expect(error.message == "unsupported dictionary type: nosuch")
            #expect(error.code == .configuration)
        }
        do {
            _ = try open("hash", "")
            Issue.record("opened an empty name")
        } catch {
            #expect(error.message == "open dictionary: expecting \"type:name\" form instead of \"hash:\"")
        }
        do {
            _ = try open("hash", tempName())
            Issue.record("opened a missing table")
        } catch {
            #expect(error.code == .temporary)
            #expect(error.message.hasSuffix(".db: No such file or directory"))
        }
    }

    @Test(arguments: types)
    func utf8Layer(type: String) throws {
        let name = tempName()
        var settings = MapSettings()
        settings.utf8Enabled = true
        let c = Collected()
        let builder = try registry.builder(MapSpec(type: type, name: name),
                                           OpenRequest(mode: .readWriteCreate, settings: settings, diagnostics: c.diagnostics))
        try builder.load { _, sink in
            _ = try sink.put(b("Straße"), b("1"))
            _ = try sink.put([0x62, 0xFF], b("bad key"))
            _ = try sink.put(b("ok"), [0xFF])
        }
        try builder.commit()
        let t = try open(type, name, settings: settings, diagnostics: c.diagnostics)
        #expect(try t.lookup(b("STRASSE")) == b("1"))
        #expect(try t.lookup([0x62, 0xFF]) == nil)
        #expect(try t.lookup(b("ok")) == nil)
        #expect(c.warnings.count == 3)
        #expect(c.warnings.last?.contains("non-UTF-8 key") == true)
    }
}
