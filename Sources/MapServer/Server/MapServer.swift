import Logging
import Maps
import MapBackends
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import PostfixText
import ServiceLifecycle
import Synchronization
import UnixSignals
#if canImport(Glibc)
import Glibc
#endif

/// The map server: serves tables over tcp_table and socketmap listeners (postmapd(8)).
///
/// Connections are NIO channels; each request is decoded on its event loop, looked up on a thread pool
/// (table lookups block: Berkeley DB, LMDB, libldap) or, for tables that answer from memory (rule
/// lists, inline, texthash), on the connection's task, and answered in order. SIGHUP re-reads the
/// configuration; a configuration that fails keeps the old one serving. Graceful shutdown (SIGTERM,
/// through swift-service-lifecycle) stops accepting, lets requests in progress be answered, and closes.
///
/// Shared state sits in `NIOLockedValueBox`es (pthread mutexes, which Thread Sanitizer follows; the
/// Synchronization module's `Mutex` uses futexes it does not see, and reports false races).
public final class MapServer: Service, Sendable {
    /// A connection: batches of requests in (see `ConnectionTimer`), replies out.
    public typealias Connection = NIOAsyncChannel<[[UInt8]], ByteBuffer>

    private let configPath: String?
    private let logger: Logger
    public let metrics: ServerMetrics
    private let registry: MapRegistry
    private let group: MultiThreadedEventLoopGroup
    private let pool: NIOThreadPool
    private let state: NIOLockedValueBox<(config: ServerConfiguration, directory: TableDirectory?)>
    private let openConnections = Atomic<Int>(0)
    private let shuttingDown = Atomic<Bool>(false)
    /// Open connections, and whether each is between a request and its reply.
    private let live = NIOLockedValueBox<[ObjectIdentifier: (channel: any Channel, busy: Bool)]>([:])
    private let listening = NIOLockedValueBox<[any Channel]>([])
    /// Where listeners are bound (a port of 0 becomes the port the system chose), in configuration order.
    private let boundAddresses = NIOLockedValueBox<[String]>([])
    private let ready = Atomic<Bool>(false)

    /// A server for `config`, read from `configPath` (re-read there on SIGHUP; nil: never re-read).
    public init(config: ServerConfiguration, configPath: String?, logger: Logger,
                registry: MapRegistry = MapBackends.registry, metrics: ServerMetrics = ServerMetrics()) {
        self.configPath = configPath
        self.logger = logger
        self.metrics = metrics
        self.registry = registry
        self.group = MultiThreadedEventLoopGroup(numberOfThreads: max(1, min(4, System.coreCount)))
        self.pool = NIOThreadPool(numberOfThreads: config.lookupThreads)
        self.state = NIOLockedValueBox((config, nil))
        pool.start()
    }

    deinit {
        try? group.syncShutdownGracefully()
        try? pool.syncShutdownGracefully()
    }

    /// The listeners' addresses once bound, in configuration order (`host:port`, `unix:/path`).
    public var addresses: [String] { boundAddresses.withLockedValue { $0 } }

    public func run() async throws {
        let config = state.withLockedValue { $0.config }
        raiseDescriptorLimit(config.maximumConnections + 256)
        var servers: [(ServerConfiguration.Listener, NIOAsyncChannel<Connection, Never>)] = []
        for listener in config.listeners {
            let server = try await bind(listener, config)
            servers.append((listener, server))
            listening.withLockedValue { $0.append(server.channel) }
            boundAddresses.withLockedValue { $0.append(Self.describe(listener.address, server.channel.localAddress)) }
        }
        var metricsServer: MetricsEndpoint.ServerChannel?
        if let address = config.metricsListen {
            let server = try await MetricsEndpoint.bind(address, group: group, metrics: metrics)
            listening.withLockedValue { $0.append(server.channel) }
            boundAddresses.withLockedValue { $0.append(Self.describe(address, server.channel.localAddress)) }
            metricsServer = server
        }
        try Privileges.drop(to: config.user, logger: logger)
        let directory = try TableDirectory.open(config, registry: registry, metrics: metrics, logger: logger)
        for text in directory.warnings { logger.warning("\(text)") }
        state.withLockedValue { $0.directory = directory }
        logger.info("daemon started -- listening on \(addresses.joined(separator: ", ")); serving \(config.servedNames.joined(separator: ", "))")
        ready.store(true, ordering: .releasing)

        try await withGracefulShutdownHandler {
            try await withThrowingTaskGroup(of: Void.self) { outer in
                outer.addTask { await self.watchHangups() }
                if let metricsServer {
                    outer.addTask { try await MetricsEndpoint.serve(metricsServer, metrics: self.metrics, tables: { self.reloadCounts() }) }
                }
                try await withThrowingDiscardingTaskGroup { listeners in
                    for (listener, server) in servers {
                        listeners.addTask { try await self.accept(listener, server) }
                    }
                }
                outer.cancelAll()
                if let metricsServer { try? await metricsServer.channel.close() }
            }
        } onGracefulShutdown: {
            self.beginShutdown()
        }
        let last = state.withLockedValue { state in
            let directory = state.directory
            state.directory = nil
            return directory
        }
        last?.retire()
        logger.info("daemon stopped")
    }

