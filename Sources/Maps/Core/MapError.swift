import PostfixText
/// A failed table operation. "Not found" is not an error: lookups return `nil` for it.
///
/// The code says what a caller should do; callers decide by it, never by the text. `temporary` and
/// `configuration` mirror Postfix's `DICT_ERR_RETRY` and `DICT_ERR_CONFIG`: a temporary failure tells a
/// caller to try again later (a server answers a temporary error, never "not found"); a configuration
/// error means the table or its settings are wrong and retrying will not help.
public struct MapError: Error, CustomStringConvertible, Sendable {
    /// What kind of failure this is.
    public enum Code: Sendable, Equatable {
        /// Try again later: I/O trouble, a lock, a server that is down (`DICT_ERR_RETRY`).
        case temporary
        /// The table or its configuration is wrong (`DICT_ERR_CONFIG`).
        case configuration
        /// The table type has no such operation (`sequence`, `update`, `delete` on a read-only type).
        case notSupported
        /// The caller asked for something the type does not allow, such as updating a table that only
        /// opens read-only (`map requires O_RDONLY access mode`).
        case usage
    }

    /// The failure class.
    public var code: Code
    /// A complete human-readable message in Postfix's wording, without the program prefix.
    public var message: String
    /// The system error behind the failure, if any (what Postfix prints for `%m`); 0 for none.
    public var errno: Int32
    /// The C library's own result code (Berkeley DB, LMDB, libldap), if one caused the failure; 0 for none.
    public var libraryResult: Int32
    /// Postfix's own table code ends the program with this very text (`msg_fatal` inside the table, such
    /// as Berkeley DB read or lock errors), so a tool prints it as it is rather than as `TABLE: OP error`.
    public var fatalInPostfix: Bool

    public init(_ code: Code, _ message: String, errno: Int32 = 0, libraryResult: Int32 = 0, fatalInPostfix: Bool = false) {
        self.code = code
        self.message = message
        self.errno = errno
        self.libraryResult = libraryResult
        self.fatalInPostfix = fatalInPostfix || code == .notSupported
    }

    /// A temporary failure.
    public static func temporary(_ message: String, errno: Int32 = 0) -> MapError {
        MapError(.temporary, message, errno: errno)
    }

    /// A temporary failure caused by a C library result: positive results are system errors (errno
    /// values, as Berkeley DB and LMDB return them), negative ones the library's own codes.
    public static func temporary(_ message: String, result: Int32) -> MapError {
        MapError(.temporary, message, errno: result > 0 ? result : 0, libraryResult: result)
    }

    /// A configuration error.
    public static func configuration(_ message: String, errno: Int32 = 0) -> MapError {
        MapError(.configuration, message, errno: errno)
    }

    /// An operation the type does not have.
    public static func notSupported(_ message: String) -> MapError {
        MapError(.notSupported, message)
    }

    /// A request the type does not allow.
    public static func usage(_ message: String) -> MapError {
        MapError(.usage, message)
    }

    public var description: String { message }
}
