/// A failed table operation. "Not found" is not an error: lookups return `nil` for it.
///
/// The two kinds mirror Postfix's `DICT_ERR_RETRY` and `DICT_ERR_CONFIG`: a temporary failure tells a
/// caller to try again later (a server answers a temporary error), a configuration error means the
/// table or its settings are wrong and retrying will not help.
public struct MapError: Error, CustomStringConvertible, Sendable {
    /// Which of the two failure classes this is.
    public enum Kind: Sendable, Equatable {
        /// Try again later: I/O trouble, a lock, a server that is down (`DICT_ERR_RETRY`).
        case temporary
        /// The table or its configuration is wrong (`DICT_ERR_CONFIG`).
        case configuration
    }

    /// The failure class.
    public var kind: Kind
    /// A complete human-readable message in Postfix's wording, without the program prefix.
    public var message: String
    /// The system error behind the failure, if any (what Postfix prints for `%m`).
    public var errno: Int32

    public init(_ kind: Kind, _ message: String, errno: Int32 = 0) {
        self.kind = kind
        self.message = message
        self.errno = errno
    }

    /// A temporary failure.
    public static func temporary(_ message: String, errno: Int32 = 0) -> MapError {
        MapError(.temporary, message, errno: errno)
    }

    /// A configuration error.
    public static func configuration(_ message: String, errno: Int32 = 0) -> MapError {
        MapError(.configuration, message, errno: errno)
    }

    public var description: String { message }
}
