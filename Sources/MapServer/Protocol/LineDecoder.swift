import NIOCore

/// Frames tcp_table requests: one line each, ended by a newline (a CR before it is dropped).
///
/// A line longer than `maximumLength` is a `ProtocolViolation`, found as soon as that many bytes are
/// waiting without a newline. The rules are `Framing.line`, which the server's `ConnectionHandler`
/// applies to its read buffer directly; this decoder gives the same frames to a NIO pipeline (and to
/// the tests).
public struct LineDecoder: ByteToMessageDecoder {
    public typealias InboundOut = RequestFrame

    /// The longest line accepted, without its newline.
    public let maximumLength: Int
    private var started = false
    /// Bytes already searched for a newline.
    private var scanned = 0

    public init(maximumLength: Int) {
        self.maximumLength = maximumLength
    }

    public mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard buffer.readableBytes > 0 else { return .needMoreData }
        if !started {
            started = true
            scanned = 0
            context.fireChannelRead(wrapInboundOut(.started))
            return .continue
        }
        let maximumLength = self.maximumLength
        var scanned = self.scanned
        let found = try buffer.withUnsafeReadableBytes { bytes throws(ProtocolViolation) in
            try Framing.line(bytes, scanned: &scanned, maximumLength: maximumLength)
        }
        self.scanned = scanned
        guard let frame = found else { return .needMoreData }
        let line = buffer.bytes(at: frame.payloadStart, length: frame.payloadLength)
        buffer.moveReaderIndex(forwardBy: frame.consumed)
        started = false
        context.fireChannelRead(wrapInboundOut(.request(line)))
        return .continue
    }

    public mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        while try decode(context: context, buffer: &buffer) == .continue {}
        return .needMoreData
    }
}
