/// Where the next request lies in bytes received and not yet used: the framing rules of socketmap
/// netstrings and tcp_table lines, shared by the decoders (`NetstringDecoder`, `LineDecoder`) and the
/// connection handler, which frames requests in the read buffer itself, with no copy.
enum Framing {
    /// A whole request in the bytes: its payload's offset and length, and how many bytes it takes.
    struct Frame {
        let payloadStart: Int
        let payloadLength: Int
        let consumed: Int
    }

    /// The netstring at the start of `bytes`, or nil when more bytes are needed.
    ///
    /// The length is checked while its digits arrive, so a prefix such as `1099511627776:` is refused
    /// at once; a missing `:` or `,`, a non-digit, or an empty length is a `ProtocolViolation`.
    @inline(__always)
    static func netstring(_ bytes: UnsafeRawBufferPointer, maximumLength: Int) throws(ProtocolViolation) -> Frame? {
        var length = 0
        var index = 0
        let end = bytes.count
        while index < end {
            let c = bytes[index]
            guard c &- 0x30 < 10 else { break }
            length = length &* 10 &+ Int(c &- 0x30)
            index += 1
            if length > maximumLength || index > 10 {
                throw ProtocolViolation("netstring length exceeds \(maximumLength) bytes")
            }
        }
        if index == end { return nil }
        guard index > 0 else { throw ProtocolViolation("netstring does not start with a length") }
        guard bytes[index] == UInt8(ascii: ":") else { throw ProtocolViolation("netstring length not followed by ':'") }
        let total = index + 1 + length + 1
        guard end >= total else { return nil }
        guard bytes[total - 1] == UInt8(ascii: ",") else { throw ProtocolViolation("netstring not terminated by ','") }
        return Frame(payloadStart: index + 1, payloadLength: length, consumed: total)
    }

    /// The line at the start of `bytes` (without its newline, and without a CR before it), or nil when
    /// more bytes are needed; `scanned` bytes are known to hold no newline, and on nil it is set to
    /// all of them. A line longer than `maximumLength` is refused as soon as that many bytes are waiting
    /// without a newline.
    @inline(__always)
    static func line(_ bytes: UnsafeRawBufferPointer, scanned: inout Int, maximumLength: Int) throws(ProtocolViolation) -> Frame? {
        var index = scanned
        let end = bytes.count
        while index < end, bytes[index] != 0x0A { index += 1 }
        guard index < end else {
            scanned = end
            if end > maximumLength { throw ProtocolViolation("request line exceeds \(maximumLength) bytes") }
            return nil
        }
        scanned = 0
        var length = index
        if length > maximumLength { throw ProtocolViolation("request line exceeds \(maximumLength) bytes") }
        if length > 0, bytes[length - 1] == 0x0D { length -= 1 }
        return Frame(payloadStart: 0, payloadLength: length, consumed: index + 1)
    }
}
