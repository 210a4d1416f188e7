import Foundation

/// One long-running helper process for a test: a database server, memcached, our postmapd. It runs in
/// the foreground with its standard output and error in a log file; `start` waits until a readiness
/// condition holds (a port accepting, a socket file, a log line), with a deadline, and on failure stops
/// the process and throws with the end of its log. `stop` signals it, waits with a grace period, then
/// kills it. It is never a system service, and it is stopped when the value is dropped.
public final class Daemon: @unchecked Sendable {
    // @unchecked Sendable: `process` is read and written only under `lock`; everything else is set in
    // init and never changed.
    public let name: String
    public let command: [String]
    public let directory: URL
    /// Where the process's standard output and error go.
    public let logPath: String
    private let environment: [String: String]
    private var process: Process?
    private var lastStatus: Int32?
    private let lock = NSLock()

    /// `command[0]` is the executable. Nothing runs until `start`.
    public init(_ name: String, command: [String], in directory: URL, log: String? = nil, environment: [String: String] = [:]) {
        self.name = name
        self.command = command
        self.directory = directory
        self.logPath = log ?? directory.appendingPathComponent("\(name).log").path
        self.environment = environment
    }

    deinit { stop() }

    /// What the process printed so far.
    public var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    /// The running process's id, if it runs.
    public var pid: pid_t? { lock.withLock { process.flatMap { $0.isRunning ? $0.processIdentifier : nil } } }
    public var isRunning: Bool { pid != nil }

    /// Start the process and wait, at most `deadline` seconds, until `ready()` holds. If the process
    /// exits first or the deadline passes, stop it and throw with the end of its log (and of `extraLog`,
    /// a log file the daemon writes itself).
    public func start(deadline: TimeInterval = 30, extraLog: String? = nil, until ready: () -> Bool) throws {
        guard let executable = command.first, FileManager.default.isExecutableFile(atPath: executable) else {
            throw MissingProgram(path: command.first ?? "")
        }
        if !FileManager.default.fileExists(atPath: logPath) { _ = FileManager.default.createFile(atPath: logPath, contents: nil) }
        guard let logHandle = FileHandle(forWritingAtPath: logPath) else { throw TestSupportError("cannot write \(logPath)") }
        logHandle.seekToEndOfFile()
        let p = Process()
        p.executableURL = URL(fileURLWithPath: executable)
        p.arguments = Array(command.dropFirst())
        p.currentDirectoryURL = directory
        p.environment = childEnvironment(environment)
        p.standardOutput = logHandle
        p.standardError = logHandle
        p.standardInput = FileHandle.nullDevice
        try p.run()
        try? logHandle.close()
        lock.withLock { process = p }
        if waitUntil(deadline: deadline, interval: 0.02, { ready() || !p.isRunning }) && p.isRunning { return }
        let exited = !p.isRunning
        stop()
        var text = String(log.suffix(3000))
        if let extraLog, let more = try? String(contentsOfFile: extraLog, encoding: .utf8) { text += "\n--- \(extraLog)\n" + more.suffix(3000) }
        throw TestSupportError("\(name) \(exited ? "exited" : "was not ready after \(deadline) s") (\(command.joined(separator: " "))):\n\(text)")
    }

    /// Send `signal` to the process (nothing if it is not running).
    public func signal(_ signal: Int32) {
        if let pid { kill(pid, signal) }
    }

    /// The process and its children (a server's backends), from /proc.
    public func processTree() -> [pid_t] {
        guard let root = pid else { return [] }
        var ids = [root]
        if let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") {
            for entry in entries {
                guard let id = Int32(entry), let stat = try? String(contentsOfFile: "/proc/\(entry)/stat", encoding: .utf8),
                      let close = stat.lastIndex(of: ")") else { continue }
                let fields = stat[stat.index(after: close)...].split(separator: " ")
                if fields.count > 2, Int32(fields[1]) == root { ids.append(id) }
            }
        }
        return ids
    }

    /// Freeze the process (and its children with `tree`) with SIGSTOP: the kernel still accepts
    /// connections, nothing answers.
    public func pause(tree: Bool = false) { for id in tree ? processTree() : (pid.map { [$0] } ?? []) { kill(id, SIGSTOP) } }

    /// Let a paused process run again.
    public func resume(tree: Bool = false) { for id in tree ? processTree() : (pid.map { [$0] } ?? []) { kill(id, SIGCONT) } }

    /// Stop the process: `signal` (TERM unless told), SIGKILL to it and its children after `grace`
    /// seconds, and wait for it. Returns its exit status (that of its last run if it was already stopped),
    /// or nil if it never started.
    @discardableResult
    public func stop(signal: Int32 = SIGTERM, grace: TimeInterval = 10) -> Int32? {
        let children = processTree()
        guard let p = lock.withLock({ () -> Process? in defer { process = nil }; return process }) else {
            return lock.withLock { lastStatus }
        }
        if p.isRunning {
            for id in children { kill(id, SIGCONT) }
            kill(p.processIdentifier, signal)
            if !waitUntil(deadline: grace, interval: 0.02, { !p.isRunning }) {
                for id in children.reversed() { kill(id, SIGKILL) }
            }
        }
        p.waitUntilExit()
        lock.withLock { lastStatus = p.terminationStatus }
        return p.terminationStatus
    }

    /// Whether the process was started and has not been stopped.
    public var started: Bool { lock.withLock { process != nil } }
}

/// A value made once per test process, on first use, and shared by the tests of a suite: a database
/// server that every test of a suite queries, each in its own part of it. Its `stop` runs when the test
/// process exits. A failure to make it is remembered, so each test that asks reports it.
public final class Shared<Value: Sendable>: @unchecked Sendable {
    // @unchecked Sendable: `state` is read and written only under `lock`; `make` and `stop` are
    // immutable and Sendable.
    private let make: @Sendable () throws -> Value
    private let onExit: @Sendable (Value) -> Void
    private var state: Result<Value, any Error>?
    private let lock = NSLock()

    public init(stop: @escaping @Sendable (Value) -> Void, make: @escaping @Sendable () throws -> Value) {
        self.make = make
        self.onExit = stop
    }

    /// The shared value, for an async test: made (or waited for) on a Dispatch thread, so starting a
    /// server does not hold one of Swift Testing's cooperative threads.
    public func value() async throws -> Value {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async { continuation.resume(with: Result { try self.get() }) }
        }
    }

    /// The shared value, made by the first caller (the others wait for it).
    public func get() throws -> Value {
        try lock.withLock { () throws -> Value in
            if let state { return try state.get() }
            let made = Result { try make() }
            state = made
            if case .success(let value) = made {
                let stop = onExit
                ExitHooks.add { stop(value) }
            }
            return try made.get()
        }
    }
}

/// Work to do when the test process exits: stopping the shared daemons.
enum ExitHooks {
    private static let hooks = Mutex()

    /// A lock around the list, and the one-time atexit registration.
    final class Mutex: @unchecked Sendable {
        // @unchecked Sendable: `list` and `registered` are read and written only under `lock`.
        let lock = NSLock()
        var list: [@Sendable () -> Void] = []
        var registered = false
    }

    static func add(_ hook: @escaping @Sendable () -> Void) {
        hooks.lock.withLock {
            hooks.list.append(hook)
            if !hooks.registered {
                hooks.registered = true
                atexit { ExitHooks.runAll() }
            }
        }
    }

    static func runAll() {
        let list = hooks.lock.withLock { () -> [@Sendable () -> Void] in defer { hooks.list = [] }; return hooks.list }
        for hook in list.reversed() { hook() }
    }
}
