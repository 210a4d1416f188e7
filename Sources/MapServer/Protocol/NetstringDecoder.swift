import NIOCore

/// Frames socketmap requests: netstrings, `LENGTH ":" BYTES ","` (socketmap_table(5)).
///
/// The length is checked while its digits arrive, so a prefix such as `1099511627776:` is refused at
/// once instead of waiting for a terabyte. A missing `:` or `,`, a non-digit, or an empty length is a
/// `ProtocolViolation`. The rules are `Framing.netstring`, which the server's `ConnectionHandler` applies to
/// its read buffer directly; this decoder gives the same frames to a NIO pipeline (and to the tests).
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
        let maximumLength = self.maximumLength
        guard let frame = try buffer.withUnsafeReadableBytes({ bytes throws(ProtocolViolation) in
            try Framing.netstring(bytes, maximumLength: maximumLength)
        }) else { return .needMoreData }
        let payload = buffer.bytes(at: frame.payloadStart, length: frame.payloadLength)
        buffer.moveReaderIndex(forwardBy: frame.consumed)
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
