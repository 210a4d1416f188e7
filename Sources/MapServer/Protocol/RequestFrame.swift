import NIOCore

/// What a protocol decoder passes up the pipeline.
///
/// `.started` marks the first byte of a request, so that `ConnectionTimer` can cut off a request that
/// arrives too slowly; `.request` is a whole request's payload (the socketmap netstring's content, the
/// tcp_table line without its newline). The markers keep the decoders free of clocks: the same input
/// gives the same frames, whether it comes at once or a byte at a time.
public enum RequestFrame: Equatable, Sendable {
    case started
    case request([UInt8])
}

/// A request that breaks the protocol: the connection is closed.
public struct ProtocolViolation: Error, Equatable, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}

extension ByteBuffer {
    /// The readable bytes from `offset` on, as an array.
    func bytes(at offset: Int, length: Int) -> [UInt8] {
        getBytes(at: readerIndex + offset, length: length) ?? []
    }
}
