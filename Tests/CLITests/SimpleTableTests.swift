import Foundation
import Testing
import TestSupport

/// The environment both implementations run with: `NORANDOMIZE` makes Postfix's in-memory hash order
/// (what `-s` lists for `texthash:` and `inline:`) reproducible, as Postfix's own tests do; the other
/// variables are what the `environ:` tests look up.
private let testEnvironment = ["NORANDOMIZE": "1", "lower": "lower-value", "MiXed": "mixed-value", "EMPTY": ""]

extension Twin {
    /// `same`, run with `testEnvironment`.
    @discardableResult
    fileprivate func agree(_ tool: String, _ arguments: [String], stdin: [UInt8]? = nil,
                           sourceLocation: SourceLocation = #_sourceLocation) throws -> Outcome {
        let args = ["-c", "."] + arguments
        let a = try TestSupport.run(Paths.ours(tool), args, in: ours.url, stdin: stdin, environment: testEnvironment)
        let b = try TestSupport.run(Paths.postfix(tool), args, in: theirs.url, stdin: stdin, environment: testEnvironment)
        #expect(a.status == b.status, "exit status of \(tool) \(arguments)", sourceLocation: sourceLocation)
        #expect(a.stdout == b.stdout, "stdout of \(tool) \(arguments): ours\n\(a.out)theirs\n\(b.out)",
                sourceLocation: sourceLocation)
        #expect(a.stderr == b.stderr, "stderr of \(tool) \(arguments): ours\n\(a.stderr)theirs\n\(b.stderr)",
                sourceLocation: sourceLocation)
        return b
    }

    /// Write a file into both directories with an old modification time, so `texthash:` does not treat it
    /// as being written (and re-read it for a second or two).
    fileprivate func writeCold(_ name: String, _ bytes: [UInt8]) throws {
        write(name, bytes)
        for dir in [ours, theirs] {
            try FileManager.default.setAttributes([.modificationDate: Date(timeIntervalSince1970: 1_577_836_800)],
                                                  ofItemAtPath: dir.file(name))
        }
    }

    fileprivate func writeCold(_ name: String, _ text: String) throws { try writeCold(name, Array(text.utf8)) }
}

/// Start `executable` in `dir` with `testEnvironment`, its output going to files there.
private func launch(_ executable: String, _ arguments: [String], in dir: TempDir) throws -> Process {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    process.currentDirectoryURL = dir.url
    var env = ProcessInfo.processInfo.environment
    env.removeValue(forKey: "MAIL_CONFIG")
    for (k, v) in testEnvironment { env[k] = v }
    process.environment = env
    for name in ["run.out", "run.err"] where !FileManager.default.createFile(atPath: dir.file(name), contents: nil) {
        Issue.record("cannot create \(dir.file(name))")
    }
    process.standardInput = FileHandle.nullDevice
    process.standardOutput = try FileHandle(forWritingTo: dir.url.appendingPathComponent("run.out"))
    process.standardError = try FileHandle(forWritingTo: dir.url.appendingPathComponent("run.err"))
    try process.run()
    return process
}

/// Wait for a process from `launch` and collect what it wrote.
private func finish(_ process: Process, in dir: TempDir) -> Outcome {
    process.waitUntilExit()
    return Outcome(stdout: dir.read("run.out") ?? [], stderr: String(decoding: dir.read("run.err") ?? [], as: UTF8.self),
                   status: process.terminationStatus)
}

/// `texthash`, `inline`, `unionmap`, `pipemap`, `fail` and `environ` through Debian's postmap/postalias
/// and ours: same stdout, stderr and exit status.
@Suite(.enabled(if: Oracle.enabled(Paths.oracleAvailable), "needs Debian's postfix package"))
struct SimpleTableTests {
    static let configs = ["compatibility_level = 0\n", "compatibility_level = 3.6\n"]

    /// Every construct of the postmap source format, plus what texthash adds: duplicates warned per load.
    static let textSource: [UInt8] = Fixtures.richMap + Array("""

        Dup 1
        dup 2
        DUP 3
        "unbalanced key
        "the answer is" 42
        the answer is 42
        lonely
           indented continuation of lonely
        nul\u{0}ignored rest
        after-nul-key\u{0}
        \u{0}
        ÉCOLE second école
        Straße third

        """.utf8) + [0x62, 0x61, 0x64, 0xFF, 0x20, 0x76, 0x0A, 0x6B, 0x20, 0x62, 0x61, 0x64, 0xFE, 0x0A]

