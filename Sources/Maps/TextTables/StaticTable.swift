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
    /// With `fileValues` (`postmap -F`) the text names files, and the value is their contents,
    /// base64-encoded.
    public init(name: String, fileValues: Bool = false) throws(MapError) {
        self.name = name
        var text = ByteText.bytes(of: name)
        if name.hasPrefix("{") {
            switch BraceText.extract(name, strip: true) {
            case .failure(let error):
                throw .configuration("bad static:name syntax: \(error.message)")
            case .success(let inner):
                text = ByteText.bytes(of: inner)
            }
        }
        if fileValues {
            switch ValueFiles.encodedContents(of: text) {
            case .failure(let failure): throw .configuration(failure.message)
            case .success(let encoded): text = encoded
            }
        }
        value = text
    }

    /// The type for the registry. Postfix opens it in any mode (so `-d` gets as far as the delete) and
    /// has no bulk-mode creator for it.
    public static let mapType = MapType(name: "static") { name, request throws(MapError) in
        try StaticTable(name: name, fileValues: request.flags.contains(.sourceValueIsFile))
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
