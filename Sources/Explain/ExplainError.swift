/// A question postexplain cannot answer: bad input (exit 2) or a broken configuration (exit 4).
public struct ExplainError: Error, Sendable, CustomStringConvertible {
    /// What kind of failure; it gives the exit status.
    public enum Code: Sendable {
        /// Malformed input: an unknown parameter or role, a malformed address (exit 2).
        case input
        /// The configuration cannot be read or names a table that cannot be opened (exit 4).
        case configuration
        /// A table failed with a temporary error (exit 75).
        case temporary
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }

    /// The process exit status for this error.
    public var exitStatus: Int32 {
        switch code {
        case .input: return 2
        case .configuration: return 4
        case .temporary: return 75
        }
    }
}
