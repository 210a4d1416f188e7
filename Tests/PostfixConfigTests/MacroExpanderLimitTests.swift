import Testing
@testable import PostfixConfig

/// The nesting limit of `$name` expansion, and the lint's option to stop at the first error.
@Suite
struct MacroExpanderLimitTests {
    static func expand(_ pattern: String, _ values: [String: String], options: MacroExpander.Options)
        -> (outcome: MacroExpander.Outcome, warnings: [String]) {
        nonisolated(unsafe) var warnings: [String] = []
        let outcome = MacroExpander.expand(Array(pattern.utf8), options: options, lookup: { name, _ in
            values[String(decoding: name, as: UTF8.self)].map { Array($0.utf8) }
        }, warn: { warnings.append($0) })
        return (outcome, warnings)
    }

    @Test("past the limit Postfix warns for every remaining reference; stopAtError warns once")
    func flood() {
        let values = ["e": String(repeating: "$e", count: 50)]
        let postfix = Self.expand("$e", values, options: .recurse)
        #expect(postfix.outcome.status.contains(.error))
        #expect(postfix.warnings.count > 100 * 49)
        #expect(Set(postfix.warnings) == ["unreasonable macro call nesting: \"e\""])
        let lint = Self.expand("$e", values, options: [.recurse, .stopAtError])
        #expect(lint.outcome.status.contains(.error))
        #expect(lint.warnings == ["unreasonable macro call nesting: \"e\""])
    }

    @Test("100 nested references expand; one more is unreasonable")
    func limit() {
        var values: [String: String] = ["c100": "end"]
        for i in 0..<100 { values["c\(i)"] = "$c\(i + 1)" }
        let ok = Self.expand("$c1", values, options: .recurse)
        #expect(String(decoding: ok.outcome.text, as: UTF8.self) == "end")
        #expect(ok.warnings.isEmpty)
        let over = Self.expand("$c0", values, options: .recurse)
        #expect(over.outcome.status.contains(.error))
        // The literal at the 101st level is one call too many, as in Postfix.
        #expect(over.warnings == ["unreasonable macro call nesting: \"end\""])
    }

    @Test("a comparison operand that names its own value stops at the limit")
    func relational() {
        let values = ["a": "${{$a} == {x}?y}"]
        for options: MacroExpander.Options in [.recurse, [.recurse, .stopAtError]] {
            let r = Self.expand("$a", values, options: options)
            #expect(r.outcome.status.contains(.error))
            #expect(r.warnings.first?.hasPrefix("unreasonable macro call nesting: ") == true, "\(r.warnings)")
        }
    }
}
