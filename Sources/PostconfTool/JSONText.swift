import ToolSupport
import PostfixConfig
import PostfixText
import Maps

/// JSON string quoting (bytes that are not UTF-8 become U+FFFD).
enum JSONText {
    static func quote(_ s: String) -> String {
        var out = "\""
        for scalar in String(decoding: ByteText.bytes(of: s), as: UTF8.self).unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 {
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
