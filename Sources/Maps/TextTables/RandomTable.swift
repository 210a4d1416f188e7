#if canImport(Glibc)
import Glibc
#endif
import PostfixText

/// `randmap:{value, ...}`: every lookup answers one of the values, chosen at random (Postfix's
/// `dict_random.c`), for spreading mail over several transports or relays. Values are separated by
/// commas or blanks outside `{}`; a value keeps its braces. Read-only, no sequence.
public final class RandomTable: LookupTable {
    public let type = "randmap"
    public let name: String
    /// The values to choose from; never empty.
    public let values: [[UInt8]]

    /// Parse `{value, ...}`; anything else is Postfix's `bad syntax` configuration error.
    public init(name: String, request: OpenRequest) throws(MapError) {
        guard request.mode == .readOnly else {
            throw .usage("randmap:\(name) map requires O_RDONLY access mode")
        }
        self.name = name
        let bytes = ByteText.bytes(of: name)
        let length = ConfigText.balancedLength(bytes[...])
        var values: [[UInt8]] = []
        if length > 2, length == bytes.count {
            values = ConfigText.quotedTokens(Array(bytes[1..<(length - 1)]), ConfigText.isCommaOrBlank)
        }
        if request.flags.contains(.sourceValueIsFile) {
            // postmap -F: each value names files, whose contents are the value, base64-encoded.
            for n in values.indices {
                switch ValueFiles.encodedContents(of: values[n]) {
                case .failure(let failure): throw .configuration(failure.message)
                case .success(let encoded): values[n] = encoded
                }
            }
        }
        guard !values.isEmpty else {
            throw .configuration("bad syntax: \"randmap:\(name)\"; need \"randmap:{value...}\"")
        }
        self.values = values
    }

    /// The catalog's opener.
    public static let mapType = MapType(name: "randmap", fixedKeys: false, open: { name, request throws(MapError) in
        try RandomTable(name: name, request: request)
    })

    /// The values never change; `Int.random` is thread-safe.
    public var concurrentLookups: Bool { true }

    public func lookup(_ key: [UInt8]) throws(MapError) -> [UInt8]? {
        values[Int.random(in: 0..<values.count)]
    }
}