    static let textKeys: [UInt8] = Fixtures.richKeysInput + Array("Dup\ndup\n\"the answer is\"\nthe\nlonely\nnul\nk\nbad\u{FF}\n".utf8)

    @Test("texthash: -s, -q and -q - with every folding and duplicate flag", arguments: configs)
    func texthashQueries(config: String) throws {
        let twin = Twin(mainCf: config)
        try twin.writeCold("map", Self.textSource)
        for flags in ["", "-f", "-r", "-w", "-fr", "-fw", "-u", "-n", "-N"] {
            let f = flags.isEmpty ? [] : [flags]
            try twin.agree("postmap", f + ["-s", "texthash:map"])
            try twin.agree("postmap", f + ["-q", "-", "texthash:map"], stdin: Self.textKeys)
        }
        for key in Fixtures.richKeys + ["dup", "Dup", "\"the answer is\"", "lonely", "nul", "after-nul-key"] where !key.isEmpty {
            try twin.agree("postmap", ["-q", key, "texthash:map"])
            try twin.agree("postmap", ["-fq", key, "texthash:map"])
        }
        // The map name is used as given, also with a path.
        try twin.agree("postmap", ["-q", "abc", "texthash:./map"])
        try twin.agree("postalias", ["-q", "abc", "texthash:map"])
        try twin.agree("postalias", ["-s", "texthash:map"])
        try twin.agree("postalias", ["-q", "-", "texthash:map"], stdin: Self.textKeys)
    }

    @Test("texthash: Postfix's dict_thash_test cases, with our own input")
    func texthashPostfixCases() throws {
        let twin = Twin()
        // The first half of dict_thash_test: -fs reproduces a clean source (sorted).
        try twin.writeCold("clean", "\"a quoted key\"\tforty two\nplain\tanswer is 42\nzz top\n")
        let dump = try twin.agree("postmap", ["-fs", "texthash:clean"])
        #expect(dump.out.split(separator: "\n").sorted() == ["\"a quoted key\"\tforty two", "plain\tanswer is 42", "zz\ttop"])
        // The second half: each kind of warning, and the first of two duplicates kept.
        try twin.writeCold("bad", "\"open quote never closed 7\nkey: value\njustakey\nsame first\nsame second\n")
        try twin.agree("postmap", ["-fs", "texthash:bad"])
    }

    @Test("texthash: errors and refused operations")
    func texthashErrors() throws {
        let twin = Twin()
        try twin.writeCold("map", "a 1\n")
        try FileManager.default.createDirectory(atPath: twin.ours.file("dir"), withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: twin.theirs.file("dir"), withIntermediateDirectories: true)
        let cases: [[String]] = [
            ["-q", "a", "texthash:missing"], ["-s", "texthash:missing"], ["-q", "a", "texthash:dir"],
            ["-d", "a", "texthash:map"], ["-d", "-", "texthash:map"], ["-d", "a", "texthash:missing"],
            ["-i", "texthash:map"], ["-i", "texthash:missing"], ["texthash:map"], ["texthash:missing"],
            ["-q", "a", "texthash:"], ["-s", "texthash:"], ["-q", "a", "texthash:missing", "texthash:map"],
            ["-q", "a", "texthash:map", "texthash:missing"],
        ]
        for args in cases {
            try twin.agree("postmap", args, stdin: Array("a 1\n".utf8))
        }
        // Without any duplicate flag (as library callers open it) a duplicate is a fatal error; the
        // command line always has one, so this is checked at the library level in MapsTests.
    }

