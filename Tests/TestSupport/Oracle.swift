import Foundation
import Testing

/// Debian's Postfix (and slapd) are the oracle. Outside `make test` a test whose oracle is missing is
/// skipped; `make test` sets `REQUIRE_ORACLE=1`, and then a missing oracle fails the run instead.
public enum Oracle {
    public static var required: Bool { ProcessInfo.processInfo.environment["REQUIRE_ORACLE"] == "1" }

    /// For `.enabled(if:)`: run when the oracle is there, and also when it is required (the test then
    /// fails, on the missing program or on its "unsupported dictionary type" answers).
    public static func enabled(_ available: Bool) -> Bool { available || required }

    /// In a test body, before a part that needs an oracle: whether it is there. A required oracle
    /// that is missing is recorded as an issue; otherwise the caller skips that part.
    public static func check(_ available: Bool, _ what: String, sourceLocation: SourceLocation = #_sourceLocation) -> Bool {
        if !available && required {
            Issue.record("REQUIRE_ORACLE=1 but \(what) is not installed (scripts/ensure-deps test installs it)",
                         sourceLocation: sourceLocation)
        }
        return available
    }

    /// Debian's postmap for tables of `type`: postfix, plus postfix-lmdb for lmdb.
    public static func postmap(for type: String, sourceLocation: SourceLocation = #_sourceLocation) -> Bool {
        type == "lmdb" ? check(Paths.lmdbOracleAvailable, "Debian's postfix-lmdb", sourceLocation: sourceLocation)
            : type == "cdb" ? check(Paths.cdbOracleAvailable, "Debian's postfix-cdb", sourceLocation: sourceLocation)
            : check(Paths.oracleAvailable, "Debian's postfix", sourceLocation: sourceLocation)
    }
}

/// A fresh temporary directory, removed when the value is dropped.
public final class TempDir: Sendable {
    public let url: URL
    public init(_ label: String = "maps", in parent: URL? = nil) {
        url = (parent ?? FileManager.default.temporaryDirectory).appendingPathComponent("\(label)-\(UUID().uuidString)")
        try! FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }
    public var path: String { url.path }
    public func write(_ name: String, _ bytes: [UInt8]) {
        let path = url.appendingPathComponent(name).path
        if !FileManager.default.createFile(atPath: path, contents: Data(bytes)) { Issue.record("cannot write \(path)") }
        if name.hasSuffix(".cf") {
            // See Twin.write: Postfix waits on a just-changed main.cf (or a table's .cf file).
            try? FileManager.default.setAttributes([.modificationDate: Date().addingTimeInterval(-3600)], ofItemAtPath: path)
        }
    }
    public func write(_ name: String, _ text: String) { write(name, Array(text.utf8)) }
    public func read(_ name: String) -> [UInt8]? {
        FileManager.default.contents(atPath: url.appendingPathComponent(name).path).map { [UInt8]($0) }
    }
    public func exists(_ name: String) -> Bool { FileManager.default.fileExists(atPath: url.appendingPathComponent(name).path) }
    public func file(_ name: String) -> String { url.appendingPathComponent(name).path }
    deinit { try? FileManager.default.removeItem(at: url) }
}

/// The same files in two directories: one for our tools, one for Postfix's. Commands run in each with
/// the same relative arguments, so every message is comparable byte for byte.
///
/// `release` picks the oracle: Debian 12's Postfix 3.7.11 on this machine (the default), or Debian 13's
/// 3.10.13 in the trixie root (`OracleRelease`); ours runs with `MAPS_POSTFIX_RELEASE` set to it.
public final class Twin: Sendable {
    public let ours = TempDir("ours")
    public let theirs: TempDir
    public let release: OracleRelease

    public init(mainCf: String = "compatibility_level = 0\n", files: [String: [UInt8]] = [:], release: OracleRelease = .v3_7) {
        self.release = release
        theirs = release.tempDir("postfix")
        write("main.cf", Array(mainCf.utf8))
        // The fixtures are settled files: an hour old. A texthash file modified within the last second is
        // read again every 0.3 s until it has been quiet for a second, repeating its warnings (Postfix's
        // dict_thash does the same), so a fresh one made the two sides' warnings depend on when each ran.
        let past = Date().addingTimeInterval(-3600)
        for (name, bytes) in files {
            write(name, bytes)
            for dir in [ours, theirs] {
                try? FileManager.default.setAttributes([.modificationDate: past], ofItemAtPath: dir.file(name))
            }
        }
    }

