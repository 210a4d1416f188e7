/// Carries arbitrary bytes through `String` messages without loss.
///
/// Postfix prints keys and values into its messages byte for byte, valid UTF-8 or not. Swift strings
/// cannot hold invalid UTF-8, so each byte that is not part of a valid sequence is mapped to a
/// private-use scalar (U+10FF00 + byte) and mapped back when the message is written out.
public enum ByteText {
    private static let base: UInt32 = 0x10FF00

    /// A string for `bytes`, reversible with `bytes(of:)`.
    public static func string(_ bytes: [UInt8]) -> String {
        if let valid = String(validating: bytes, as: UTF8.self),
           !valid.unicodeScalars.contains(where: { $0.value >= base }) {
            return valid
        }
        var out = String.UnicodeScalarView()
        let all = bytes
        var index = 0
        var iterator = all.makeIterator()
        var parser = Unicode.UTF8.ForwardParser()
        func escape(_ count: Int) {
            for b in all[index..<index + count] {
                out.append(Unicode.Scalar(base + UInt32(b)) ?? "?")
            }
        }
        while true {
            switch parser.parseScalar(from: &iterator) {
            case .valid(let encoded):
                let scalar = Unicode.UTF8.decode(encoded)
                if scalar.value >= base { escape(encoded.count) } else { out.append(scalar) }
                index += encoded.count
            case .error(let length):
                escape(length)
                index += length
            case .emptyInput:
                return String(out)
            }
        }
    }

    /// A string for a slice of bytes.
    public static func string(_ bytes: ArraySlice<UInt8>) -> String { string(Array(bytes)) }

    /// The original bytes of a string made by `string(_:)` (or any string: its UTF-8).
    public static func bytes(of text: String) -> [UInt8] {
        // Every scalar from U+10FF00 up starts with 0xF4 in UTF-8; without one the string is its UTF-8.
        var text = text
        if let plain = text.withUTF8({ $0.contains(0xF4) ? nil : Array($0) }) { return plain }
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            if scalar.value >= base {
                out.append(UInt8(truncatingIfNeeded: scalar.value - base))
            } else {
                out.append(contentsOf: String(scalar).utf8)
            }
        }
        return out
    }

    /// Bytes as C sees them: cut at the first NUL.
    public static func cString(_ bytes: [UInt8]) -> [UInt8] {
        guard let nul = bytes.firstIndex(of: 0) else { return bytes }
        return Array(bytes[..<nul])
    }
}
