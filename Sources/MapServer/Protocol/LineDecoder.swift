import NIOCore

/// Frames tcp_table requests: one line each, ended by a newline (a CR before it is dropped).
///
/// A line longer than `maximumLength` is a `ProtocolViolation`, found as soon as that many bytes are
/// waiting without a newline.
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
        let view = buffer.readableBytesView
        guard let newline = view[(view.startIndex + scanned)...].firstIndex(of: 0x0A) else {
            scanned = view.count
            if view.count > maximumLength { throw ProtocolViolation("request line exceeds \(maximumLength) bytes") }
            return .needMoreData
        }
        var length = newline - view.startIndex
        if length > maximumLength { throw ProtocolViolation("request line exceeds \(maximumLength) bytes") }
        if length > 0, view[newline - 1] == 0x0D { length -= 1 }
        let line = buffer.bytes(at: 0, length: length)
        buffer.moveReaderIndex(to: newline + 1)
        started = false
        scanned = 0
        context.fireChannelRead(wrapInboundOut(.request(line)))
        return .continue
    }

    public mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        while try decode(context: context, buffer: &buffer) == .continue {}
        return .needMoreData
    }
}
