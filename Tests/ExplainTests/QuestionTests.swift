import Foundation
import Testing
import TestSupport

/// The worked examples of testdata/explain/questions: each directory holds a configuration, the
/// question (its first line; then postexplain's arguments, one a line), the expected answer, and the
/// setting the answer must name (`setting`). DIR in the files stands for the directory.
struct QuestionTests {
    static let root = Paths.root.appendingPathComponent("testdata/explain/questions")
    static var cases: [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: root.path)) ?? []).filter { !$0.contains(".") }.sorted()
    }

    @Test(arguments: cases)
    func question(_ name: String) throws {
        let source = Self.root.appendingPathComponent(name)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("question-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        for file in try FileManager.default.contentsOfDirectory(atPath: source.path) where !["question", "expected", "setting"].contains(file) {
            var text = try String(contentsOf: source.appendingPathComponent(file), encoding: .utf8)
            if file != "main.cf" { text = text.replacingOccurrences(of: "DIR", with: dir.path) }
            try text.write(to: dir.appendingPathComponent(file), atomically: true, encoding: .utf8)
        }
        let lines = try String(contentsOf: source.appendingPathComponent("question"), encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        #expect(lines.first?.hasPrefix("# ") == true, "\(name): the first line is the question")
        let arguments = lines.dropFirst().filter { !$0.isEmpty }
        guard let command = arguments.first else { Issue.record("\(name): no arguments"); return }
        let r = try run(Paths.postexplain, [command, "-c", dir.path, "--color", "never"] + arguments.dropFirst())
        let output = (r.stdout + r.stderr).replacingOccurrences(of: dir.path, with: "DIR")
        let expected = try String(contentsOf: source.appendingPathComponent("expected"), encoding: .utf8)
        #expect(output == expected, "\(name):\n\(output)")
        let setting = try String(contentsOf: source.appendingPathComponent("setting"), encoding: .utf8).trimmingCharacters(in: .newlines)
        #expect(expected.contains(setting), "\(name): the answer must name \(setting)")
    }
}
