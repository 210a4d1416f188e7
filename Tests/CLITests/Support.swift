import Foundation
import Testing

/// What one command printed and how it ended.
struct Outcome: Equatable, CustomStringConvertible {
    var stdout: [UInt8]
    var stderr: String
    var status: Int32

    var out: String { String(decoding: stdout, as: UTF8.self) }
    var description: String { "status \(status)\n--- stdout\n\(out)--- stderr\n\(stderr)" }
}

enum Paths {
    /// The package root, found from this file's location.
    static let root: URL = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    /// Our built tools (`swift build` puts them in .build/debug).
    static func ours(_ tool: String) -> String {
        if let dir = ProcessInfo.processInfo.environment["MAPS_BIN_DIR"] { return "\(dir)/\(tool)" }
        return root.appendingPathComponent(".build/debug/\(tool)").path
    }
    /// Debian's Postfix tools, the compatibility oracle.
    static func postfix(_ tool: String) -> String { "/usr/sbin/\(tool)" }
    static var oracleAvailable: Bool {
        FileManager.default.isExecutableFile(atPath: "/usr/sbin/postmap")
            && FileManager.default.isExecutableFile(atPath: "/usr/sbin/postalias")
    }
    static var lmdbOracleAvailable: Bool {
        oracleAvailable && FileManager.default.fileExists(atPath: "/usr/lib/postfix/postfix-lmdb.so")
    }
    static var pcreOracleAvailable: Bool {
        oracleAvailable && FileManager.default.fileExists(atPath: "/usr/lib/postfix/postfix-pcre.so")
    }
    static var cdbOracleAvailable: Bool {
        oracleAvailable && FileManager.default.fileExists(atPath: "/usr/lib/postfix/postfix-cdb.so")
    }
    static var postconfOracleAvailable: Bool { FileManager.default.isExecutableFile(atPath: "/usr/sbin/postconf") }
}

/// Debian's Postfix (and slapd) are the oracle. Outside `make test` a test whose oracle is missing is
/// skipped; `make test` sets `REQUIRE_ORACLE=1`, and then a missing oracle fails the run instead.
enum Oracle {
    static var required: Bool { ProcessInfo.processInfo.environment["REQUIRE_ORACLE"] == "1" }

    /// For `.enabled(if:)`: run when the oracle is there, and also when it is required (the test then
    /// fails, on the missing program or on its "unsupported dictionary type" answers).
    static func enabled(_ available: Bool) -> Bool { available || required }

    /// In a test body, before a part that needs an oracle: whether it is there. A required oracle
    /// that is missing is recorded as an issue; otherwise the caller skips that part.
    static func check(_ available: Bool, _ what: String, sourceLocation: SourceLocation = #_sourceLocation) -> Bool {
        if !available && required {
            Issue.record("REQUIRE_ORACLE=1 but \(what) is not installed (scripts/ensure-deps test installs it)",
                         sourceLocation: sourceLocation)
        }
        return available
    }

    /// Debian's postmap for tables of `type`: postfix, plus postfix-lmdb for lmdb.
    static func postmap(for type: String, sourceLocation: SourceLocation = #_sourceLocation) -> Bool {
        type == "lmdb" ? check(Paths.lmdbOracleAvailable, "Debian's postfix-lmdb", sourceLocation: sourceLocation)
            : type == "cdb" ? check(Paths.cdbOracleAvailable, "Debian's postfix-cdb", sourceLocation: sourceLocation)
            : check(Paths.oracleAvailable, "Debian's postfix", sourceLocation: sourceLocation)
    }
}

/// A program the tests need is not installed.
struct MissingProgram: Error, CustomStringConvertible {
    let path: String
    var description: String { "\(path) is not installed (scripts/ensure-deps test installs the oracle and test tools)" }
}

/// Run `executable` with `arguments` in `directory`, feeding `stdin`. Waits at most `timeout` seconds.
@discardableResult
func run(_ executable: String, _ arguments: [String], in directory: URL, stdin: [UInt8]? = nil,
         environment: [String: String] = [:], timeout: TimeInterval = 120) throws -> Outcome {
    // A child that exits without reading its input must not kill the test process.
    signal(SIGPIPE, SIG_IGN)
    guard FileManager.default.isExecutableFile(atPath: executable) else { throw MissingProgram(path: executable) }
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    process.currentDirectoryURL = directory
    var env = ProcessInfo.processInfo.environment
    env.removeValue(forKey: "MAIL_CONFIG")
    env.removeValue(forKey: "MAIL_VERBOSE")
    for (k, v) in environment { env[k] = v }
    process.environment = env
    let outPipe = Pipe(), errPipe = Pipe(), inPipe = Pipe()
    process.standardOutput = outPipe
    process.standardError = errPipe
    process.standardInput = stdin == nil ? FileHandle.nullDevice : inPipe
    try process.run()
    // Drain both pipes concurrently so a chatty child never blocks.
    nonisolated(unsafe) var outData = Data(), errData = Data()
    let group = DispatchGroup()
    group.enter()
    DispatchQueue.global().async { outData = outPipe.fileHandleForReading.readDataToEndOfFile(); group.leave() }
    group.enter()
    DispatchQueue.global().async { errData = errPipe.fileHandleForReading.readDataToEndOfFile(); group.leave() }
    if let stdin {
        let handle = inPipe.fileHandleForWriting
        DispatchQueue.global().async {
            try? handle.write(contentsOf: Data(stdin))
            try? handle.close()
        }
    }
    let deadline = Date().addingTimeInterval(timeout)
    while process.isRunning && Date() < deadline { usleep(2000) }
    if process.isRunning {
        process.terminate()
        Issue.record("timed out: \(executable) \(arguments)")
    }
    process.waitUntilExit()
    group.wait()
    return Outcome(stdout: [UInt8](outData), stderr: String(decoding: errData, as: UTF8.self),
                   status: process.terminationStatus)
}

