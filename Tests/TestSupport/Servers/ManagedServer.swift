import Foundation
import Testing

/// A server the tests start on the daemon runner, either shared by a suite (`isShared`: started once,
/// stopped when the test process ends) or a test's own. Stopping and freezing are the same for every
/// such server; only the stop signal, the grace period and whether its children freeze with it differ.
public protocol ManagedServer: AnyObject, Sendable {
    /// The running process.
    var daemon: Daemon { get }
    /// The suite's shared instance: tests may not stop or freeze it.
    var isShared: Bool { get }
    /// The signal that stops it cleanly.
    static var stopSignal: Int32 { get }
    /// Seconds between that signal and SIGKILL.
    static var stopGrace: TimeInterval { get }
    /// Whether pause and resume reach its child processes too (PostgreSQL's backends).
    static var freezesTree: Bool { get }
}

extension ManagedServer {
    public static var stopSignal: Int32 { SIGTERM }
    public static var freezesTree: Bool { false }

    /// Stop the server and wait for it (a test's own instance only).
    public func stop() {
        guard refuseIfShared("stop") else { return }
        daemon.stop(signal: Self.stopSignal, grace: Self.stopGrace)
    }

    /// Stop it at the end of the test process (the shared instance's exit hook).
    func shutdown() { daemon.stop(signal: Self.stopSignal, grace: Self.stopGrace) }

    /// Freeze the server (SIGSTOP): the kernel still accepts connections, nothing answers.
    public func pause() {
        guard refuseIfShared("pause") else { return }
        daemon.pause(tree: Self.freezesTree)
    }

    /// Let a paused server run again.
    public func resume() { daemon.resume(tree: Self.freezesTree) }

    /// A test that stops or freezes the shared instance would break the others: it must make its own.
    private func refuseIfShared(_ what: String) -> Bool {
        if isShared { Issue.record("\(what)() on the shared \(Self.self): a test that changes the server makes its own") }
        return !isShared
    }
}
