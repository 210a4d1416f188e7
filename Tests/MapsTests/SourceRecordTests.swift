import Maps
import Testing

@Suite struct SourceRecordTests {
    @Test(arguments: [
        ("key value", "key", "value"),
        ("key   value with  spaces  ", "key", "value with  spaces"),
        ("\"a b\" c", "\"a b\"", "c"),
        ("gg\\ hh v", "gg\\ hh", "v"),
        ("\"gg\\\"hh\" v", "\"gg\\\"hh\"", "v"),
        ("k\tv\r", "k", "v"),
        ("key: value", "key:", "value"),
    ])
    func splits(line: String, key: String, value: String) throws {
        let r = try SourceRecord.split(Array(line.utf8)).get()
        #expect(String(decoding: r.key, as: UTF8.self) == key)
        #expect(String(decoding: r.value, as: UTF8.self) == value)
    }

    @Test(arguments: ["novalue", "novalue   ", "trailing\\", "x\\"])
    func missingValue(line: String) {
        #expect(throws: SourceRecord.Failure.expectedKeyValue) { try SourceRecord.split(Array(line.utf8)).get() }
    }

    @Test func unbalancedQuote() {
        #expect(throws: SourceRecord.Failure.unbalancedQuote) { try SourceRecord.split(Array("\"a b c".utf8)).get() }
    }

    @Test func textAfterNulIsIgnored() throws {
        let r = try SourceRecord.split([0x6B, 0x20, 0x76, 0x00, 0x78]).get()
        #expect(r.value == [0x76])
    }
}
