import PostfixText
/// One parameter of the built-in table.
public struct BuiltinParameter: Sendable {
    /// The parameter name.
    public let name: [UInt8]
    /// Its value syntax.
    public let kind: ParameterKind
    /// The lower limit (integers, times) or minimum length (strings); `nil` or 0 when unchecked.
    public let min: Int?
    /// The upper limit; 0 or `nil` when unlimited.
    public let max: Int?
    /// The default value as `postconf -d` prints it (empty for host-dependent and run-time values).
    public let defaultValue: [UInt8]
}
