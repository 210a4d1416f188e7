import NIOCore

/// Closes a connection that is idle too long, or whose request arrives too slowly.
///
/// No longer in the server's pipeline: `ConnectionHandler` keeps the same two timers itself, lazily,
/// and answers each request as it is decoded instead of in batches. Kept for callers of the library
/// and its tests (ConnectionTimerTests); a candidate for removal.
///
/// It sits after the protocol decoder and sees its frames: `.started` arms the request timer (the whole
/// request must arrive within `requestTimeout`), `.request` disarms it. When no request is partly read
/// and every request has been answered, the idle timer runs (`idleTimeout`). Replies are counted as
/// they are written. The `.started` frames stop here; requests go on in batches: every request decoded
/// from one read of the socket (pipelined requests) is passed on as one array at `channelReadComplete`,
/// so that the server looks them up in one go and answers them with one write, in order.
public final class ConnectionTimer: ChannelDuplexHandler, RemovableChannelHandler {
    public typealias InboundIn = RequestFrame
    public typealias InboundOut = [[UInt8]]
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
    /// Batches passed on and not answered yet (one write answers one batch).
    private var unanswered = 0
    private var batch: [[UInt8]] = []
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
            cancel()
            batch.append(payload)
        }
    }

    public func channelReadComplete(context: ChannelHandlerContext) {
        flushBatch(context)
        context.fireChannelReadComplete()
    }

    private func flushBatch(_ context: ChannelHandlerContext) {
        guard !batch.isEmpty else { return }
        let requests = batch
        batch = []
        unanswered += 1
        context.fireChannelRead(wrapInboundOut(requests))
    }

    public func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        unanswered = max(0, unanswered - 1)
        if !partial, unanswered == 0, batch.isEmpty { arm(context, .idle) }
        context.write(data, promise: promise)
    }

    public func channelInactive(context: ChannelHandlerContext) {
        cancel()
        flushBatch(context)
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