    @Test("texthash: a file changed within the last second is read again until it is quiet")
    func texthashHotFile() throws {
        let twin = Twin()
        // Start both runs at the same point of a second, so both see the same number of 0.3 s pauses; each
        // read repeats the duplicate warning. Reads then fall at .15, .45, .75, 1.05, ... 1.95, 2.25 s: the
        // ones that decide the count are 50 ms from a second's edge, so a start delayed by load may cost
        // one read, which the comparison allows.
        while true {
            var now = timeval()
            gettimeofday(&now, nil)
            if now.tv_usec >= 140_000 && now.tv_usec < 160_000 { break }
            usleep(5_000)
        }
        twin.write("hot", "a 1\na 2\n")
        let start = Date()
        // Both start at once, writing to files: no pipes to drain, so no threads are needed meanwhile.
        let ourRun = try launch(Paths.ours("postmap"), ["-c", ".", "-q", "a", "texthash:hot"], in: twin.ours)
        let theirRun = try launch(Paths.postfix("postmap"), ["-c", ".", "-q", "a", "texthash:hot"], in: twin.theirs)
        let ours = finish(ourRun, in: twin.ours), theirs = finish(theirRun, in: twin.theirs)
        let elapsed = Date().timeIntervalSince(start)
        #expect(ours.status == 0 && theirs.status == 0)
        #expect(ours.out == "1\n" && theirs.out == "1\n")
        let count = { (o: Outcome) in o.stderr.split(separator: "\n").filter { $0 == "postmap: warning: hot, line 2: duplicate entry: \"a\"" }.count }
        #expect(count(theirs) >= 5, "Postfix re-read the hot file \(count(theirs)) times")
        #expect(abs(count(ours) - count(theirs)) <= 1, "reads: ours \(count(ours)), Postfix \(count(theirs))")
        #expect(elapsed >= 1.2 && elapsed < 4, "took \(elapsed) s")
        // A modification time in the future, or more than a second old, is not hot: one read.
        for date in [Date().addingTimeInterval(3600), Date().addingTimeInterval(-2)] {
            for dir in [twin.ours, twin.theirs] {
                try FileManager.default.setAttributes([.modificationDate: date], ofItemAtPath: dir.file("hot"))
            }
            let before = Date()
            try twin.agree("postmap", ["-q", "a", "texthash:hot"])
            #expect(Date().timeIntervalSince(before) < 1)
        }
    }

    /// Inline tables Postfix rejects (every rejection is one fatal error, and Postfix sleeps a second after
    /// each, so each gets one command per configuration).
    static let badInlineNames: [String] = [
        // dict_inline_test's error cases, in our own words.
        "{ }", "{ alpha = beta }", "{ alpha=beta }x", "{ alpha=beta", "{ alpha=beta {k=v}x}",
        // More syntax.
        "{}", "{,}", "{ , ,}", "plain", "{a=1}}", "{{a=1}", "{ { } }", "{ {x}}", "{{x}=y}", "{ \"a b\"=1 }",
        "{a\\ b=1}", "{a\\}", "{a = 1 , b}", "{ok=1, {bad}}", "{a=1, {b=2}x}",
    ]

    /// Inline tables Postfix accepts.
    static let inlineNames: [String] = [
        // dict_inline_test's lookups, in our own words.
        "{ alpha=BETA, { gAmma = plenty of words }}",
        "{ =v }", "{k=}", "{ { k = } }", "{\"a=b\"=c}", "{a\\=b=c}", "{a=1,}", "{x={y}}", "{ {a=1} b=2 }",
        "{a=1\tb=2}", "{a=1\nb=2}", "{a = 1}", "{a= 1 , b =2}", "{a=1,a=2,A=3}", "{Key=Value, KEY=other}",
        "{a=b=c}", "{ {a = b = c} }", "{ {  spaced   =  value  with  blanks  } }",
        "{a=1,b=2,c=3,d=4,e=5,f=6,g=7,h=8,i=9,j=10,k=11,l=12,m=13,n=14,o=15,p=16,q=17,r=18,s=19,t=20,u=21,v=22,w=23,x=24,y=25,z=26,aa=27,bb=28,cc=29}",
        "{Straße=1, ÉCOLE=2, école=3}",
    ]

    @Test("inline: syntax, errors, folding, -s", arguments: configs)
    func inline(config: String) throws {
        let twin = Twin(mainCf: config)
        let keys = Array("alpha\nALPHA\ngamma\ngAmma\nk\na\nA\nKey\nkey\nstrasse\nStraße\nécole\nÉCOLE\n\"a\n\n".utf8)
        for name in Self.inlineNames {
            try twin.agree("postmap", ["-s", "inline:\(name)"])
            try twin.agree("postmap", ["-fs", "inline:\(name)"])
            try twin.agree("postmap", ["-q", "-", "inline:\(name)"], stdin: keys)
            try twin.agree("postmap", ["-fq", "-", "inline:\(name)"], stdin: keys)
            try twin.agree("postmap", ["-q", "ALPHA", "inline:\(name)"])
        }
        for name in Self.badInlineNames {
            try twin.agree("postmap", ["-q", "a", "inline:\(name)"])
        }
        try twin.agree("postalias", ["-q", "a", "inline:{a=1}"])
        try twin.agree("postalias", ["-s", "inline:{a=1, b=2}"])
    }

