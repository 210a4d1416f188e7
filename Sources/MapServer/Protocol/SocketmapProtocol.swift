import Maps
import NIOCore

/// The socketmap protocol (socketmap_table(5), Sendmail's socket map): a request `NAME SP KEY` and a
/// reply `OK SP value`, `NOTFOUND SP`, `TEMP SP reason` or `PERM SP reason`, each in a netstring.
public enum SocketmapProtocol {
    /// Postfix's largest socketmap reply (`socketmap_max_reply_size`, 100000): a longer value is
    /// answered `TEMP`, as the client would refuse it.
    public static let maximumReply = 100_000

    /// Split a request into the table name and the key (the key is not quoted, and may hold any byte).
    public static func parse(_ payload: [UInt8]) throws(ProtocolViolation) -> (name: String, key: [UInt8]) {
        guard let space = payload.firstIndex(of: 0x20), space > 0 else {
            throw ProtocolViolation("socketmap request without \"name key\"")
        }
        return (String(decoding: payload[..<space], as: UTF8.self), Array(payload[(space + 1)...]))
    }

    /// The reply's netstring payload.
    public static func reply(_ answer: LookupAnswer) -> [UInt8] {
        switch answer {
        case .found(let value):
            if value.count + 3 > maximumReply {
                return Array("TEMP value of \(value.count) bytes exceeds the socketmap reply limit of \(maximumReply)".utf8)
            }
            return Array("OK ".utf8) + value
        case .notFound:
            return Array("NOTFOUND ".utf8)
        case .temporary(let reason):
            return Array("TEMP ".utf8) + printable(reason)
        case .permanent(let reason):
            return Array("PERM ".utf8) + printable(reason)
        }
    }

    /// A reason as one printable line.
    static func printable(_ text: String) -> [UInt8] {
        text.utf8.prefix(1000).map { $0 < 0x20 || $0 == 0x7F ? UInt8(ascii: "_") : $0 }
    }
}

/// The tcp_table protocol (tcp_table(5)): a request `get SP key LF`, the key `%XX`-quoted; a reply
/// `200 SP value LF` (found), `500 SP text LF` (not found) or `400 SP text LF` (try again later).
public enum TCPTableProtocol {
    /// Parse a `get` line into its unquoted key.
    public static func parse(_ line: [UInt8]) throws(ProtocolViolation) -> [UInt8] {
        guard line.count >= 4, line[0] | 0x20 == UInt8(ascii: "g"), line[1] | 0x20 == UInt8(ascii: "e"),
              line[2] | 0x20 == UInt8(ascii: "t"), line[3] == 0x20 else {
            throw ProtocolViolation("tcp_table request is not \"get key\"")
        }
        guard let key = TCPQuoting.unquote(line[4...]) else { throw ProtocolViolation("malformed %XX quoting in tcp_table request") }
        return key
    }

    /// The reply line, with its newline.
    public static func reply(_ answer: LookupAnswer) -> [UInt8] {
        switch answer {
        case .found(let value):
            return Array("200 ".utf8) + TCPQuoting.quote(value, raw: .replyLine) + [0x0A]
        case .notFound:
            return Array("500 not found\n".utf8)
        case .temporary(let reason), .permanent(let reason):
            // tcp_table has no permanent error: a table that cannot answer is retried later.
            return Array("400 ".utf8) + TCPQuoting.quote(Array(reason.utf8.prefix(1000)), raw: .replyLine) + [0x0A]
        }
    }
}