/// A fresh temporary directory, removed when the value is dropped.
final class TempDir: Sendable {
    let url: URL
    init(_ label: String = "maps") {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("\(label)-\(UUID().uuidString)")
        try! FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }
    var path: String { url.path }
    func write(_ name: String, _ bytes: [UInt8]) {
        let path = url.appendingPathComponent(name).path
        if !FileManager.default.createFile(atPath: path, contents: Data(bytes)) { Issue.record("cannot write \(path)") }
        if name == "main.cf" {
            // See Twin.write: Postfix waits on a just-changed main.cf.
            try? FileManager.default.setAttributes([.modificationDate: Date().addingTimeInterval(-3600)], ofItemAtPath: path)
        }
    }
    func write(_ name: String, _ text: String) { write(name, Array(text.utf8)) }
    func read(_ name: String) -> [UInt8]? {
        FileManager.default.contents(atPath: url.appendingPathComponent(name).path).map { [UInt8]($0) }
    }
    func exists(_ name: String) -> Bool { FileManager.default.fileExists(atPath: url.appendingPathComponent(name).path) }
    func file(_ name: String) -> String { url.appendingPathComponent(name).path }
    deinit { try? FileManager.default.removeItem(at: url) }
}

/// The same files in two directories: one for our tools, one for Postfix's. Commands run in each with
/// the same relative arguments, so every message is comparable byte for byte.
final class Twin {
    let ours = TempDir("ours")
    let theirs = TempDir("postfix")

    init(mainCf: String = "compatibility_level = 0\n", files: [String: [UInt8]] = [:]) {
        write("main.cf", Array(mainCf.utf8))
        for (name, bytes) in files { write(name, bytes) }
    }

    func write(_ name: String, _ bytes: [UInt8]) {
        ours.write(name, bytes)
        theirs.write(name, bytes)
        if name == "main.cf" || name.hasSuffix(".cf") {
            // Postfix rereads a main.cf (or a table's .cf file) changed within the last second until it
            // settles (about 2 s per run); an hour-old file keeps the tests fast and changes nothing else.
            let past = Date().addingTimeInterval(-3600)
            for dir in [ours, theirs] {
                try? FileManager.default.setAttributes([.modificationDate: past], ofItemAtPath: dir.file(name))
            }
        }
    }
    func write(_ name: String, _ text: String) { write(name, Array(text.utf8)) }

    /// Run `tool` (postmap, postalias) in both directories with `-c .` first.
    func run(_ tool: String, _ arguments: [String], stdin: [UInt8]? = nil, config: Bool = true) throws -> (ours: Outcome, theirs: Outcome) {
        let args = config ? ["-c", "."] + arguments : arguments
        let a = try CLITests.run(Paths.ours(tool), args, in: ours.url, stdin: stdin)
        let b = try CLITests.run(Paths.postfix(tool), args, in: theirs.url, stdin: stdin)
        return (a, b)
    }

    /// Run in both and require identical stdout, stderr and exit status.
    @discardableResult
    func same(_ tool: String, _ arguments: [String], stdin: [UInt8]? = nil, config: Bool = true,
              normalize: (Outcome) -> Outcome = { $0 },
              sourceLocation: SourceLocation = #_sourceLocation) throws -> Outcome {
        let (a, b) = try run(tool, arguments, stdin: stdin, config: config)
        let x = normalize(a), y = normalize(b)
        #expect(x.status == y.status, "exit status of \(tool) \(arguments)", sourceLocation: sourceLocation)
        #expect(x.out == y.out, "stdout of \(tool) \(arguments)", sourceLocation: sourceLocation)
        #expect(x.stdout == y.stdout, "stdout bytes of \(tool) \(arguments)", sourceLocation: sourceLocation)
        #expect(x.stderr == y.stderr, "stderr of \(tool) \(arguments)", sourceLocation: sourceLocation)
        return a
    }
}

/// postalias's NIS timestamp differs between any two builds; blank it for comparisons.
func blankTimestamp(_ o: Outcome) -> Outcome {
    var copy = o
    let text = String(decoding: o.stdout, as: UTF8.self)
    let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map { line -> String in
        if line.hasPrefix("YP_LAST_MODIFIED") { return "YP_LAST_MODIFIED\t<time>" }
        return String(line)
    }
    copy.stdout = Array(lines.joined(separator: "\n").utf8)
    return copy
}

/// Deterministic pseudo-random numbers (SplitMix64), so a failing generated table can be reproduced.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
    mutating func chance(_ percent: Int) -> Bool { below(100) < percent }
    mutating func pick<T>(_ items: [T]) -> T { items[below(items.count)] }
}