    @Test("inline: refused operations")
    func inlineRefused() throws {
        let twin = Twin()
        for args in [["-d", "a", "inline:{a=1}"], ["-d", "-", "inline:{a=1}"], ["-i", "inline:{a=1}"],
                     ["inline:{a=1}"], ["-q", "a", "inline:"], ["-d", "a", "inline:{ }"], ["-i", "inline:{ }"]] {
            try twin.agree("postmap", args, stdin: Array("a 1\n".utf8))
        }
    }

    /// unionmap and pipemap names that open.
    static let compositeNames: [String] = [
        "{inline:{a=1}, hash:map}", "{inline:{a=1},inline:{a=1}}",
        "{inline:{a=X}, inline:{a=Y,b=Z}, fail:x}", "{inline:{c=1}, fail:x}", "{fail:x, inline:{a=1}}",
        "{inline:{a=b}, inline:{b=c}, inline:{c=d}}", "{inline:{a=B}, inline:{b=ok}}",
        "{inline:{a=}, inline:{a=x}}", "{inline:{a=x}, inline:{a=}}", "{inline:{a=}}",
        "{texthash:text, texthash:text}", "{texthash:text, hash:map}", "{environ:e, inline:{lower=z}}",
        "{unionmap:{inline:{a=1},inline:{a=2}}, pipemap:{inline:{a=b},inline:{b=c}}}",
        "{ inline:{a=1} , fail:y }", "{inline:{a=lower}, environ:x}",
        // test_dict_pipe and test_dict_union, in our own words.
        "{inline:{in1=mid1,in2=mid2},inline:{mid2=out}}", "{inline:{in1=mid1},fail:down}",
        "{inline:{a=first},inline:{a=second,b=second},inline:{a=third}}", "{inline:{a=first},fail:down}",
        "{static:one,static:two,inline:{foo=three}}", "{static:one,fail:down}",
        // Pattern members: a pattern first member keeps the composite from folding under the UTF-8 layer.
        "{regexp:{{/^(.*)$/ ${1}X}}, inline:{ax=found}}", "{inline:{a=B}, regexp:{{/^B$/ up}}}",
        "{regexp:{{/^A$/ up}}, inline:{a=low}}", "{inline:{a=10.1.1.1}, cidr:{{10.0.0.0/8 ten}}}",
    ]

    /// unionmap and pipemap names that do not open, for the composite's syntax or a member's fault.
    static let badCompositeNames: [String] = [
        "{}", "{ }", "{,}", "x", "{a}", "{inline:{a=1}, b}", "{inline:{a=1}}x", "{foo:x}", "{hash:}",
        "{hash:nonexist}", "{hash:nonexist, b}", "{fail:x, b}", "{ {inline:{a=1}} }", "{inline:{}}",
        "{texthash:nonexist}",
    ]

    @Test("unionmap and pipemap: joining, chaining, member errors, syntax", arguments: ["unionmap", "pipemap"], configs)
    func composites(type: String, config: String) throws {
        let twin = Twin(mainCf: config)
        try twin.writeCold("text", "a 1\nb 2\nA-x y\ndup d1\ndup d2\n")
        try twin.writeCold("map", "a 1\nb 2\nA-x y\n")
        try twin.agree("postmap", ["hash:map"])
        let keys = Array("a\nA\nb\nlower\nin1\nin2\nfoo\nbar\nmissing\n".utf8)
        for name in Self.compositeNames {
            let spec = "\(type):\(name)"
            for args in [["-q", "a", spec], ["-fq", "A", spec], ["-q", "A", spec], ["-q", "in2", spec]] {
                try twin.agree("postmap", args, stdin: [])
            }
            try twin.agree("postmap", ["-q", "-", spec], stdin: keys)
        }
        for name in Self.badCompositeNames {
            try twin.agree("postmap", ["-q", "a", "\(type):\(name)"])
        }
        // The operations a composite refuses, valid or not: -d and -s are checked after the syntax, -i and
        // a build before it.
        for name in ["{inline:{a=1}}", "{}"] {
            let spec = "\(type):\(name)"
            for args in [["-d", "a", spec], ["-d", "-", spec], ["-i", spec], [spec], ["-s", spec]] {
                try twin.agree("postmap", args, stdin: [])
            }
        }
        try twin.agree("postalias", ["-q", "a", "\(type):{inline:{a=b},inline:{a=c,b=d}}"])
    }