    public func write(_ name: String, _ bytes: [UInt8]) {
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
    public func write(_ name: String, _ text: String) { write(name, Array(text.utf8)) }

    /// Run `tool` (postmap, postalias) in both directories with `-c .` first.
    public func run(_ tool: String, _ arguments: [String], stdin: [UInt8]? = nil, config: Bool = true) throws -> (ours: Outcome, theirs: Outcome) {
        if !config && !arguments.contains("-c") {
            Issue.record("Twin.run(config: false) without -c: Debian's \(tool) would read /etc/postfix/main.cf")
        }
        let args = config ? ["-c", "."] + arguments : arguments
        let a = try TestSupport.run(Paths.ours(tool), args, in: ours.url, stdin: stdin, environment: release.environment)
        let b = try release.run(tool, args, in: theirs.url, stdin: stdin)
        return (a, b)
    }

    /// `run`, awaited: no thread is held while the programs run. Ours runs first, then Debian's, as in
    /// `run`: run at once against one server, the two would race for it, and outputs that depend on how
    /// far a lookup got within a server's time limit (an LDAP group that includes itself) would differ.
    public func runAsync(_ tool: String, _ arguments: [String], stdin: [UInt8]? = nil) async throws -> (ours: Outcome, theirs: Outcome) {
        let args = ["-c", "."] + arguments
        let a = try await TestSupport.runAsync(Paths.ours(tool), args, in: ours.url, stdin: stdin, environment: release.environment)
        let b = try await release.runAsync(tool, args, in: theirs.url, stdin: stdin)
        return (a, b)
    }

    /// Run in both and require identical stdout, stderr and exit status.
    @discardableResult
    public func same(_ tool: String, _ arguments: [String], stdin: [UInt8]? = nil, config: Bool = true,
              normalize: (Outcome) -> Outcome = { $0 },
              sourceLocation: SourceLocation = #_sourceLocation) throws -> Outcome {
        let (a, b) = try run(tool, arguments, stdin: stdin, config: config)
        Self.expectSame(normalize(a), normalize(b), tool, arguments, sourceLocation: sourceLocation)
        return a
    }

    /// Identical stdout, stderr and exit status.
    static func expectSame(_ x: Outcome, _ y: Outcome, _ tool: String, _ arguments: [String], sourceLocation: SourceLocation) {
        #expect(x.status == y.status, "exit status of \(tool) \(arguments)", sourceLocation: sourceLocation)
        #expect(x.out == y.out, "stdout of \(tool) \(arguments)", sourceLocation: sourceLocation)
        #expect(x.stdout == y.stdout, "stdout bytes of \(tool) \(arguments)", sourceLocation: sourceLocation)
        #expect(x.stderr == y.stderr, "stderr of \(tool) \(arguments)", sourceLocation: sourceLocation)
    }

    /// `same`, awaited: no thread is held while they run (one after the other). Requires identical
    /// stdout, stderr and exit status.
    @discardableResult
    public func sameAsync(_ tool: String, _ arguments: [String], stdin: [UInt8]? = nil,
              normalize: (Outcome) -> Outcome = { $0 },
              sourceLocation: SourceLocation = #_sourceLocation) async throws -> Outcome {
        let (a, b) = try await runAsync(tool, arguments, stdin: stdin)
        Self.expectSame(normalize(a), normalize(b), tool, arguments, sourceLocation: sourceLocation)
        return a
    }
}

extension Oracle {
    /// Run Debian's `tool` with `-c` and `directory` (a directory of the test's own, holding its main.cf)
    /// before `arguments`, so it never reads the machine's /etc/postfix. A main.cf is written there
    /// (`compatibility_level = 0`) when the directory has none.
    @discardableResult
    /// For 3.10, `directory` must be one of `release.tempDir()`'s.
    public static func run(_ tool: String, _ arguments: [String], config directory: TempDir, stdin: [UInt8]? = nil,
                           environment: [String: String] = [:], timeout: TimeInterval = 120,
                           release: OracleRelease = .v3_7) throws -> Outcome {
        if !directory.exists("main.cf") { directory.write("main.cf", "compatibility_level = 0\n") }
        return try release.run(tool, ["-c", release.inside(directory.path)] + arguments, in: directory.url, stdin: stdin,
                               environment: environment, timeout: timeout)
    }
}

/// postalias's NIS timestamp differs between any two builds; blank it for comparisons.
public func blankTimestamp(_ o: Outcome) -> Outcome {
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
public struct SplitMix: Sendable {
    public var state: UInt64
    public init(seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    public mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
    public mutating func chance(_ percent: Int) -> Bool { below(100) < percent }
    public mutating func pick<T>(_ items: [T]) -> T { items[below(items.count)] }
}
