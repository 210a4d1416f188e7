/// A fatal error, Postfix's `msg_fatal` as a value: the tool prints `PROG: fatal: MESSAGE` and exits with status 1. Library and tool
/// code throw it; only `main` turns it into an exit status.
public struct Fatal: Error, Sendable {
    /// The text after `fatal: `.
    public var message: String
    /// A fatal error with Postfix's text.
    public init(_ message: String) { self.message = message }
}
