import PostfixText
/// The `static` table type (Postfix's `dict_static`): every lookup finds the same value, the table's
/// name. `static:{ text }` strips the braces and the blanks just inside them, so a value can hold
/// spaces (`static:{ a  b }` → `a  b`).
public final class StaticTable: LookupTable {
    public let type = "static"
    public let name: String
    /// What every lookup returns.
    public let value: [UInt8]

    /// A table whose name is `name` (as given after `static:`); `{...}` syntax errors are configuration
    /// errors in Postfix's words (`bad static:name syntax: missing '}' in "{ foo"`).
    public init(name: String) throws(MapError) {
        self.name = name
        guard name.hasPrefix("{") else {
            value = ByteText.bytes(of: name)
            return
        }
        switch BraceText.extract(name, strip: true) {
        case .failure(let error):
            throw .configuration("bad static:name syntax: \(error.message)")
        case .success(let text):
            value = ByteText.bytes(of: text)
        }
    }

    /// The type for the registry. Postfix opens it in any mode (so `-d` gets as far as the delete) and
    /// has no bulk-mode creator for it.
    public static let mapType = MapType(name: "static") { name, _ throws(MapError) in
        try StaticTable(name: name)
    }

    public func lookup(_ key: [UInt8]) throws(MapError) -> [UInt8]? { value }
    public var concurrentLookups: Bool { true }

    public func update(_ key: [UInt8], _ value: [UInt8], options: RecordOptions) throws(MapError) -> UpdateOutcome {
        throw .notSupported("table static:\(name): update operation is not supported")
    }

    public func delete(_ key: [UInt8]) throws(MapError) -> Bool {
        throw .notSupported("table static:\(name): delete operation is not supported")
    }
}
