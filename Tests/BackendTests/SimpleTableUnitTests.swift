import Foundation
import Maps
import PostfixText
import MapsBerkeleyDB
import Testing

/// The simple table types through the library, for what the command line cannot reach.
@Suite(.temporaryDirectory) struct SimpleTableUnitTests {
    static let simple = MapRegistry(SimpleTables.all + [BerkeleyDBMaps.hash])

    static func open(_ spec: String, mode: AccessMode = .readOnly, flags: DictFlags = .commandLineDefault,
                     utf8: Bool = false, diagnostics: Diagnostics = .silent) throws(MapError) -> any LookupTable {
        var settings = MapSettings()
        settings.utf8Enabled = utf8
        return try simple.open(MapSpec(parsing: spec, defaultType: "hash"),
                               OpenRequest(mode: mode, flags: flags, settings: settings, diagnostics: diagnostics))
    }

    static func error(_ body: () throws -> Void) -> MapError? {
        do { try body() } catch let error as MapError { return error } catch { return nil }
        return nil
    }

    @Test("the in-memory hash table keeps a replaced entry in place and survives growth")
    func hashTable() throws {
        var table = PostfixHashTable()
        for n in 0..<100 { table.set(b("key\(n)"), b("v\(n)")) }
        #expect(table.count == 100)
        var before: [[UInt8]] = []
        try table.forEach { k, _ in before.append(k) }
        table.set(b("key7"), b("replaced"))
        var after: [[UInt8]] = []
        try table.forEach { k, _ in after.append(k) }
        #expect(before == after)
        #expect(table.value(for: b("key7")) == b("replaced"))
        let removed = table.remove(b("key8")), again = table.remove(b("key8"))
        #expect(removed && !again)
        #expect(table.value(for: b("key8")) == nil)
        #expect(table.count == 99)
        #expect(Set(after).count == 100)
    }

    @Test("texthash without a duplicate policy: a duplicate is a configuration error")
    func texthashFatalDuplicate() throws {
        let path = tempName()
        #expect(FileManager.default.createFile(atPath: path, contents: Data("a 1\nA 2\n".utf8),
                                               attributes: [.modificationDate: Date(timeIntervalSince1970: 1_577_836_800)]))
        var flags = DictFlags.commandLineDefault
        flags.setDuplicatePolicy(.fatal)
        let failure = Self.error { _ = try Self.open("texthash:\(path)", flags: flags) }
        #expect(failure?.code == .configuration)
        #expect(failure?.message == "\(path), line 2: duplicate entry: \"A\"")
        let table = try Self.open("texthash:\(path)")
        #expect(try table.lookup(b("A")) == b("1"))
    }

    @Test("inline: a name that is not UTF-8 is refused when the UTF-8 layer is on")
    func inlineBadUTF8() throws {
        let name = ByteText.string([0x7B, 0x61, 0x3D, 0xFF, 0x7D]) // {a=\xff}
        let failure = Self.error { _ = try Self.open("inline:\(name)", utf8: true) }
        var expected = Array("bad UTF-8 syntax: \"inline:{a=".utf8)
        expected += [0xFF]
        expected += Array("}\"; need \"inline:{name=value...}\"".utf8)
        let message = failure.map { ByteText.bytes(of: $0.message) }
        #expect(message == expected)
        // Without the layer the bytes are stored as they are.
        let table = try Self.open("inline:\(name)")
        #expect(try table.lookup(b("a")) == [0xFF])
    }

    @Test("fail: every operation is a temporary error, updates only when opened for update")
    func fail() throws {
        let readOnly = try Self.open("fail:down")
        for failure in [Self.error { _ = try readOnly.lookup(b("k")) },
                        Self.error { try readOnly.forEach { _, _ in } }] {
            #expect(failure?.code == .temporary)
        }
        #expect(Self.error { _ = try readOnly.lookup(b("k")) }?.message == "table fail:down: query error: Application error")
        #expect(Self.error { _ = try readOnly.update(b("k"), b("v")) }?.message
            == "table fail:down: update operation is not supported")
        let writable = try Self.open("fail:down", mode: .readWrite)
        #expect(Self.error { _ = try writable.update(b("k"), b("v")) }?.code == .temporary)
        #expect(Self.error { _ = try writable.delete(b("k")) }?.message == "table fail:down: delete error: Application error")
    }

    @Test("environ: lookups fold fixed keys, updates set variables, deletes are unsupported")
    func environ() throws {
        let table = try Self.open("environ:x", mode: .readWrite)
        #expect(try table.update(b("SIMPLE_TABLE_TEST"), b("set")) == .stored)
        #expect(String(cString: getenv("simple_table_test")) == "set")
        #expect(try table.lookup(b("Simple_Table_Test")) == b("set"))
        let exact = try Self.open("environ:x", flags: DictFlags.commandLineDefault.subtracting(.foldFixed))
        #expect(try exact.lookup(b("Simple_Table_Test")) == nil)
        #expect(Self.error { _ = try table.delete(b("simple_table_test")) }?.message
            == "table environ:x: delete operation is not supported")
    }

    @Test("unionmap and pipemap need an opener for their members, and share a member named twice")
    func composites() throws {
        let request = OpenRequest()
        #expect(Self.error { _ = try UnionTable.open("{inline:{a=1}}", request) }?.code == .configuration)
        let union = try Self.open("unionmap:{inline:{a=1}, inline:{a=1}, inline:{a=2}}")
        #expect(try union.lookup(b("A")) == b("1,1,2"))
        union.close()
        // Under the UTF-8 layer the first member's folding applies to the composite, and later members
        // still fold their own keys (the second one folds the first one's result).
        let pipe = try Self.open("pipemap:{inline:{straße=Ärger}, inline:{ärger=done}}", utf8: true)
        #expect(try pipe.lookup(b("STRASSE")) == b("done"))
        let patternFirst = try Self.open("pipemap:{fail:x, inline:{a=1}}", utf8: true)
        #expect(Self.error { _ = try patternFirst.lookup(b("A")) }?.code == .temporary)
    }
}
