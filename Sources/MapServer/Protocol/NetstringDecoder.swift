import NIOCore

/// Frames socketmap requests: netstrings, `LENGTH ":" BYTES ","` (socketmap_table(5)).
///
/// The length is checked while its digits arrive, so a prefix such as `1099511627776:` is refused at
/// once instead of waiting for a terabyte. A missing `:` or `,`, a non-digit, or an empty length is a
/// `ProtocolViolation`.
public struct NetstringDecoder: ByteToMessageDecoder {
    public typealias InboundOut = RequestFrame

    /// The largest payload accepted.
    public let maximumLength: Int
    private var started = false

    public init(maximumLength: Int) {
        self.maximumLength = maximumLength
    }

    public mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard buffer.readableBytes > 0 else { return .needMoreData }
        if !started {
            started = true
            context.fireChannelRead(wrapInboundOut(.started))
            return .continue
        }
        var length = 0
        var digits = 0
        let view = buffer.readableBytesView
        var index = view.startIndex
        while index < view.endIndex, (0x30...0x39).contains(view[index]) {
            length = length * 10 + Int(view[index] - 0x30)
            digits += 1
            if length > maximumLength || digits > 10 {
                throw ProtocolViolation("netstring length exceeds \(maximumLength) bytes")
            }
            index += 1
        }
        if index == view.endIndex { return .needMoreData }
        guard digits > 0 else { throw ProtocolViolation("netstring does not start with a length") }
        guard view[index] == UInt8(ascii: ":") else { throw ProtocolViolation("netstring length not followed by ':'") }
        let total = digits + 1 + length + 1
        guard buffer.readableBytes >= total else { return .needMoreData }
        guard buffer.getInteger(at: buffer.readerIndex + total - 1, as: UInt8.self) == UInt8(ascii: ",") else {
            throw ProtocolViolation("netstring not terminated by ','")
        }
        let payload = buffer.bytes(at: digits + 1, length: length)
        buffer.moveReaderIndex(forwardBy: total)
        started = false
        context.fireChannelRead(wrapInboundOut(.request(payload)))
        return .continue
    }

    public mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        // A request cut short by EOF is dropped with the connection.
        while try decode(context: context, buffer: &buffer) == .continue {}
        return .needMoreData
    }
}

/// Netstring framing for replies.
public enum Netstring {
    /// `LENGTH:BYTES,`
    public static func encode(_ payload: [UInt8], into buffer: inout ByteBuffer) {
        buffer.writeString(String(payload.count))
        buffer.writeInteger(UInt8(ascii: ":"))
        buffer.writeBytes(payload)
        buffer.writeInteger(UInt8(ascii: ","))
    }
}