    /// True once the listeners are bound and the tables open.
    public var isReady: Bool { ready.load(ordering: .acquiring) }

    // MARK: Listeners

    private func bind(_ listener: ServerConfiguration.Listener, _ config: ServerConfiguration) async throws -> NIOAsyncChannel<Connection, Never> {
        let logger = self.logger
        var bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 1024)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .serverChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(AcceptErrorHandler(logger: logger, listener: listener.address.description))
                }
            }
        if case .inet = listener.address {
            bootstrap = bootstrap.childChannelOption(.tcpOption(.tcp_nodelay), value: 1)
        }
        let maximumRequest = config.maximumRequestSize
        let idle = TimeAmount.seconds(Int64(config.idleTimeout))
        let request = TimeAmount.seconds(Int64(config.requestTimeout))
        let metrics = self.metrics
        let requestSeconds = config.requestTimeout
        let initializer: @Sendable (any Channel) -> EventLoopFuture<Connection> = { channel in
            channel.eventLoop.makeCompletedFuture {
                let peer = Self.describe(channel.remoteAddress)
                let decoder: ChannelHandler = listener.kind == .socketmap
                    ? ByteToMessageHandler(NetstringDecoder(maximumLength: maximumRequest))
                    : ByteToMessageHandler(LineDecoder(maximumLength: maximumRequest))
                try channel.pipeline.syncOperations.addHandler(decoder)
                try channel.pipeline.syncOperations.addHandler(ConnectionTimer(idleTimeout: idle, requestTimeout: request) { expiry in
                    if expiry == .request {
                        logger.warning("timeout after \(requestSeconds)s reading a request from \(peer)")
                        metrics.error("request_timeout")
                    }
                })
                return try Connection(wrappingChannelSynchronously: channel)
            }
        }
        switch listener.address {
        case .inet(let host, let port):
            return try await bootstrap.bind(host: host, port: port, childChannelInitializer: initializer)
        case .unix(let path):
            let server = try await bootstrap.bind(unixDomainSocketPath: path, cleanupExistingSocketFile: true,
                                                  childChannelInitializer: initializer)
            try Privileges.setSocket(path, owner: config.unixSocketOwner, mode: config.unixSocketMode)
            return server
        }
    }

    private func accept(_ listener: ServerConfiguration.Listener, _ server: NIOAsyncChannel<Connection, Never>) async throws {
        let label = listener.address.description
        let gauge = metrics.connections(label)
        try await withThrowingDiscardingTaskGroup { connections in
            try await server.executeThenClose { inbound in
                for try await connection in inbound {
                    connections.addTask {
                        gauge.increment()
                        await self.handle(connection, listener)
                        gauge.decrement()
                    }
                }
            }
        }
    }

    // MARK: Connections

    private func handle(_ connection: Connection, _ listener: ServerConfiguration.Listener) async {
        let channel = connection.channel
        let peer = Self.describe(channel.remoteAddress)
        let id = ObjectIdentifier(channel)
        let count = openConnections.add(1, ordering: .relaxed).newValue
        defer { openConnections.subtract(1, ordering: .relaxed) }
        let (maximum, directory) = state.withLockedValue { state in
            state.directory?.retain()
            return (state.config.maximumConnections, state.directory)
        }
        if count > maximum || shuttingDown.load(ordering: .acquiring) || directory == nil {
            directory?.release()
            if count > maximum {
                logger.warning("connect from \(peer): too many connections (max_connections = \(maximum))")
                metrics.error("connection_limit")
            }
            try? await channel.close()
            return
        }
        if case .inet = listener.address, let directory, let ip = channel.remoteAddress?.ipAddress {
            let (admitted, why) = (try? await pool.runIfActive { directory.admits(ip) }) ?? (false, "server is stopping")
            if !admitted {
                directory.release()
                logger.warning("connect from \(peer) refused by client_access\(why.map { ": " + $0 } ?? "")")
                metrics.error("client_refused")
                try? await channel.close()
                return
            }
        }
        directory?.release()
        live.withLockedValue { $0[id] = (channel, false) }
        defer { _ = live.withLockedValue { $0.removeValue(forKey: id) } }
        do {
            try await connection.executeThenClose { inbound, outbound in
                for try await batch in inbound {
                    live.withLockedValue { $0[id]?.busy = true }
                    let (reply, violation) = await self.respond(batch, listener, allocator: channel.allocator)
                    if reply.readableBytes > 0 { try await outbound.write(reply) }
                    live.withLockedValue { $0[id]?.busy = false }
                    if let violation { throw violation }
                    if shuttingDown.load(ordering: .acquiring) { break }
                }
            }
        } catch let violation as ProtocolViolation {
            logger.warning("\(listener.kind.rawValue) protocol error from \(peer): \(violation); closing the connection")
            metrics.error("protocol")
        } catch {
            // The client went away (reset, killed mid-request), or a timer closed the connection.
        }
    }

    /// Answer a batch of pipelined requests in order, with one write. A request that breaks the protocol
    /// ends the batch: the requests before it are answered, and the violation is returned.
    private func respond(_ batch: [[UInt8]], _ listener: ServerConfiguration.Listener,
                         allocator: ByteBufferAllocator) async -> (ByteBuffer, ProtocolViolation?) {
        var keys: [(name: String, key: [UInt8])] = []
        var violation: ProtocolViolation?
        do throws(ProtocolViolation) {
            for payload in batch {
                switch listener.kind {
                case .socketmap: keys.append(try SocketmapProtocol.parse(payload))
                case .tcpTable: keys.append((listener.table ?? "", try TCPTableProtocol.parse(payload)))
                }
            }
        } catch {
            violation = error
        }
        let answers = await lookup(keys)
        var buffer = allocator.buffer(capacity: 64 * answers.count)
        for answer in answers {
            switch listener.kind {
            case .socketmap: Netstring.encode(SocketmapProtocol.reply(answer), into: &buffer)
            case .tcpTable: buffer.writeBytes(TCPTableProtocol.reply(answer))
            }
        }
        return (buffer, violation)
    }

    /// Answer `key` from the table called `name`.
    public func lookup(_ name: String, _ key: [UInt8]) async -> LookupAnswer {
        await lookup([(name, key)])[0]
    }

    /// Answer each key from its table, in order: on this task when every table answers from memory,
    /// else in one job on the thread pool.
    func lookup(_ requests: [(name: String, key: [UInt8])]) async -> [LookupAnswer] {
        guard !requests.isEmpty else { return [] }
        let directory = state.withLockedValue { state in
            state.directory?.retain()
            return state.directory
        }
        guard let directory else {
            return requests.map { _ in .temporary("server is starting or stopping") }
        }
        defer { directory.release() }
        let tables = requests.map { directory.tables[$0.name] }
        let logger = self.logger
        let work: @Sendable () -> [LookupAnswer] = {
            var answers: [LookupAnswer] = []
            answers.reserveCapacity(requests.count)
            for (index, request) in requests.enumerated() {
                guard let table = tables[index] else {
                    logger.warning("request for unknown table \"\(request.name)\"")
                    answers.append(.permanent("unknown table \(request.name)"))
                    continue
                }
                let start = ContinuousClock.now
                let answer = table.answer(request.key)
                let elapsed = ContinuousClock.now - start
                table.metrics?.record(answer, nanoseconds: elapsed.components.seconds * 1_000_000_000
                                      + elapsed.components.attoseconds / 1_000_000_000)
                if case .temporary(let why) = answer {
                    logger.warning("table \(request.name): lookup of \"\(ByteText.string(request.key))\" failed: \(why)")
                }
                answers.append(answer)
            }
            return answers
        }
        if tables.allSatisfy({ $0?.answersFromMemory ?? true }) { return work() }
        do {
            return try await pool.runIfActive(work)
        } catch {
            return requests.map { _ in .temporary("server is stopping") }
        }
    }

    // MARK: Reload and shutdown

    private func watchHangups() async {
        for await _ in await UnixSignalsSequence(trapping: .sighup) {
            if Task.isCancelled { return }
            _ = await reload()
        }
    }

    /// Re-read the configuration file and open its tables; on success the new tables serve the next
    /// requests and the old ones close when their last lookup is done. On failure the old configuration
    /// keeps serving, and the reason is logged. Listener changes take effect at the next start.
    @discardableResult
    public func reload() async -> Bool {
        guard let configPath else { return false }
        let loaded: Result<(ServerConfiguration, TableDirectory), ServerConfigError> = await {
            do {
                let loaded = try await pool.runIfActive { () throws -> (ServerConfiguration, TableDirectory) in
                    let config = try ServerConfiguration.load(configPath)
                    return (config, try TableDirectory.open(config, registry: self.registry, metrics: self.metrics, logger: self.logger))
                }
                return .success(loaded)
            } catch let error as ServerConfigError {
                return .failure(error)
            } catch {
                return .failure(ServerConfigError("\(error)"))
            }
        }()
        switch loaded {
        case .failure(let error):
            logger.warning("reload of \(configPath) failed: \(error.message); the previous configuration stays in use")
            metrics.configReload(ok: false)
            return false
        case .success(let (config, directory)):
            for text in config.unused { logger.warning("\(text)") }
            for text in directory.warnings { logger.warning("\(text)") }
            let old = state.withLockedValue { state in
                if state.config.listeners != config.listeners || state.config.metricsListen != config.metricsListen {
                    logger.warning("reload of \(configPath): listener changes take effect when the server restarts")
                }
                var merged = config
                merged.listeners = state.config.listeners
                merged.metricsListen = state.config.metricsListen
                state.config = merged
                let old = state.directory
                state.directory = directory
                return old
            }
            old?.retire()
            metrics.configReload(ok: true)
            logger.info("reload of \(configPath): serving \(config.servedNames.joined(separator: ", "))")
            return true
        }
    }

    /// Stop accepting; close idle connections now and busy ones after their reply.
    public func beginShutdown() {
        shuttingDown.store(true, ordering: .releasing)
        for channel in listening.withLockedValue({ $0 }) { channel.close(promise: nil) }
        for (_, entry) in live.withLockedValue({ $0 }) where !entry.busy {
            entry.channel.close(promise: nil)
        }
    }

    private func reloadCounts() -> [(String, Int)] {
        let directory = state.withLockedValue { $0.directory }
        return (directory?.tables ?? [:]).map { ($0.key, $0.value.reloads) }
    }

    // MARK: Helpers

    static func describe(_ address: SocketAddress?) -> String {
        guard let address else { return "unknown" }
        switch address {
        case .v4, .v6:
            let ip = address.ipAddress ?? "?"
            return ip.contains(":") ? "[\(ip)]:\(address.port ?? 0)" : "\(ip):\(address.port ?? 0)"
        case .unixDomainSocket:
            return "local"
        }
    }

    static func describe(_ configured: ServerConfiguration.Address, _ bound: SocketAddress?) -> String {
        switch configured {
        case .unix(let path): return "unix:\(path)"
        case .inet(let host, _):
            let port = bound?.port ?? 0
            return host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
        }
    }

    private func raiseDescriptorLimit(_ wanted: Int) {
        var limit = rlimit()
        guard getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return }
        let target = min(rlim_t(wanted), limit.rlim_max)
        if limit.rlim_cur < target {
            limit.rlim_cur = target
            _ = setrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit)
        }
    }
}

/// On a listening channel: an error while accepting or setting up one connection (out of descriptors,
/// a socket option refused) is logged, and the listener goes on; without it the error would end the
/// stream of connections.
final class AcceptErrorHandler: ChannelInboundHandler, Sendable {
    typealias InboundIn = Any
    private let logger: Logger
    private let listener: String

    init(logger: Logger, listener: String) {
        self.logger = logger
        self.listener = listener
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        logger.warning("\(listener): cannot accept a connection: \(error)")
    }
}
