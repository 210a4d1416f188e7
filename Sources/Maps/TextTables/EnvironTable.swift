import PostfixText
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// `environ:NAME`: the process environment as a table (Postfix's `dict_env.c`). Keys are fixed strings,
/// so under postmap's default folding `HOME` is looked up as `home`; `-f` keeps the case. The name is
/// ignored. Updates set variables; deletes and sequencing are unsupported.
public final class EnvironTable: LookupTable {
    /// The type name.
    public static let typeName = "environ"

    public var type: String { Self.typeName }
    public let name: String
    private let fold: Bool

    /// A table named `name`; keys are ASCII-folded when `request` has `.foldFixed`.
    public init(name: String, request: OpenRequest) {
        self.name = name
        self.fold = request.flags.contains(.foldFixed)
    }

    private func variable(_ key: [UInt8]) -> [CChar] {
        let folded = fold ? CaseFolding.asciiLowercased(key) : key
        return KeyCodec.cString(folded).map { CChar(bitPattern: $0) } + [0]
    }

    /// Postfix's `safe_getenv`: nothing when the process runs with other than its real ids, where the
    /// environment belongs to someone else.
    private var environmentIsTrusted: Bool {
        getuid() == geteuid() && getgid() == getegid()
    }

    /// `getenv` may run on several threads at once (while nothing sets variables).
    public var concurrentLookups: Bool { true }

    public func lookup(_ key: [UInt8]) throws(MapError) -> [UInt8]? {
        guard environmentIsTrusted, let value = getenv(variable(key)) else { return nil }
        return Array(UnsafeBufferPointer(start: value, count: strlen(value))).map { UInt8(bitPattern: $0) }
    }

    public func update(_ key: [UInt8], _ value: [UInt8], options: RecordOptions) throws(MapError) -> UpdateOutcome {
        let text = KeyCodec.cString(value).map { CChar(bitPattern: $0) } + [0]
        if setenv(variable(key), text, 1) != 0 {
            let e = errno
            throw .configuration("setenv: \(systemErrorText(e))", errno: e)
        }
        return .stored
    }

    public func delete(_ key: [UInt8]) throws(MapError) -> Bool {
        throw .notSupported("table \(type):\(name): delete operation is not supported")
    }
}
