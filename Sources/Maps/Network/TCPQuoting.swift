/// The `%XX` quoting of Postfix's tcp_table protocol (`hex_quote.c`), for the tcp client (TCPTable) and
/// for the server's tcp_table listener (postmapd).
public enum TCPQuoting {
    /// Which bytes travel raw; every other byte becomes `%XX` (upper-case hex).
    public enum Raw: Sendable {
        /// `hex_quote`: printable ASCII other than `%` and white space (what Postfix's client sends).
        case printable
        /// A reply line: everything but `%`, control characters and DEL (a value stays readable; any
        /// `hex_unquote` decodes it the same).
        case replyLine

        func keeps(_ c: UInt8) -> Bool {
            switch self {
            case .printable:
                let space = c == 0x20 || (c >= 0x09 && c <= 0x0D)
                return c != 0x25 && !space && c > 0x20 && c < 0x7F
            case .replyLine:
                return c != 0x25 && c >= 0x20 && c != 0x7F
            }
        }
    }

    /// `bytes` with every byte that `raw` does not keep written as `%XX`.
    public static func quote(_ bytes: [UInt8], raw: Raw = .printable) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        let hex = Array("0123456789ABCDEF".utf8)
        for c in bytes {
            if raw.keeps(c) {
                out.append(c)
            } else {
                out.append(0x25)
                out.append(hex[Int(c >> 4)])
                out.append(hex[Int(c & 0x0F)])
            }
        }
        return out
    }

    /// `hex_unquote`: `%XX` in either case; `nil` for a `%` not followed by two hex digits.
    public static func unquote(_ text: ArraySlice<UInt8>) -> [UInt8]? {
        func digit(_ c: UInt8) -> UInt8? {
            switch c {
            case 0x30...0x39: return c - 0x30
            case 0x61...0x66: return c - 0x61 + 10
            case 0x41...0x46: return c - 0x41 + 10
            default: return nil
            }
        }
        var out: [UInt8] = []
        out.reserveCapacity(text.count)
        var i = text.startIndex
        while i < text.endIndex {
            let c = text[i]
            if c == 0x25 {
                guard i + 2 < text.endIndex,
                      let hi = digit(text[i + 1]), let lo = digit(text[i + 2]) else { return nil }
                out.append(hi << 4 | lo)
                i += 3
            } else {
                out.append(c)
                i += 1
            }
        }
        return out
    }
}
