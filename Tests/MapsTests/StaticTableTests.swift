import Testing
import Maps

/// The `static` table type through the library (Postfix's dict_static_test).
struct StaticTableTests {
    @Test("every key finds the name; braces and the blanks inside them are stripped", arguments: [
        ("fooxx", "fooxx"), ("{ foo xx }", "foo xx"), ("{ a  b }", "a  b"), ("{}", ""), ("{ \t }", ""),
        ("{ {a} }", "{a}"), ("a b", "a b"), ("{\ta\n}", "a"),
    ])
    func values(name: String, value: String) throws {
        let table = try MapRegistry([StaticTable.mapType]).open(MapSpec(type: "static", name: name), OpenRequest())
        #expect(try table.lookup(Array("foo".utf8)) == Array(value.utf8))
        #expect(try table.lookup([]) == Array(value.utf8))
        #expect(table.dictName == name)
    }

    @Test("brace syntax errors in Postfix's words", arguments: [
        ("{ foo xx ", "bad static:name syntax: missing '}' in \"{ foo xx \""),
        ("{ foo xx }x", "bad static:name syntax: syntax error after '}' in \"{ foo xx }x\""),
        ("{{a}", "bad static:name syntax: missing '}' in \"{{a}\""),
    ])
    func syntax(name: String, message: String) {
        #expect(throws: MapError.self) { try StaticTable(name: name) }
        do {
            _ = try StaticTable(name: name)
        } catch {
            #expect(error.message == message)
            #expect(error.code == .configuration)
        }
    }

    @Test("no update, delete, sequence or bulk creation")
    func refusals() throws {
        let table = try StaticTable(name: "foo")
        do { _ = try table.delete([0x61]); Issue.record("delete succeeded") } catch {
            #expect(error.message == "table static:foo: delete operation is not supported")
        }
        do { _ = try table.update([0x61], [0x62]); Issue.record("update succeeded") } catch {
            #expect(error.message == "table static:foo: update operation is not supported")
        }
        do { try table.forEach { _, _ in }; Issue.record("sequence succeeded") } catch {
            #expect(error.message == "table static:foo: sequence operation is not supported")
        }
        #expect(StaticTable.mapType.build == nil)
    }
}
