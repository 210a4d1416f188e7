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
    // `@unchecked Sendable`: `directory`, `connections` and the batch window (`tick`, `batched`,
    // `windowEnd`) are read and written only on `eventLoop` (in the handlers of its channels, and in
    // tasks given to `eventLoop.execute` or `scheduleTask`); the rest is immutable.
    let eventLoop: any EventLoop
    /// Which set of lookup counters this loop writes (`TableMetrics.counts(loop:)`).
    let index: Int
    /// The tables of the current configuration; the loop holds one `retain` on it.
    var directory: TableDirectory?
    var connections: [ObjectIdentifier: ConnectionHandler] = [:]
    /// The batch window of the loop: a task scheduled at the first batched lookup ends it.
    private var tick = 0
    /// Table copies with a batch open in this window.
    private var batched: [LoopTables] = []
    /// The task that ends the window.
    private var windowEnd: Scheduled<Void>?

    /// How long a loop keeps the batches of its memory-mapped tables open (one read transaction and one
    /// hold of the file's shared lock for all their lookups): taking and dropping the lock for each turn
    /// of the loop costs two `fcntl` calls, as many system calls as the request's read and write. A
    /// writer that rewrites the file under its lock waits at most this long (and `SharedFileLock` makes
    /// the loops' overlapping holds drain after `SharedFileLock.maximumHold`).
    static let batchWindow = TimeAmount.milliseconds(1)

    init(eventLoop: any EventLoop, index: Int) {
        self.eventLoop = eventLoop
        self.index = index
    }

    /// Make sure `copy` has its batch open in this window, which ends `batchWindow` after its first
    /// batched lookup.
    func openBatch(_ copy: LoopTables) {
        guard copy.tick != tick else { return }
        copy.tick = tick
        copy.beginBatch()
        batched.append(copy)
        if windowEnd == nil {
            windowEnd = eventLoop.scheduleTask(in: Self.batchWindow) { self.endBatches() }
        }
    }

    /// End every batch of this window.
    func endBatches() {
        windowEnd?.cancel()
        windowEnd = nil
        for copy in batched { copy.endBatch() }
        batched = []
        tick &+= 1
    }
}

