import PostfixText
/// Where a table sends the messages that Postfix would log: warnings (`msg_warn`), such as a database
/// older than its source or a malformed UTF-8 key; errors (`msg_error`), such as a failed TLS start on
/// an LDAP connection; and informational lines (`msg_info`), such as client-library debug output. The
/// command-line tools print them as `PROG: warning: TEXT`, `PROG: error: TEXT` and `PROG: TEXT`.
public struct Diagnostics: Sendable {
    /// Receives one warning text, without the program prefix.
    public var warning: @Sendable (String) -> Void
    /// Receives one error text; without a sink of its own, errors are reported as warnings.
    public var error: @Sendable (String) -> Void
    /// Receives one informational text; dropped unless a sink is given.
    public var info: @Sendable (String) -> Void

    public init(warning: @escaping @Sendable (String) -> Void,
                error: (@Sendable (String) -> Void)? = nil,
                info: (@Sendable (String) -> Void)? = nil) {
        self.warning = warning
        self.error = error ?? warning
        self.info = info ?? { _ in }
    }

    /// Drops every message.
    public static let silent = Diagnostics(warning: { _ in })
}
