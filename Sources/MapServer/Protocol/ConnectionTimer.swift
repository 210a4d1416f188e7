import NIOCore

/// Closes a connection that is idle too long, or whose request arrives too slowly.
///
/// It sits after the protocol decoder and sees its frames: `.started` arms the request timer (the whole
/// request must arrive within `requestTimeout`), `.request` disarms it. When no request is partly read
/// and every request has been answered, the idle timer runs (`idleTimeout`). Replies are counted as
/// they are written. The `.started` frames stop here; requests go on.
public final class ConnectionTimer: ChannelDuplexHandler, RemovableChannelHandler {
    public typealias InboundIn = RequestFrame
    public typealias InboundOut = [UInt8]
    public typealias OutboundIn = ByteBuffer
    public typealias OutboundOut = ByteBuffer

    /// Why a connection was cut off.
    public enum Expiry: Sendable, Equatable {
        case idle, request
    }

    private let idleTimeout: TimeAmount
    private let requestTimeout: TimeAmount
    private let onExpiry: @Sendable (Expiry) -> Void
    private var partial = false
    private var unanswered = 0
    private var timer: Scheduled<Void>?

    /// `onExpiry` is told before the connection is closed.
    public init(idleTimeout: TimeAmount, requestTimeout: TimeAmount, onExpiry: @escaping @Sendable (Expiry) -> Void = { _ in }) {
        self.idleTimeout = idleTimeout
        self.requestTimeout = requestTimeout
        self.onExpiry = onExpiry
    }

    public func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { arm(context, .idle) }
    }

    public func channelActive(context: ChannelHandlerContext) {
        arm(context, .idle)
        context.fireChannelActive()
    }

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .started:
            partial = true
            arm(context, .request)
        case .request(let payload):
            partial = false
            unanswered += 1
            cancel()
            context.fireChannelRead(wrapInboundOut(payload))
        }
    }

    public func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        unanswered = max(0, unanswered - 1)
        if !partial, unanswered == 0 { arm(context, .idle) }
        context.write(data, promise: promise)
    }

    public func channelInactive(context: ChannelHandlerContext) {
        cancel()
        context.fireChannelInactive()
    }

    public func handlerRemoved(context: ChannelHandlerContext) {
        cancel()
    }

    private func arm(_ context: ChannelHandlerContext, _ kind: Expiry) {
        cancel()
        let delay = kind == .idle ? idleTimeout : requestTimeout
        let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
        let onExpiry = self.onExpiry
        timer = context.eventLoop.scheduleTask(in: delay) {
            onExpiry(kind)
            loopBound.value.close(promise: nil)
        }
    }

    private func cancel() {
        timer?.cancel()
        timer = nil
    }
}