/// One connection, answered on its event loop in one pass from socket to socket: each request is
/// framed in the bytes read (`Framing`, no decoder before this handler and no copy of the request),
/// looked up and its reply encoded as it arrives (`channelRead`); the replies of one read of the
/// socket go out in one write and one flush (`channelReadComplete`).
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
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let server: MapServer
    private let listener: ServerConfiguration.Listener
    private let loop: LoopState
    private let gauge: Gauge
    private let idleTimeout: TimeAmount
    private let requestTimeout: TimeAmount
    /// The largest request accepted (a netstring's payload, a tcp_table line).
    private let maximumRequest: Int
    private var context: ChannelHandlerContext?
    private var peer = "unknown"

    private enum Phase { case admitting, serving, closing }
    private var phase = Phase.admitting
    /// Bytes received and not yet framed: a partial request, or what came while client_access was
    /// being asked. Nil when there are none (so that NIO's read buffer is not kept).
    private var pending: ByteBuffer?
    /// Bytes of `pending` known to hold no newline (tcp_table).
    private var scanned = 0
    /// The table named last, for the directory it came from: most connections ask one table.
    private var cachedDirectory: TableDirectory?
    private var cachedName: [UInt8] = []
    private var cachedTable: ServedTable?
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
         idleTimeout: TimeAmount, requestTimeout: TimeAmount, maximumRequest: Int, allocator: ByteBufferAllocator) {
        self.server = server
        self.listener = listener
        self.loop = loop
        self.gauge = gauge
        self.idleTimeout = idleTimeout
        self.requestTimeout = requestTimeout
        self.maximumRequest = maximumRequest
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
        if pending != nil {
            frameRequests(context)
            finishRead(context)
        }
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
        var buffer = unwrapInboundIn(data)
        guard violation == nil, phase != .closing, !stopping else { return }
        if var held = pending {
            pending = nil
            held.writeBuffer(&buffer)
            pending = held
        } else {
            pending = buffer
        }
        if phase == .serving {
            frameRequests(context)
        } else if let held = pending, held.readableBytes > 16 * (maximumRequest + 16) {
            // Far more than a request while client_access is being asked.
            close(context)
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        if phase == .serving { finishRead(context) }
        context.fireChannelReadComplete()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? ChannelEvent, event == .inputClosed {
            // Every whole request received was framed when it was read.
            inputClosed = true
            if phase == .serving { inputEnded(context) }
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // The client went away (reset, killed mid-request).
        close(context)
    }

    private func inputEnded(_ context: ChannelHandlerContext) {
        // A request cut short by the end of input is dropped.
        pending = nil
        requestStarted = nil
        finishRead(context)
    }

    /// Answer every whole request in `pending`; keep the partial one at its end, and start its clock.
    private func frameRequests(_ context: ChannelHandlerContext) {
        guard var buffer = pending else { return }
        pending = nil
        let maximum = maximumRequest
        let netstrings = listener.kind == .socketmap
        var scanned = self.scanned
        var completed = false
        while violation == nil, !stopping, buffer.readableBytes > 0 {
            let frame: Framing.Frame?
            do {
                frame = try buffer.withUnsafeReadableBytes { bytes throws(ProtocolViolation) -> Framing.Frame? in
                    netstrings ? try Framing.netstring(bytes, maximumLength: maximum)
                        : try Framing.line(bytes, scanned: &scanned, maximumLength: maximum)
                }
            } catch {
                violation = error
                break
            }
            guard let frame else { break }
            completed = true
            buffer.withUnsafeReadableBytes { bytes in
                answer(UnsafeRawBufferPointer(rebasing: bytes[frame.payloadStart..<(frame.payloadStart + frame.payloadLength)]))
            }
            buffer.moveReaderIndex(forwardBy: frame.consumed)
        }
        self.scanned = scanned
        if completed {
            requestStarted = nil
            idleSince = nil
        }
        guard buffer.readableBytes > 0, violation == nil, !stopping else { return }
        pending = buffer
        if requestStarted == nil {
            // A request has begun: it must arrive whole within request_timeout.
            requestStarted = .now()
            idleSince = nil
            armTimer(context)
        }
    }

    private static let getPrefix: [UInt8] = Array("get ".utf8)

    /// Answer one request, its payload framed in the read buffer.
    private func answer(_ payload: UnsafeRawBufferPointer) {
        let nameBytes: UnsafeRawBufferPointer?
        let key: [UInt8]
        switch listener.kind {
        case .socketmap:
            guard let space = payload.firstIndex(of: 0x20), space > 0 else {
                violation = ProtocolViolation("socketmap request without \"name key\"")
                return
            }
            nameBytes = UnsafeRawBufferPointer(rebasing: payload[..<space])
            key = [UInt8](UnsafeRawBufferPointer(rebasing: payload[(space + 1)...]))
        case .tcpTable:
            guard payload.count >= 4, payload[0] | 0x20 == UInt8(ascii: "g"), payload[1] | 0x20 == UInt8(ascii: "e"),
                  payload[2] | 0x20 == UInt8(ascii: "t"), payload[3] == 0x20 else {
                violation = ProtocolViolation("tcp_table request is not \"get key\"")
                return
            }
            let quoted = UnsafeRawBufferPointer(rebasing: payload[4...])
            if quoted.contains(UInt8(ascii: "%")) {
                guard let unquoted = TCPQuoting.unquote([UInt8](quoted)[...]) else {
                    violation = ProtocolViolation("malformed %XX quoting in tcp_table request")
                    return
                }
                key = unquoted
            } else {
                key = [UInt8](quoted)
            }
            nameBytes = nil
        }
        guard let directory = loop.directory else {
            reply(.temporary("server is starting or stopping"))
            return
        }
        guard let table = resolve(nameBytes, directory) else {
            let name = nameBytes.map { String(decoding: $0, as: UTF8.self) } ?? listener.table ?? ""
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
            if case .temporary(let why) = answer { server.logLookupFailure(table.name, key, why) }
            reply(answer)
        } else {
            toPool.append(PoolLookup(number: firstQueued + queue.count, name: table.name, table: table, key: key))
            queue.append(nil)
        }
    }

    /// The table a request names (socketmap: `name`; tcp_table: the listener's), from the one named
    /// last when it is the same name in the same directory.
    private func resolve(_ name: UnsafeRawBufferPointer?, _ directory: TableDirectory) -> ServedTable? {
        if cachedDirectory === directory, let cachedTable {
            guard let name else { return cachedTable }
            if name.count == cachedName.count, cachedName.withUnsafeBytes({ $0.elementsEqual(name) }) { return cachedTable }
        }
        let text = name.map { String(decoding: $0, as: UTF8.self) } ?? listener.table ?? ""
        guard let table = directory.tables[text] else { return nil }
        cachedDirectory = directory
        cachedName = name.map { [UInt8]($0) } ?? []
        cachedTable = table
        return table
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
            context.flush()
            // The write is usually done by now, and the buffer ours alone again: no new allocation.
            out.clear()
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
