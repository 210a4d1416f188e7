import Foundation
import Testing

/// `$name` expansion at and past Postfix's nesting limit: the same output as Debian's postconf, and a
/// cost that follows what is read and written.
@Suite
struct ExpansionLimitTests {
    static var oracle: Bool { FileManager.default.isExecutableFile(atPath: Paths.postfix("postconf")) }

    static func refs(_ name: String, _ count: Int) -> String {
        String(repeating: "$\(name)", count: count)
    }

    /// Same exit status, stdout and stderr, line for line (these warnings come in expansion order).
    static func exactlySame(_ twin: PostconfTwin, _ arguments: [String],
                            sourceLocation: SourceLocation = #_sourceLocation) throws -> Outcome {
        let (a, b) = try twin.run(arguments)
        #expect(a.status == b.status, "exit status of postconf \(arguments)", sourceLocation: sourceLocation)
        #expect(a.out == b.out, "stdout of postconf \(arguments)", sourceLocation: sourceLocation)
        #expect(a.stderr == b.stderr, "stderr of postconf \(arguments)", sourceLocation: sourceLocation)
        return a
    }

    @Test("a value that names itself many times: Postfix's warning for every reference past the limit",
          .enabled(if: oracle))
    func selfReference() throws {
        let twin = PostconfTwin(main: "e = \(Self.refs("e", 300))\n", master: "")
        let o = try Self.exactlySame(twin, ["-c", ".", "-nx"])
        #expect(o.status == 1)
        #expect(o.stderr.hasSuffix("postconf: fatal: macro processing error\n"))
        // About 101 warnings per reference: the limit is Postfix's, and so is the flood after it.
        let warnings = o.stderr.split(separator: "\n").filter { $0.hasSuffix("unreasonable macro call nesting: \"e\"") }
        #expect(warnings.count > 100 * 300 && warnings.count < 102 * 300, "\(warnings.count)")
        _ = try Self.exactlySame(twin, ["-c", ".", "-x", "e"])
    }

    @Test("two values that name each other, and chains just under and just over the limit", .enabled(if: oracle))
    func loops() throws {
        // One failing parameter per configuration: postconf stops at the first, and Postfix visits
        // main.cf in hash-table order.
        let pair = PostconfTwin(main: "a = $b x\nb = y $a\nrelayhost = $a\n", master: "")
        for args in [["-nx", "relayhost"], ["-x", "a"], ["-nx"], ["-x", "mydomain"]] {
            _ = try Self.exactlySame(pair, ["-c", "."] + args)
        }
        var chain = ""
        for i in 0..<99 { chain += "c\(i) = $c\(i + 1)\n" }
        chain += "c99 = end\n"
        let under = PostconfTwin(main: "mydestination = $c0\n" + chain, master: "")
        let ok = try Self.exactlySame(under, ["-c", ".", "-nx", "mydestination"])
        #expect(ok.out == "mydestination = end\n")
        let over = PostconfTwin(main: "myorigin = $c100\nc100 = $c101\nc101 = $c0\n" + chain, master: "")
        for args in [["-nx", "myorigin"], ["-nx"]] {
            _ = try Self.exactlySame(over, ["-c", "."] + args)
        }
    }

    @Test("many references to a short value expand in one pass", .enabled(if: oracle))
    func manyReferences() throws {
        let twin = PostconfTwin(main: "a = b\nmydestination = \(Self.refs("a", 20_000)) ${a?{$a}:{x}}\n", master: "")
        let o = try Self.exactlySame(twin, ["-c", ".", "-nx", "mydestination"])
        #expect(o.status == 0)
        #expect(o.out == "mydestination = \(String(repeating: "b", count: 20_000)) b\n")
    }

    @Test("postconf --check reports the nesting once, however many references follow")
    func checkStopsAtTheLimit() throws {
        let dir = TempDir("expand-check")
        dir.write("main.cf", "e = \(Self.refs("e", 20_000))\nmydestination = $e\n")
        dir.write("master.cf", "")
        let started = Date()
        let o = try run(Paths.ours("postconf"), ["-c", ".", "--check"], in: dir.url, timeout: 60)
        let elapsed = Date().timeIntervalSince(started)
        #expect(o.status == 1, "\(o)")
        let nesting = o.out.split(separator: "\n").filter { $0.contains("unreasonable macro call nesting") }
        // One finding for each expansion that reaches the limit (e, mydestination, and mydestination's
        // scan for legacy database names), not Postfix's two million repeats.
        #expect(nesting.count == 3, "\(nesting.count) nesting findings")
        #expect(o.out.utf8.count < 200_000, "\(o.out.utf8.count) bytes")
        #expect(elapsed < 20, "\(elapsed) s")
    }

    @Test("a comparison whose operand names its own value ends with a nesting error, not a crash")
    func relationalSelfReference() throws {
        // Postfix 3.7 recurses without bound here and dies of a stack overflow.
        let dir = TempDir("expand-relop")
        dir.write("main.cf", "a = ${{$a} == {x}?y}\nmydestination = $a\n")
        dir.write("master.cf", "")
        let o = try run(Paths.ours("postconf"), ["-c", ".", "-nx", "mydestination"], in: dir.url)
        #expect(o.status == 1, "\(o)")
        #expect(o.stderr.contains("warning: unreasonable macro call nesting: "), "\(o.stderr)")
        #expect(o.stderr.hasSuffix("fatal: macro processing error\n"), "\(o.stderr)")
    }
}
