import Testing
import ToolSupport

@Suite struct GetoptTests {
    @Test func combinedFlagsAndArguments() throws {
        let r = try Getopt.parse(["-fq", "KEY", "-cdir", "map", "-x"], spec: "c:fq:").get()
        #expect(r.options.map(\.letter) == ["f", "q", "c"])
        #expect(r.options.map(\.argument) == [nil, "KEY", "dir"])
        #expect(r.operands == ["map", "-x"]) // options stop at the first operand ("+" mode)
    }

    @Test func doubleDashAndLoneDash() throws {
        let r = try Getopt.parse(["--", "-q"], spec: "q:").get()
        #expect(r.operands == ["-q"])
        let s = try Getopt.parse(["-q", "-", "-"], spec: "q:").get()
        #expect(s.options.first?.argument == "-")
        #expect(s.operands == ["-"])
    }

    @Test func glibcMessages() {
        guard case .failure(let a) = Getopt.parse(["-z"], spec: "q:") else { Issue.record("accepted -z"); return }
        #expect(a.message == "invalid option -- 'z'")
        guard case .failure(let b) = Getopt.parse(["-q"], spec: "q:") else { Issue.record("accepted -q"); return }
        #expect(b.message == "option requires an argument -- 'q'")
    }
}
