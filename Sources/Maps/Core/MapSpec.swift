import PostfixText
/// A `type:name` table reference, split at the first colon as Postfix does.
public struct MapSpec: Sendable, Equatable, CustomStringConvertible {
    /// The table type (`hash`, `lmdb`, `regexp`, ...).
    public var type: String
    /// Everything after the first colon, kept intact (`socketmap:inet:host:port:name`).
    public var name: String

    public init(type: String, name: String) {
        self.type = type
        self.name = name
    }

    /// Parse `type:name`; without a colon the whole argument is a name of `defaultType`.
    public init(parsing argument: String, defaultType: String) {
        if let colon = argument.firstIndex(of: ":") {
            type = String(argument[..<colon])
            name = String(argument[argument.index(after: colon)...])
        } else {
            type = defaultType
            name = argument
        }
    }

    public var description: String { "\(type):\(name)" }
}
