/// Where a table sends warnings that Postfix would log (`msg_warn`), such as a database older than its
/// source or a malformed UTF-8 key. The command-line tools print them as `PROG: warning: TEXT`.
public struct Diagnostics: Sendable {
    /// Receives one warning text, without the program prefix.
    public var warning: @Sendable (String) -> Void

    public init(warning: @escaping @Sendable (String) -> Void) {
        self.warning = warning
    }

    /// Drops every warning.
    public static let silent = Diagnostics(warning: { _ in })
}
