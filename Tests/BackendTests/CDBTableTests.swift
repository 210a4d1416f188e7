import Foundation
import Maps
import Testing

/// The cdb table through the library: records as bytes, the NUL forms, duplicates, a replaced record
/// taken out of the file, and `postmap -F`'s base64 rules.
@Suite(.temporaryDirectory) struct CDBTableTests {
    static let cdb = MapRegistry([CDBMaps.cdb])

    /// Build `name.cdb` from `records` with `flags`; the warnings it gave.
    @discardableResult
    func build(_ name: String, _ records: [([UInt8], [UInt8])], flags: DictFlags = .commandLineDefault) throws -> [String] {
        let collected = Collected()
        let builder = try Self.cdb.builder(MapSpec(type: "cdb", name: name),
                                           OpenRequest(mode: .readWriteCreate, flags: flags.union(.bulkUpdate),
                                                       diagnostics: collected.diagnostics))
        try builder.load { _, sink in
            for (k, v) in records { _ = try sink.put(k, v) }
        }
        try builder.commit()
        #expect(!FileManager.default.fileExists(atPath: name + ".cdb.tmp"))
        return collected.warnings
    }

    func open(_ name: String, flags: DictFlags = .commandLineDefault) throws -> any LookupTable {
        try Self.cdb.open(MapSpec(type: "cdb", name: name), OpenRequest(flags: flags))
    }

    @Test func bytesRoundTrip() throws {
        let name = tempName()
        let binary: [UInt8] = [0xC3, 0xA9, 0xFF, 0x80, 0x01]
        let warnings = try build(name, [(Array("Key".utf8), Array("v1".utf8)), (binary, binary),
                                        (Array("key".utf8), Array("dup".utf8)), (Array("e".utf8), [])])
        #expect(warnings == ["\(name): duplicate entry: \"key\""])
        let table = try open(name)
        #expect(try table.lookup(Array("KEY".utf8)) == Array("v1".utf8))
        #expect(try table.lookup(binary) == binary)
        #expect(try table.lookup(Array("e".utf8)) == [])
        #expect(try table.lookup(Array("nothere".utf8)) == nil)
        #expect(table.dictName == name + ".cdb")
        #expect(throws: MapError.self) { try table.forEach { _, _ in } }
        table.close()
        #expect(throws: MapError.self) { try table.lookup(Array("key".utf8)) }
    }

    @Test func nulFormsAndPolicies() throws {
        let name = tempName()
        try build(name, [(Array("a".utf8), Array("1".utf8))], flags: DictFlags.commandLineDefault.union(.tryWithNul))
        // Written with the NUL: a reader told "without" does not see it; an undecided one does.
        #expect(try open(name, flags: DictFlags.commandLineDefault.union(.tryWithoutNul)).lookup(Array("a".utf8)) == nil)
        #expect(try open(name).lookup(Array("a".utf8)) == Array("1".utf8))

        var replace = DictFlags.commandLineDefault
        replace.setDuplicatePolicy(.replace)
        let replaced = tempName(), fresh = tempName()
        try build(replaced, [(Array("a".utf8), Array("1".utf8)), (Array("b".utf8), Array("2".utf8)),
                             (Array("a".utf8), Array("3".utf8))], flags: replace)
        try build(fresh, [(Array("b".utf8), Array("2".utf8)), (Array("a".utf8), Array("3".utf8))])
        // The replaced record leaves no trace: the same bytes as a build without it.
        #expect(FileManager.default.contents(atPath: replaced + ".cdb") == FileManager.default.contents(atPath: fresh + ".cdb"))

        var add = DictFlags.commandLineDefault
        add.setDuplicatePolicy(.ignore)
        let both = tempName()
        try build(both, [(Array("a".utf8), Array("first".utf8)), (Array("a".utf8), Array("second".utf8))], flags: add)
        #expect(try open(both).lookup(Array("a".utf8)) == Array("first".utf8))
    }

    @Test func refusesUpdatesAndBrokenFiles() throws {
        let name = tempName()
        try build(name, [(Array("a".utf8), Array("1".utf8))])
        #expect(throws: MapError.self) { try Self.cdb.open(MapSpec(type: "cdb", name: name), OpenRequest(mode: .readWrite)) }
        #expect(FileManager.default.createFile(atPath: name + ".cdb", contents: Data(count: 100)))
        do {
            _ = try Self.cdb.open(MapSpec(type: "cdb", name: name), OpenRequest())
            Issue.record("a file shorter than the header opened")
        } catch {
            #expect(error.message == "dict_cdbq_open: unable to init \(name).cdb: Protocol error")
        }
    }

    @Test func base64AsPostfix() {
        #expect(ValueFiles.encode(Array("hello\n".utf8)) == Array("aGVsbG8K".utf8))
        #expect(ValueFiles.encode([0xFF]) == Array("/w==".utf8))
        #expect(ValueFiles.decode(Array("QUJD".utf8)) == Array("ABC".utf8))
        #expect(ValueFiles.decode(Array("QQ==QUJD".utf8)) == Array("A".utf8))
        #expect(ValueFiles.decode(Array("QUJ".utf8)) == nil)
        #expect(ValueFiles.decode(Array("!!!!".utf8)) == nil)
        #expect(ValueFiles.decode([]) == [])
    }
}
