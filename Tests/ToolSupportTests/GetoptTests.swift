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

    @Test func versionIsTheOnlyLongOption() throws {
        let r = try Getopt.parse(["-f", "--version", "-z"], spec: "fq:").get()
        #expect(r.version)
        #expect(r.options.map(\.letter) == ["f"]) // the parse stops at --version
        for word in ["--versio", "--version=1", "--Version", "--help", "---version", "--v"] {
            guard case .failure(let f) = Getopt.parse([word], spec: "fq:v") else { Issue.record("accepted \(word)"); continue }
            #expect(f.message == "invalid option -- '-'")
        }
    }

    @Test func versionOnlyWhereAnOptionStands() throws {
        let asArgument = try Getopt.parse(["-q", "--version", "map"], spec: "q:").get()
        #expect(!asArgument.version && asArgument.options.first?.argument == "--version")
        let afterOperand = try Getopt.parse(["map", "--version"], spec: "q:").get()
        #expect(!afterOperand.version && afterOperand.operands == ["map", "--version"])
        let afterDashes = try Getopt.parse(["--", "--version"], spec: "q:").get()
        #expect(!afterDashes.version && afterDashes.operands == ["--version"])
        let line = ToolVersion.line(program: "postmap")
        #expect(line == "postmap (postfix-maps) \(ToolVersion.version), compatible with Postfix 3.7.11")
    }
}
