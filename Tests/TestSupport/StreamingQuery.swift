import Foundation
import Testing

/// A `postmap -q -` process whose standard input the test writes a line at a time, so the server can
/// be stopped, frozen or restarted between two lookups of one process (one connection).
public final class StreamingQuery: @unchecked Sendable {
    // @unchecked Sendable: `out` and `err` are written by one drain task each and read only after
    // `group.wait()`; the test drives the rest from one task.
    public let process = Process()
    private let input = Pipe()
    private let output = Pipe()
    private let errors = Pipe()
    private nonisolated(unsafe) var out = Data()
    private nonisolated(unsafe) var err = Data()
    private let group = DispatchGroup()

    public init(_ executable: String, _ arguments: [String], in directory: URL) throws {
        signal(SIGPIPE, SIG_IGN)
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.currentDirectoryURL = directory
        process.environment = childEnvironment([:])
        process.standardInput = input
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        group.enter()
        DispatchQueue.global().async { [self] in out = output.fileHandleForReading.readDataToEndOfFile(); group.leave() }
        group.enter()
        DispatchQueue.global().async { [self] in err = errors.fileHandleForReading.readDataToEndOfFile(); group.leave() }
    }

    /// Send one key, then wait (at most 5 s) until the process has looked it up: it has read the key (the
    /// pipe is empty) and waits in a read of its input again, or it has ended.
    public func send(_ key: String) {
        let writer = input.fileHandleForWriting
        try? writer.write(contentsOf: Data((key + "\n").utf8))
        let pid = process.processIdentifier
        let process = self.process
        waitUntil(deadline: 5) {
            guard process.isRunning else { return true }
            var unread: Int32 = 0
            guard ioctl(writer.fileDescriptor, UInt(FIONREAD), &unread) == 0, unread == 0 else { return false }
            let wchan = (try? String(contentsOfFile: "/proc/\(pid)/wchan", encoding: .utf8)) ?? ""
            return wchan.hasSuffix("pipe_read")
        }
    }

    /// Close standard input and wait, at most `limit` seconds, for the end. Returns the outcome and the
    /// seconds it took after the input closed.
    public func finish(limit: TimeInterval = 60) -> (Outcome, TimeInterval) {
        let start = Date()
        try? input.fileHandleForWriting.close()
        while process.isRunning && Date().timeIntervalSince(start) < limit { usleep(10_000) }
        if process.isRunning {
            process.terminate()
            Issue.record("postmap did not finish within \(limit) s")
        }
        process.waitUntilExit()
        group.wait()
        return (Outcome(stdout: [UInt8](out), stderr: String(decoding: err, as: UTF8.self), status: process.terminationStatus),
                Date().timeIntervalSince(start))
    }
}

extension Twin {
    /// Each postmap (ours, then Debian's) as one `-q -` process: `before`, a lookup of alice, `between`,
    /// a lookup of bob, the end of input, then `after`. Returns what each printed and how long it took to
    /// end once its input closed.
    public func twoLookups(_ map: String, before: () throws -> Void = {}, between: () throws -> Void,
                           after: () throws -> Void = {}) throws -> [(tool: String, outcome: Outcome, elapsed: TimeInterval)] {
        var runs: [(String, Outcome, TimeInterval)] = []
        for (tool, dir) in [(Paths.ours("postmap"), ours.url), (Paths.postfix("postmap"), theirs.url)] {
            try before()
            let query = try StreamingQuery(tool, ["-c", ".", "-q", "-", map], in: dir)
            query.send("alice@example.com")
            try between()
            query.send("bob@example.com")
            let (outcome, elapsed) = query.finish()
            try after()
            runs.append((tool, outcome, elapsed))
        }
        return runs
    }
}
