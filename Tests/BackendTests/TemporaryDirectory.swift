import Foundation
import Testing

/// A temporary directory for each test case, removed when the case ends. A test (or a suite) that calls
/// `tempName()` carries the `.temporaryDirectory` trait.
struct TemporaryDirectoryTrait: TestTrait, SuiteTrait, TestScoping {
    /// The running test case's directory.
    @TaskLocal static var current: URL?

    /// On a suite, every test in it gets its own directory.
    var isRecursive: Bool { true }

    /// One scope per test case: not per suite, and not around all the cases of a parameterized test.
    func scopeProvider(for test: Test, testCase: Test.Case?) -> Self? { testCase == nil ? nil : self }

    func provideScope(for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void) async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("maps-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer {
            do { try FileManager.default.removeItem(at: dir) } catch { Issue.record("cannot remove \(dir.path): \(error)") }
        }
        try await Self.$current.withValue(dir) { try await function() }
    }
}

extension Trait where Self == TemporaryDirectoryTrait {
    /// Give each test case a temporary directory for `tempName()`, removed afterwards.
    static var temporaryDirectory: Self { Self() }
}

/// A fresh path `…/tbl-UUID/map` in the running test's temporary directory.
func tempName(sourceLocation: SourceLocation = #_sourceLocation) -> String {
    let base: URL
    if let current = TemporaryDirectoryTrait.current {
        base = current
    } else {
        Issue.record("tempName() in a test without the .temporaryDirectory trait: its files would stay behind",
                     sourceLocation: sourceLocation)
        base = FileManager.default.temporaryDirectory
    }
    let dir = base.appendingPathComponent("tbl-\(UUID().uuidString)")
    try! FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    return dir.appendingPathComponent("map").path
}
