import Foundation
import Testing
import TestSupport
@testable import Explain
import MapBackends
import PostfixConfig
import PostfixText

extension Paths {
    static var postexplain: String { ours("postexplain") }
    /// Debian's postmap builds and answers the oracle's tables (or REQUIRE_ORACLE=1 makes a missing one fail).
    static var oracle: Bool { Oracle.enabled(executable("/usr/sbin/postmap")) }
}

/// A temporary configuration directory with main.cf and files; removed on deinit.
final class TempConfig {
    let dir: URL
    init(mainCF: String, files: [String: String] = [:]) throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("explain-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try mainCF.write(to: dir.appendingPathComponent("main.cf"), atomically: true, encoding: .utf8)
        for (name, text) in files {
            try text.replacingOccurrences(of: "@DIR@", with: dir.path).write(to: dir.appendingPathComponent(name), atomically: true, encoding: .utf8)
        }
        settle()
    }

    /// Give main.cf an hour-old time stamp: Debian's postmap (and a private Postfix) waits about 2 s for a
    /// main.cf changed within the last second or two to settle before it reads it. Call after rewriting it.
    func settle() {
        try? FileManager.default.setAttributes([.modificationDate: Date().addingTimeInterval(-3600)],
                                               ofItemAtPath: dir.appendingPathComponent("main.cf").path)
    }
    deinit { try? FileManager.default.removeItem(at: dir) }
    var path: String { dir.path }

    func explainer(_ overrides: [(String, String)] = []) throws -> Explainer {
        Explainer(context: try ExplainContext.load(directory: path, service: nil, overrides: overrides))
    }

    /// Build `name` as a hash table with Debian's postmap.
    func postmapBuild(_ name: String) throws {
        let r = try run("/usr/sbin/postmap", ["-c", path, "hash:\(path)/\(name)"])
        #expect(r.status == 0, "\(r.stderr)")
    }

    /// `postmap -q key hash:table`: the value, or nil.
    func postmapQuery(_ key: [UInt8], _ table: String) throws -> String? {
        let r = try run("/usr/sbin/postmap", ["-c", path, "-q", String(decoding: key, as: UTF8.self), table])
        return r.status == 0 ? String(r.out.dropLast()) : nil
    }
}

/// What a tool printed, as text (postexplain's output is text; `out` is the same as `stdout`).
struct RunResult {
    var stdout: String
    var stderr: String
    var status: Int32
    var out: String { stdout }
}

/// Run a tool from the package root (every call to Debian's binaries names its configuration directory
/// with -c), under TestSupport's deadline.
@discardableResult
func run(_ executable: String, _ arguments: [String], stdin: String? = nil, timeout: TimeInterval = 120) throws -> RunResult {
    let o = try TestSupport.run(executable, arguments, in: Paths.root, stdin: stdin.map { Array($0.utf8) }, timeout: timeout)
    return RunResult(stdout: o.out, stderr: o.stderr, status: o.status)
}

extension Explanation {
    /// Every key node, depth first: (key, found).
    var keys: [(key: String, found: Bool)] {
        var out: [(String, Bool)] = []
        func walk(_ n: ExplainNode) {
            if n.kind == .key, let k = n.key { out.append((String(decoding: k, as: UTF8.self), n.children.contains { $0.outcome == "found" })) }
            n.children.forEach(walk)
        }
        nodes.forEach(walk)
        return out
    }
}
