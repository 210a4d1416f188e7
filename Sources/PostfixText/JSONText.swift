/// JSON string literals, for the `--json` outputs of postconf --check and postexplain. Bytes that are
/// not UTF-8 become U+FFFD; control characters and DEL are written as `\u00XX`.
public enum JSONText {
    public static func quote(_ s: String) -> String {
        var out = "\""
        for scalar in String(decoding: ByteText.bytes(of: s), as: UTF8.self).unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 || scalar.value == 0x7F {
                    let hex = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }
}
