import Synchronization

/// Collects the warnings that tables and the explanation itself report, so that they can be shown in
/// the trace (text and JSON) instead of interleaved on standard error.
final class WarningSink: Sendable {
    private let lines = Mutex<[String]>([])

    func add(_ text: String) { lines.withLock { $0.append(text) } }

    /// Take every warning collected so far.
    func drain() -> [String] { lines.withLock { let out = $0; $0.removeAll(); return out } }
}
