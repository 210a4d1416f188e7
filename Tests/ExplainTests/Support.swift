import Foundation
import Testing
@testable import Explain
import MapBackends
import PostfixConfig
import PostfixText

enum Paths {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static var postexplain: String {
        if let dir = ProcessInfo.processInfo.environment["MAPS_BIN_DIR"] { return "\(dir)/postexplain" }
        return root.appendingPathComponent(".build/debug/postexplain").path
    }
    static var oracle: Bool {
        FileManager.default.isExecutableFile(atPath: "/usr/sbin/postmap") || ProcessInfo.processInfo.environment["REQUIRE_ORACLE"] == "1"
    }
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
        return r.status == 0 ? String(r.stdout.dropLast()) : nil
    }
}

struct RunResult { var stdout: String; var stderr: String; var status: Int32 }

@discardableResult
func run(_ executable: String, _ arguments: [String], stdin: String? = nil) throws -> RunResult {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    var env = ProcessInfo.processInfo.environment
    env.removeValue(forKey: "MAIL_CONFIG")
    process.environment = env
    let out = Pipe(), err = Pipe(), input = Pipe()
    process.standardOutput = out
    process.standardError = err
    process.standardInput = stdin == nil ? FileHandle.nullDevice : input
    try process.run()
    if let stdin {
        try input.fileHandleForWriting.write(contentsOf: Data(stdin.utf8))
        try input.fileHandleForWriting.close()
    }
    let o = out.fileHandleForReading.readDataToEndOfFile(), e = err.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return RunResult(stdout: String(decoding: o, as: UTF8.self), stderr: String(decoding: e, as: UTF8.self), status: process.terminationStatus)
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
