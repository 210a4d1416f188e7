import Foundation
import Testing

/// What one command printed and how it ended.
public struct Outcome: Equatable, Sendable, CustomStringConvertible {
    public var stdout: [UInt8]
    public var stderr: String
    public var status: Int32

    public init(stdout: [UInt8], stderr: String, status: Int32) {
        self.stdout = stdout
        self.stderr = stderr
        self.status = status
    }

    public var out: String { String(decoding: stdout, as: UTF8.self) }
    public var description: String { "status \(status)\n--- stdout\n\(out)--- stderr\n\(stderr)" }
}

/// The environment a child runs with: ours, less Postfix's `MAIL_CONFIG` and `MAIL_VERBOSE`, plus `extra`.
func childEnvironment(_ extra: [String: String]) -> [String: String] {
    var env = ProcessInfo.processInfo.environment
    env.removeValue(forKey: "MAIL_CONFIG")
    env.removeValue(forKey: "MAIL_VERBOSE")
    for (k, v) in extra { env[k] = v }
    return env
}

/// A started child with its output drained: `finish` waits for its end, at most until a deadline.
final class RunningCommand: @unchecked Sendable {
    // @unchecked Sendable: `outData` and `errData` are written by one drain task each and read only after
    // `group.wait()`, which orders those writes before the read; the rest is set in init.
    let process = Process()
    let executable: String
    let arguments: [String]
    private let group = DispatchGroup()
    private nonisolated(unsafe) var outData = Data()
    private nonisolated(unsafe) var errData = Data()

    init(_ executable: String, _ arguments: [String], in directory: URL, stdin: [UInt8]?, environment: [String: String]) throws {
        // A child that exits without reading its input must not kill the test process.
        signal(SIGPIPE, SIG_IGN)
        guard FileManager.default.isExecutableFile(atPath: executable) else { throw MissingProgram(path: executable) }
        self.executable = executable
        self.arguments = arguments
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.currentDirectoryURL = directory
        process.environment = childEnvironment(environment)
        let outPipe = Pipe(), errPipe = Pipe(), inPipe = Pipe()
        process.standardOutput = outPipe
        process.standardError = errPipe
        process.standardInput = stdin == nil ? FileHandle.nullDevice : inPipe
        try process.run()
        // Drain both pipes concurrently so a chatty child never blocks.
        group.enter()
        DispatchQueue.global().async { [self] in outData = outPipe.fileHandleForReading.readDataToEndOfFile(); group.leave() }
        group.enter()
        DispatchQueue.global().async { [self] in errData = errPipe.fileHandleForReading.readDataToEndOfFile(); group.leave() }
        if let stdin {
            let handle = inPipe.fileHandleForWriting
            DispatchQueue.global().async {
                try? handle.write(contentsOf: Data(stdin))
                try? handle.close()
            }
        }
    }

    /// Block the calling thread until the child ends (polling: no thread is added per child); past
    /// `deadline` it is terminated and an issue recorded.
    func finish(deadline: Date) -> Outcome {
        while process.isRunning && Date() < deadline { usleep(2000) }
        return collect()
    }

    /// Await the child's end: the task sleeps between polls, so it holds no thread meanwhile.
    func finishAsync(deadline: Date) async -> Outcome {
        while process.isRunning && Date() < deadline { try? await Task.sleep(nanoseconds: 2_000_000) }
        if !process.isRunning {
            // The output may still be on its way to the drain tasks: await them without blocking.
            await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in group.notify(queue: .global()) { done.resume() } }
        }
        return collect()
    }

    private func collect() -> Outcome {
        if process.isRunning {
            process.terminate()
            Issue.record("timed out: \(executable) \(arguments)")
        }
        process.waitUntilExit()
        group.wait()
        return Outcome(stdout: [UInt8](outData), stderr: String(decoding: errData, as: UTF8.self), status: process.terminationStatus)
    }
}

/// Run `executable` with `arguments` in `directory`, feeding `stdin`. Waits at most `timeout` seconds
/// (then terminates the child and records an issue). Blocks the calling thread: in an `async` test use
/// `runAsync`, which does not hold one of Swift Testing's few cooperative threads while it waits.
@discardableResult
public func run(_ executable: String, _ arguments: [String], in directory: URL, stdin: [UInt8]? = nil,
                environment: [String: String] = [:], timeout: TimeInterval = 120) throws -> Outcome {
    try RunningCommand(executable, arguments, in: directory, stdin: stdin, environment: environment)
        .finish(deadline: Date().addingTimeInterval(timeout))
}

/// `run`, awaited: the calling task is suspended (not blocked) until the child ends, so it does not hold
/// one of Swift Testing's cooperative threads meanwhile.
@discardableResult
public func runAsync(_ executable: String, _ arguments: [String], in directory: URL, stdin: [UInt8]? = nil,
                     environment: [String: String] = [:], timeout: TimeInterval = 120) async throws -> Outcome {
    let command = try RunningCommand(executable, arguments, in: directory, stdin: stdin, environment: environment)
    return await command.finishAsync(deadline: Date().addingTimeInterval(timeout))
}

/// Poll `condition` every `interval` seconds until it holds or `deadline` seconds pass; returns whether it
/// held. For a test that waits for something to happen (a log line, a file, a port), instead of sleeping
/// a fixed time and hoping.
@discardableResult
public func waitUntil(deadline: TimeInterval, interval: TimeInterval = 0.01, _ condition: () throws -> Bool) rethrows -> Bool {
    let end = Date().addingTimeInterval(deadline)
    while true {
        if try condition() { return true }
        if Date() >= end { return false }
        usleep(useconds_t(interval * 1_000_000))
    }
}

/// `waitUntil` for async tests: sleeps with `Task.sleep`, so the thread is free between polls.
@discardableResult
public func waitUntilAsync(deadline: TimeInterval, interval: TimeInterval = 0.01,
                           _ condition: () async throws -> Bool) async throws -> Bool {
    let end = Date().addingTimeInterval(deadline)
    while true {
        if try await condition() { return true }
        if Date() >= end { return false }
        try await Task.sleep(nanoseconds: UInt64(interval * 1_000_000_000))
    }
}

/// Run `body` on a thread of its own and wait at most `timeout` seconds for it: nil if it did not end
/// by then (it is left running; the caller records the failure). For code that could loop forever, so
/// a test fails instead of hanging.
public func withDeadline<T: Sendable>(_ timeout: TimeInterval, _ body: @escaping @Sendable () -> T) -> T? {
    let box = DeadlineBox<T>()
    Thread.detachNewThread {
        box.value = body()
        box.done.signal()
    }
    return box.done.wait(timeout: .now() + timeout) == .success ? box.value : nil
}

/// What `withDeadline`'s worker hands back.
final class DeadlineBox<T: Sendable>: @unchecked Sendable {
    // @unchecked Sendable: `value` is written once by the worker before `done.signal()` and read by the
    // waiter only after `done.wait` succeeded, which orders the two.
    var value: T?
    let done = DispatchSemaphore(value: 0)
}
