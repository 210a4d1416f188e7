import Foundation
import Testing
import Maps
import PostfixConfig

/// Postfix's match lists (match_list.c), as PostfixConfig implements them for explain and the database clients.
@Suite struct MatchListTests {
    typealias List = MatchList<Set<[UInt8]>>

    /// A list whose `set:a,b` patterns are tables holding a and b (fixed keys unless `set-pattern:`).
    func list(_ text: String, _ kind: List.Kind, parent: Bool = false, errors: List.Errors = .whenMatched) -> List {
        List(title: "test", text: Array(text.utf8), kind: kind, parent: parent, errors: errors, openTable: { spec throws(MapError) in
            let parts = spec.split(separator: ":", maxSplits: 1)
            guard parts.count == 2, parts[0] == "set" || parts[0] == "set-pattern" else {
                throw .configuration("unsupported dictionary type: \(parts[0])")
            }
            return (Set(parts[1].split(separator: ",").map { Array($0.utf8) }), parts[0] == "set")
        })
    }

    func match(_ l: List, _ s: String, address: String? = nil) -> List.Result {
        l.match(Array(s.utf8), address: address.map { Array($0.utf8) }) { table, key in table.contains(key) ? .found : .notFound }
    }

    @Test func strings() {
        let l = list("!Bad.Example, Example.COM set:x.example", .string)
        #expect(match(l, "example.com").matched && match(l, "EXAMPLE.com").pattern == "example.com")
        let bad = match(l, "bad.example")
        #expect(!bad.matched && bad.pattern == "!bad.example")
        #expect(match(l, "x.example").pattern == "set:x.example")
        #expect(!match(l, "a.example.com").matched && match(l, "a.example.com").pattern == nil)
        #expect(l.isLiteral == false && list("a b", .string).isLiteral)
    }

    @Test func hostnamesAndParents() {
        let dotted = list(".example.com", .hostname)
        #expect(match(dotted, "a.example.com").matched && !match(dotted, "example.com").matched)
        #expect(!match(list("example.com", .hostname), "a.example.com").matched)
        #expect(match(list("example.com", .hostname, parent: true), "a.b.example.com").matched)
        #expect(!match(list("example.com", .hostname, parent: true), "aexample.com").matched)
        // Tables: parent domains are looked up only in tables with fixed keys.
        #expect(match(list("set:example.com", .hostname, parent: true), "a.example.com").matched)
        #expect(match(list("set:.example.com", .hostname), "a.example.com").matched)
        #expect(!match(list("set-pattern:example.com", .hostname, parent: true), "a.example.com").matched)
    }

    @Test func addresses() {
        let l = list("host.example, 10.0.0.0/8, [::1]/128, [192.0.2.1]", .hostnameAndAddress)
        #expect(match(l, "unknown", address: "10.1.2.3").pattern == "10.0.0.0/8")
        #expect(match(l, "unknown", address: "::1").matched)
        #expect(match(l, "unknown", address: "192.0.2.1").pattern == "[192.0.2.1]")
        #expect(match(l, "host.example", address: "198.51.100.1").pattern == "host.example")
        #expect(!match(l, "unknown", address: "198.51.100.1").matched)
    }

    @Test func filesAndErrors() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("matchlist-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("domains").path
        try "# comment\nfile.example other.example\n!neg.example\n".write(toFile: file, atomically: true, encoding: .utf8)
        let l = list("!\(file), last.example", .string)
        // `!` before the file negates its patterns; a `!` inside negates again.
        #expect(!match(l, "file.example").matched && match(l, "file.example").pattern == "!file.example")
        #expect(match(l, "neg.example").matched && match(l, "neg.example").pattern == "neg.example")
        #expect(match(l, "last.example").matched)

        let missing = "\(dir.path)/missing"
        let lenient = list("first.example, \(missing), last.example", .string)
        #expect(match(lenient, "first.example").matched)
        #expect(match(lenient, "last.example").error == "open file \(missing): No such file or directory")
        let strict = list("first.example, \(missing)", .string, errors: .stop)
        #expect(strict.failure?.message == "open file \(missing): No such file or directory")
        #expect(list("a, !", .string, errors: .stop).failure?.message == "test: no pattern after '!'")
        #expect(list("nosuch:table", .string, errors: .stop).failure?.message == "unsupported dictionary type: nosuch")
        #expect(match(list("nosuch:table, x", .string), "x").error == "unsupported dictionary type: nosuch")
    }
}
