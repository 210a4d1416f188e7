import Logging
import Maps
import NIOCore
import PostfixText
import Prometheus
#if canImport(Glibc)
import Glibc
#endif

/// What one event loop holds: the tables it answers from, and its connections.
final class LoopState: @unchecked Sendable {
    // `@unchecked Sendable`: `directory` and `connections` are read and written only on `eventLoop` (in
    // the handlers of its channels, and in tasks given to `eventLoop.execute`); the rest is immutable.
    let eventLoop: any EventLoop
    /// Which set of lookup counters this loop writes (`TableMetrics.counts(loop:)`).
    let index: Int
    /// The tables of the current configuration; the loop holds one `retain` on it.
    var directory: TableDirectory?
    var connections: [ObjectIdentifier: ConnectionHandler] = [:]
    /// The turn of the loop: a task queued at the first batched lookup ends it.
    private var tick = 0
    /// Table copies with a batch open in this turn.
    private var batched: [LoopTables] = []

    init(eventLoop: any EventLoop, index: Int) {
        self.eventLoop = eventLoop
        self.index = index
    }

    /// Make sure `copy` has its batch open in this turn; the turn ends after the I/O the loop is
    /// handling now (NIO runs queued tasks after it).
    func openBatch(_ copy: LoopTables) {
        guard copy.tick != tick else { return }
        copy.tick = tick
        copy.beginBatch()
        batched.append(copy)
        if batched.count == 1 {
            eventLoop.execute { self.endBatches() }
        }
    }

    /// End every batch of this turn.
    func endBatches() {
        for copy in batched { copy.endBatch() }
        batched = []
        tick &+= 1
    }
}

