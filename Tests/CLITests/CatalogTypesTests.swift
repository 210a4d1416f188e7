import Foundation
import Testing
import TestSupport

/// The table types added as one file and one catalog row each (randmap, unix, internal, proxy),
/// against Debian's postmap; and the cidr rule that lint once misread.
@Suite struct CatalogTypesTests {
    static let configs = ["compatibility_level = 0\n", "compatibility_level = 3.6\n"]

    @Test("randmap: one value, syntax errors, refused operations", arguments: configs)
    func randmap(config: String) throws {
        let twin = Twin(mainCf: config, files: ["{a}": Array("k v\n".utf8)])
        for args in [["-q", "x", "randmap:{only}"], ["-q", "x", "randmap:{ {one value} }"], ["-q", "x", "randmap:{}"],
                     ["-q", "x", "randmap:{a"], ["-q", "x", "randmap:a"], ["-q", "x", "randmap:{a}b"], ["-s", "randmap:{a}"],
                     ["-d", "x", "randmap:{a}"], ["randmap:{a}"], ["randmap:{b}"], ["-q", "x", "randmap:{a}", "static:no"]] {
            try twin.same("postmap", args)
        }
        try twin.same("postmap", ["-q", "-", "randmap:{only}"], stdin: Array("a\nb\n".utf8))
        try twin.same("postmap", ["-i", "randmap:{a}"], stdin: Array("k v\n".utf8))
        // Several values: both answer one of them.
        for _ in 0..<5 {
            let (ours, theirs) = try twin.run("postmap", ["-q", "x", "randmap:{a, b,c}"])
            #expect(ours.status == 0 && theirs.status == 0)
            #expect(["a\n", "b\n", "c\n"].contains(ours.out) && ["a\n", "b\n", "c\n"].contains(theirs.out))
        }
    }

    @Test("unix: passwd.byname and group.byname", arguments: configs)
    func unix(config: String) throws {
        let twin = Twin(mainCf: config)
        for args in [["-q", "root", "unix:passwd.byname"], ["-q", "ROOT", "unix:passwd.byname"], ["-f", "-q", "ROOT", "unix:passwd.byname"],
                     ["-q", "nobody", "unix:passwd.byname"], ["-q", "no-such-user", "unix:passwd.byname"],
                     ["-q", "root", "unix:group.byname"], ["-q", "daemon", "unix:group.byname"], ["-q", "x", "unix:foo"],
                     ["-s", "unix:passwd.byname"], ["-d", "root", "unix:passwd.byname"], ["unix:passwd.byname"],
                     ["-q", "Stra\u{df}e", "unix:passwd.byname"]] {
            try twin.same("postmap", args)
        }
        try twin.same("postmap", ["-q", "-", "unix:passwd.byname", "unix:group.byname"],
                      stdin: Array("root\nbin\nno-such\nsys\nmail\n".utf8))
    }

    @Test("internal: an empty in-memory table", arguments: configs)
    func internalTable(config: String) throws {
        let twin = Twin(mainCf: config, files: ["src": Array("k v\n".utf8)])
        for args in [["-q", "x", "internal:t"], ["-s", "internal:t"], ["-d", "x", "internal:t"], ["internal:src"],
                     ["internal:missing"], ["-q", "x", "internal:t", "static:second"]] {
            try twin.same("postmap", args)
        }
        try twin.same("postmap", ["-i", "internal:t"], stdin: Array("k v\n".utf8))
        try twin.same("postmap", ["-d", "-", "internal:t"], stdin: Array("k\n".utf8))
    }

    @Test("proxy: sequence, build and update are refused as Postfix refuses them")
    func proxyRefusals() throws {
        let twin = Twin(files: ["map": Array("k v\n".utf8)])
        try twin.same("postmap", ["map"])
        for tool in ["postmap", "postalias"] {
            try twin.same(tool, ["-s", "proxy:hash:map"])
            try twin.same(tool, ["proxy:hash:map"])
            try twin.same(tool, ["-i", "proxy:hash:map"], stdin: Array("a b\n".utf8))
        }
    }

    /// Without a running Postfix there is no proxymap socket: both tools warn and retry every 10 seconds
    /// (and give up after the 11th attempt, 100 seconds later; not waited for here).
    @Test("proxy: the same retries when proxymap is missing")
    func proxyWithoutService() throws {
        let twin = Twin(mainCf: "compatibility_level = 0\nqueue_directory = /nonexistent-queue\n",
                        files: ["map": Array("k v\n".utf8)])
        try twin.same("postmap", ["map"])
        var outputs: [String] = []
        for (binary, dir) in [(Paths.ours("postmap"), twin.ours), (Paths.postfix("postmap"), twin.theirs)] {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: binary)
            process.arguments = ["-c", ".", "-q", "k", "proxy:hash:map"]
            process.currentDirectoryURL = dir.url
            // Its messages go to a file, so the test can see the first warning while it runs.
            _ = FileManager.default.createFile(atPath: dir.file("stderr"), contents: nil)
            let err = try #require(FileHandle(forWritingAtPath: dir.file("stderr")))
            process.standardError = err
            process.standardOutput = FileHandle.nullDevice
            try process.run()
            try err.close()
            // The first attempt's warning is printed at once; the next attempt comes 10 s later.
            let warned = waitUntil(deadline: 8) {
                String(decoding: dir.read("stderr") ?? [], as: UTF8.self).contains("connect #1 ")
            }
            #expect(warned, "\(binary) printed no first warning")
            #expect(process.isRunning, "\(binary) should be waiting to retry")
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            outputs.append(String(decoding: dir.read("stderr") ?? [], as: UTF8.self))
        }
        #expect(outputs[0] == "postmap: warning: connect #1 to subsystem /nonexistent-queue/private/proxymap: No such file or directory\n")
        #expect(outputs[0] == outputs[1])
    }

    /// `10.0.0.0/264`: Postfix reads the mask with atoi into an unsigned char (264 is 8) and matches
    /// the rule; so do we, and lint, which now parses with the table's own code, accepts it too.
    @Test("a cidr mask Postfix wraps: the same answer, and no lint error")
    func cidrWrappedMask() throws {
        let rules = "10.0.0.0/264 wrapped\n10.0.0.0/33 never\n192.0.2.0/24 ok\n"
        let twin = Twin(files: ["clients.cidr": Array(rules.utf8)])
        for key in ["10.1.2.3", "11.0.0.1", "192.0.2.9"] {
            try twin.same("postmap", ["-q", key, "cidr:clients.cidr"])
        }
        twin.write("main.cf", "compatibility_level = 3.6\nsmtpd_client_restrictions = check_client_access cidr:\(twin.ours.path)/clients.cidr\n")
        let lint = try run(Paths.ours("postconf"), ["--check", "-c", "."], in: twin.ours.url)
        #expect(!lint.out.contains("264"), "\(lint.out)")
        // The finding names its place once: the rule file and line, then Postfix's text.
        #expect(lint.out.contains("/clients.cidr:2: error: bad mask length in \"10.0.0.0/33\": skipping this rule"), "\(lint.out)")
    }
}
