/// A fatal error: Postfix prints `PROG: fatal: MESSAGE` and exits with status 1.
public struct PostconfFatal: Error, Sendable {
    /// The text after `fatal: `.
    public var message: String
    /// A fatal error with Postfix's text.
    public init(_ message: String) { self.message = message }
}