    @Test("fail: Postfix's fail_test commands and more, through postmap and postalias")
    func fail() throws {
        let twin = Twin()
        try twin.writeCold("aliases", "xx: yy\nother: target\n")
        try twin.writeCold("records", "xx yy\n")
        try twin.writeCold("empty", "")
        try twin.writeCold("nokey", "lonely\n")
        let stdin = Array("xx\n".utf8)
        // fail_test: -q, -q -, -bq -, -d, -d -, -s, -i, create.
        for args in [["-q", "xx", "fail:aliases"], ["-q", "-", "fail:aliases"], ["-d", "xx", "fail:aliases"],
                     ["-d", "-", "fail:aliases"], ["-s", "fail:aliases"], ["fail:aliases"]] {
            try twin.agree("postmap", args, stdin: stdin)
            try twin.agree("postalias", args, stdin: stdin)
        }
        try twin.agree("postmap", ["-bq", "-", "fail:aliases"], stdin: stdin)
        try twin.agree("postmap", ["-hq", "-", "fail:aliases"], stdin: Array("Subject: x\n\nbody\n".utf8))
        try twin.agree("postmap", ["-bq", "-", "unionmap:{inline:{body=1}, texthash:records}"],
                       stdin: Array("Subject: x\n\nbody\nxx\n".utf8))
        try twin.agree("postmap", ["-i", "fail:aliases"], stdin: Array("xx yy\n".utf8))
        try twin.agree("postalias", ["-i", "fail:aliases"], stdin: Array("xx: yy\n".utf8))
        // No record reaches the table: nothing fails.
        for args in [["fail:empty"], ["fail:nokey"], ["-i", "fail:x"], ["-q", "-", "fail:x"], ["-d", "-", "fail:x"],
                     ["fail:missing"], ["fail:records"], ["fail:"], ["-q", "a", "fail:"], ["-q", "a", "fail:x", "fail:y"],
                     ["-q", "-", "fail:x", "fail:y"]] {
            try twin.agree("postmap", args, stdin: [])
        }
        try twin.agree("postmap", ["-i", "fail:x"], stdin: Array("lonely\n".utf8))
        try twin.agree("postmap", ["-q", "-", "fail:x"], stdin: Array("\n".utf8))
    }

    @Test("environ: getenv with fixed-key folding", arguments: configs)
    func environ(config: String) throws {
        let twin = Twin(mainCf: config)
        let cases: [[String]] = [
            ["-q", "HOME", "environ:x"], ["-fq", "HOME", "environ:x"], ["-q", "LOWER", "environ:x"],
            ["-q", "lower", "environ:x"], ["-q", "mixed", "environ:x"], ["-fq", "MiXed", "environ:x"],
            ["-q", "EMPTY", "environ:x"], ["-fq", "EMPTY", "environ:x"], ["-q", "nosuchvariable", "environ:x"],
            ["-q", "lower", "environ:{anything}"], ["-q", "lower", "environ:"], ["-s", "environ:x"],
            ["-d", "lower", "environ:x"], ["-d", "-", "environ:x"], ["-i", "environ:x"], ["environ:x"],
        ]
        for args in cases {
            try twin.agree("postmap", args, stdin: [])
        }
        try twin.agree("postmap", ["-d", "-", "environ:x"], stdin: Array("lower\n".utf8))
        try twin.agree("postmap", ["-q", "-", "environ:x"], stdin: Array("HOME\nlower\nLOWER\nEMPTY\n".utf8))
        try twin.agree("postmap", ["-fq", "-", "environ:x"], stdin: Array("HOME\nlower\nLOWER\nMiXed\n".utf8))
        try twin.agree("postalias", ["-q", "LOWER", "environ:x"])
    }

    @Test("UTF-8 layer: non-UTF-8 keys are warned about under the composite's or the table's name")
    func utf8Keys() throws {
        let twin = Twin(mainCf: "compatibility_level = 3.6\n")
        try twin.writeCold("text", "Straße 1\nkey v\u{FF}\n")
        let keys: [UInt8] = Array("STRASSE\nlower\nLOWER\n".utf8) + [0xFF, 0x0A] + Array("key\nA\n".utf8)
        for spec in ["texthash:text", "inline:{Straße=1}", "environ:x", "fail:x", "unionmap:{environ:x,inline:{lower=2}}",
                     "pipemap:{environ:x,inline:{LOWER-VALUE=2}}", "unionmap:{fail:x,inline:{lower=2}}",
                     "pipemap:{inline:{a=STRASSE}, texthash:text}", "unionmap:{texthash:text}"] {
            try twin.agree("postmap", ["-q", "-", spec], stdin: keys)
            try twin.agree("postmap", ["-u", "-q", "-", spec], stdin: keys)
        }
        try twin.agree("postmap", ["-q", "key", "texthash:text"])
    }
}