/// One connection, answered on its event loop in one pass: each request decoded by the protocol
/// decoder before it (`RequestFrame`s) is looked up and its reply encoded as it arrives
/// (`channelRead`); the replies of one read of the socket go out in one write and one flush
/// (`channelReadComplete`).
///
/// Tables whose lookups cannot wait (`ServedTable.answersFromMemory`: rules, memory tables, lmdb and
/// cdb) answer right there. A request for a table that can wait (network, locks, other processes)
/// takes a place in the reply queue, and the requests of one read that need the thread pool go there
/// in one job; replies behind it wait in the queue, so every reply leaves in request order.
///
/// It also keeps the connection's two timers, lazily: one scheduled task, moved only when a deadline
/// comes earlier than the one it is set for (a request started on an idle connection). A request
/// must arrive whole within `request_timeout`; a connection that owes nothing and has no partial
/// request is closed after `idle_timeout`.
///
/// A client that half-closes (EOF on its side) gets every complete request answered, then the close.
final class ConnectionHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = RequestFrame
    typealias OutboundOut = ByteBuffer

    private let server: MapServer
    private let listener: ServerConfiguration.Listener
    private let loop: LoopState
    private let gauge: Gauge
    private let idleTimeout: TimeAmount
    private let requestTimeout: TimeAmount
    private var context: ChannelHandlerContext?
    private var peer = "unknown"

    private enum Phase { case admitting, serving, closing }
    private var phase = Phase.admitting
    /// Frames that came while client_access was being asked.
    private var held: [RequestFrame] = []
    private var counted = false

    /// Replies ready to write, in order.
    private var out: ByteBuffer
    /// Replies behind one that waits for the thread pool: nil while its lookup runs. Empty unless a
    /// lookup is on the pool.
    private var queue = CircularBuffer<ByteBuffer?>()
    /// The request number of `queue.first`.
    private var firstQueued = 0
    /// Lookups for the thread pool, gathered over one read.
    private var toPool: [PoolLookup] = []
    private var jobsInFlight = 0
    private var violation: ProtocolViolation?
    private var inputClosed = false
    private var stopping = false

    private var requestStarted: NIODeadline?
    private var idleSince: NIODeadline?
    private var timer: Scheduled<Void>?
    private var timerAt = NIODeadline.distantFuture

    struct PoolLookup: Sendable {
        let number: Int
        let name: String
        let table: ServedTable
        let key: [UInt8]
    }

    init(server: MapServer, listener: ServerConfiguration.Listener, loop: LoopState, gauge: Gauge,
         idleTimeout: TimeAmount, requestTimeout: TimeAmount, allocator: ByteBufferAllocator) {
        self.server = server
        self.listener = listener
        self.loop = loop
        self.gauge = gauge
        self.idleTimeout = idleTimeout
        self.requestTimeout = requestTimeout
        self.out = allocator.buffer(capacity: 256)
    }

    // MARK: Life

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        if context.channel.isActive { start(context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        start(context)
        context.fireChannelActive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        cancelTimer()
        self.context = nil
    }

    func channelInactive(context: ChannelHandlerContext) {
        cancelTimer()
        phase = .closing
        if counted {
            counted = false
            server.connectionEnded()
            gauge.decrement()
            loop.connections.removeValue(forKey: ObjectIdentifier(self))
        }
        context.fireChannelInactive()
    }

    private func start(_ context: ChannelHandlerContext) {
        guard !counted, phase == .admitting else { return }
        counted = true
        gauge.increment()
        loop.connections[ObjectIdentifier(self)] = self
        peer = MapServer.describe(context.channel.remoteAddress)
        idleSince = .now()
        armTimer(context)
        let (count, maximum) = server.connectionStarted()
        guard count <= maximum, !server.isShuttingDown, let directory = loop.directory else {
            if count > maximum {
                server.logger.warning("connect from \(peer): too many connections (max_connections = \(maximum))")
                server.metrics.error("connection_limit")
            }
            close(context)
            return
        }
        guard case .inet = listener.address, let access = directory.clientAccess,
              let ip = context.channel.remoteAddress?.ipAddress else {
            admit(context)
            return
        }
        if access.answersFromMemory {
            decide(directory.admits(ip), context)
            return
        }
        directory.retain()
        let me = NIOLoopBound(self, eventLoop: context.eventLoop)
        server.pool.runIfActive(eventLoop: context.eventLoop) { directory.admits(ip) }.whenComplete { result in
            directory.release()
            let handler = me.value
            guard let context = handler.context else { return }
            switch result {
            case .success(let decision): handler.decide(decision, context)
            case .failure: handler.decide((false, "server is stopping"), context)
            }
        }
    }

    private func decide(_ decision: (Bool, String?), _ context: ChannelHandlerContext) {
        guard phase == .admitting else { return }
        if decision.0 {
            admit(context)
        } else {
            server.logger.warning("connect from \(peer) refused by client_access\(decision.1.map { ": " + $0 } ?? "")")
            server.metrics.error("client_refused")
            close(context)
        }
    }

    private func admit(_ context: ChannelHandlerContext) {
        phase = .serving
        let frames = held
        held = []
        for frame in frames { handle(frame, context) }
        if !frames.isEmpty { finishRead(context) }
        if inputClosed { inputEnded(context) }
    }

    /// Graceful shutdown: a connection that owes nothing closes now; one with lookups running closes
    /// after their replies.
    func shutdown() {
        guard let context else { return }
        stopping = true
        if phase != .serving || (queue.isEmpty && jobsInFlight == 0 && toPool.isEmpty) { closeAfterWrites(context) }
    }

    // MARK: Requests

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        if phase == .admitting {
            held.append(frame)
            return
        }
        handle(frame, context)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        if phase == .serving { finishRead(context) }
        context.fireChannelReadComplete()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? ChannelEvent, event == .inputClosed {
            // The decoder before this handler has passed on every whole request it had.
            inputClosed = true
            if phase == .serving { inputEnded(context) }
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if let error = error as? ProtocolViolation {
            if violation == nil { violation = error }
            if phase == .serving { finishRead(context) } else { close(context) }
            return
        }
        // The client went away (reset, killed mid-request).
        close(context)
    }

    private func inputEnded(_ context: ChannelHandlerContext) {
        requestStarted = nil
        finishRead(context)
    }

    private func handle(_ frame: RequestFrame, _ context: ChannelHandlerContext) {
        guard phase == .serving, violation == nil, !stopping else { return }
        switch frame {
        case .started:
            requestStarted = .now()
            idleSince = nil
            armTimer(context)
        case .request(let payload):
            requestStarted = nil
            idleSince = nil
            answer(payload)
        }
    }

    private func answer(_ payload: [UInt8]) {
        let name: String
        let key: [UInt8]
        do throws(ProtocolViolation) {
            switch listener.kind {
            case .socketmap:
                (name, key) = try SocketmapProtocol.parse(payload)
            case .tcpTable:
                key = try TCPTableProtocol.parse(payload)
                name = listener.table ?? ""
            }
        } catch {
            violation = error
            return
        }
        guard let directory = loop.directory else {
            reply(.temporary("server is starting or stopping"))
            return
        }
        guard let table = directory.tables[name] else {
            server.logger.warning("request for unknown table \"\(name)\"")
            reply(.permanent("unknown table \(name)"))
            return
        }
        if table.answersFromMemory {
            let start = MapServer.monotonicNanoseconds()
            let answer: LookupAnswer
            if let copy = table.copy(forLoop: loop.index) {
                loop.openBatch(copy)
                answer = table.answer(key, in: copy)
            } else {
                answer = table.answer(key)
            }
            let elapsed = MapServer.monotonicNanoseconds() &- start
            table.metrics?.counts(loop: loop.index).record(answer, nanoseconds: elapsed)
            if case .temporary(let why) = answer { server.logLookupFailure(name, key, why) }
            reply(answer)
        } else {
            toPool.append(PoolLookup(number: firstQueued + queue.count, name: name, table: table, key: key))
            queue.append(nil)
        }
    }

    private func reply(_ answer: LookupAnswer) {
        if queue.isEmpty {
            Self.encode(answer, listener.kind, into: &out)
        } else {
            var buffer = ByteBufferAllocator().buffer(capacity: 64)
            Self.encode(answer, listener.kind, into: &buffer)
            queue.append(buffer)
        }
    }

    /// The end of a read: the lookups gathered for the pool go there, the replies ready are written
    /// and flushed.
    private func finishRead(_ context: ChannelHandlerContext) {
        if !toPool.isEmpty { submit(context) }
        flush(context)
    }

    private func submit(_ context: ChannelHandlerContext) {
        let lookups = toPool
        toPool = []
        guard let directory = loop.directory else { return }
        directory.retain()
        jobsInFlight += 1
        let server = self.server
        let me = NIOLoopBound(self, eventLoop: context.eventLoop)
        server.pool.runIfActive(eventLoop: context.eventLoop) { () -> [(LookupAnswer, Int64)] in
            lookups.map { lookup in
                let start = MapServer.monotonicNanoseconds()
                let answer = lookup.table.answer(lookup.key)
                return (answer, MapServer.monotonicNanoseconds() &- start)
            }
        }.whenComplete { result in
            directory.release()
            me.value.completed(lookups, result)
        }
    }

    private func completed(_ lookups: [PoolLookup], _ result: Result<[(LookupAnswer, Int64)], any Error>) {
        jobsInFlight -= 1
        let answers: [(LookupAnswer, Int64)]
        switch result {
        case .success(let done): answers = done
        case .failure: answers = lookups.map { _ in (.temporary("server is stopping"), 0) }
        }
        for (lookup, (answer, nanoseconds)) in zip(lookups, answers) {
            lookup.table.metrics?.counts(loop: loop.index).record(answer, nanoseconds: nanoseconds)
            if case .temporary(let why) = answer { server.logLookupFailure(lookup.name, lookup.key, why) }
            var buffer = ByteBufferAllocator().buffer(capacity: 64)
            Self.encode(answer, listener.kind, into: &buffer)
            let slot = lookup.number - firstQueued
            if slot >= 0, slot < queue.count { queue[queue.index(queue.startIndex, offsetBy: slot)] = buffer }
        }
        guard let context else { return }
        flush(context)
    }

    /// Move the replies no longer waiting behind a pool lookup to `out`; write and flush them; then
    /// close if the connection is ending, or start the idle timer if it owes nothing.
    private func flush(_ context: ChannelHandlerContext) {
        while let first = queue.first, var ready = first {
            out.writeBuffer(&ready)
            queue.removeFirst()
            firstQueued += 1
        }
        if out.readableBytes > 0 {
            context.write(wrapOutboundOut(out), promise: nil)
            out = context.channel.allocator.buffer(capacity: 256)
            context.flush()
        }
        guard queue.isEmpty, jobsInFlight == 0, toPool.isEmpty, phase == .serving else { return }
        if let violation {
            server.logger.warning("\(listener.kind.rawValue) protocol error from \(peer): \(violation); closing the connection")
            server.metrics.error("protocol")
            closeAfterWrites(context)
        } else if inputClosed || stopping {
            closeAfterWrites(context)
        } else if requestStarted == nil, idleSince == nil {
            idleSince = .now()
            armTimer(context)
        }
    }

    // MARK: Closing and timers

    private func close(_ context: ChannelHandlerContext) {
        phase = .closing
        cancelTimer()
        context.close(promise: nil)
    }

    /// Close once every reply written so far has left (an empty write completes after them).
    private func closeAfterWrites(_ context: ChannelHandlerContext) {
        guard phase != .closing else { return }
        phase = .closing
        cancelTimer()
        let promise = context.eventLoop.makePromise(of: Void.self)
        context.writeAndFlush(wrapOutboundOut(context.channel.allocator.buffer(capacity: 0)), promise: promise)
        let channel = context.channel
        promise.futureResult.whenComplete { _ in channel.close(promise: nil) }
    }

    private enum Expiry { case idle, request }

    private var deadline: (Expiry, NIODeadline)? {
        if let started = requestStarted { return (.request, started + requestTimeout) }
        if let since = idleSince { return (.idle, since + idleTimeout) }
        return nil
    }

    /// Make sure the timer fires no later than the current deadline.
    private func armTimer(_ context: ChannelHandlerContext) {
        guard phase != .closing, let (_, at) = deadline else { return }
        if timer != nil, timerAt <= at { return }
        timer?.cancel()
        timerAt = at
        let me = NIOLoopBound(self, eventLoop: context.eventLoop)
        timer = context.eventLoop.scheduleTask(deadline: at) { me.value.timerFired() }
    }

    private func timerFired() {
        timer = nil
        timerAt = .distantFuture
        guard let context, phase != .closing, let (kind, at) = deadline else { return }
        if NIODeadline.now() < at {
            armTimer(context)
            return
        }
        if kind == .request {
            server.logger.warning("timeout after \(requestTimeout.nanoseconds / 1_000_000_000)s reading a request from \(peer)")
            server.metrics.error("request_timeout")
        }
        close(context)
    }

    private func cancelTimer() {
        timer?.cancel()
        timer = nil
        timerAt = .distantFuture
    }

    // MARK: Encoding

    private static let socketmapNotFound: [UInt8] = Array("9:NOTFOUND ,".utf8)
    private static let tcpNotFound: [UInt8] = Array("500 not found\n".utf8)

    /// Write the reply to `answer` in the listener's protocol.
    static func encode(_ answer: LookupAnswer, _ kind: ServerConfiguration.Listener.Kind, into buffer: inout ByteBuffer) {
        switch (kind, answer) {
        case (.socketmap, .notFound):
            buffer.writeBytes(socketmapNotFound)
        case (.socketmap, .found(let value)) where value.count + 3 <= SocketmapProtocol.maximumReply:
            writeDecimal(value.count + 3, into: &buffer)
            buffer.writeBytes([UInt8(ascii: ":"), UInt8(ascii: "O"), UInt8(ascii: "K"), 0x20])
            buffer.writeBytes(value)
            buffer.writeInteger(UInt8(ascii: ","))
        case (.socketmap, _):
            Netstring.encode(SocketmapProtocol.reply(answer), into: &buffer)
        case (.tcpTable, .notFound):
            buffer.writeBytes(tcpNotFound)
        case (.tcpTable, .found(let value)) where !value.contains(where: { $0 == UInt8(ascii: "%") || $0 < 0x20 || $0 == 0x7F }):
            buffer.writeBytes([UInt8(ascii: "2"), UInt8(ascii: "0"), UInt8(ascii: "0"), 0x20])
            buffer.writeBytes(value)
            buffer.writeInteger(UInt8(0x0A))
        case (.tcpTable, _):
            buffer.writeBytes(TCPTableProtocol.reply(answer))
        }
    }

    private static func writeDecimal(_ n: Int, into buffer: inout ByteBuffer) {
        var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        withUnsafeMutableBytes(of: &digits) { raw in
            var n = n
            var at = raw.count
            repeat {
                at -= 1
                raw[at] = UInt8(ascii: "0") + UInt8(n % 10)
                n /= 10
            } while n > 0 && at > 0
            buffer.writeBytes(UnsafeRawBufferPointer(rebasing: raw[at...]))
        }
    }
}
