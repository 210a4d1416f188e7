/// The answer to one lookup, before a protocol writes it.
public enum LookupAnswer: Equatable, Sendable {
    case found([UInt8])
    case notFound
    /// The table failed: its backend is down, a file is unreadable, a match limit was hit. Always a
    /// temporary answer (`TEMP`, `400`): the client tries again later, it never sees "not found".
    case temporary(String)
    /// The request names no table served here (socketmap), or cannot be answered by its protocol.
    case permanent(String)

    /// The result label in metrics and logs.
    public var label: String {
        switch self {
        case .found: "found"
        case .notFound: "notfound"
        case .temporary: "temp"
        case .permanent: "perm"
        }
    }
}
