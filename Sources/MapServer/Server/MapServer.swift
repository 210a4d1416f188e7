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
/// Connections are NIO channels, each answered on its own event loop by a `ConnectionHandler`: a
/// request is decoded, looked up and its reply encoded where it is read, and the replies of one read
/// leave in one write. Tables whose lookups can wait (the catalog says which: network, locked files,
/// other processes) are looked up on a thread pool, and their replies keep their place. Each event
/// loop holds the current `TableDirectory`; SIGHUP re-reads the configuration, and a new directory
/// replaces the old one on every loop, which closes when its last lookup is done; a configuration that
/// fails keeps the old one serving. Graceful shutdown (SIGTERM, through swift-service-lifecycle) stops
/// accepting, lets requests in progress be answered, and closes.
///
/// Shared state sits in `NIOLockedValueBox`es (pthread mutexes, which Thread Sanitizer follows; the
/// Synchronization module's `Mutex` uses futexes it does not see, and reports false races); none is
/// taken per request.
public final class MapServer: Service, Sendable {
    /// At most this many event loops (and sets of lookup counters).
    public static let maximumLoops = 4

    /// The event loops when `event_loops` is not set: one per core but one, at least one and at most
    /// `maximumLoops`. The core left over runs the kernel's side of the connections (a loopback or NIC
    /// send does the receiver's TCP work in the sender's time) and the clients; on 2 cores one loop
    /// answers more lookups per CPU second than two, which wake each other's cores (measured in
    /// README's benchmark), as Redis answers from one thread.
    public static var defaultEventLoops: Int { max(1, min(maximumLoops, System.coreCount - 1)) }

    private let configPath: String?
    let logger: Logger
    public let metrics: ServerMetrics
    private let registry: MapRegistry
    private let group: MultiThreadedEventLoopGroup
    let pool: NIOThreadPool
    private let loops: [LoopState]
    private let state: NIOLockedValueBox<(config: ServerConfiguration, directory: TableDirectory?)>
    private let openConnections = Synchronization.Atomic<Int>(0)
    private let maximumConnections: Synchronization.Atomic<Int>
    private let shuttingDown = Synchronization.Atomic<Bool>(false)
    private let listening = NIOLockedValueBox<[any Channel]>([])
    /// Where listeners are bound (a port of 0 becomes the port the system chose), in configuration order.
    private let boundAddresses = NIOLockedValueBox<[String]>([])
    private let ready = Synchronization.Atomic<Bool>(false)

    /// A server for `config`, read from `configPath` (re-read there on SIGHUP; nil: never re-read).
    public init(config: ServerConfiguration, configPath: String?, logger: Logger,
                registry: MapRegistry = MapBackends.registry, metrics: ServerMetrics = ServerMetrics()) {
        self.configPath = configPath
        self.logger = logger
        self.metrics = metrics
        self.registry = registry
        let loopCount = max(1, min(Self.maximumLoops, metrics.shards - 1, config.eventLoops ?? Self.defaultEventLoops))
        self.group = MultiThreadedEventLoopGroup(numberOfThreads: loopCount)
        self.loops = group.makeIterator().enumerated().map { LoopState(eventLoop: $0.element, index: $0.offset) }
        self.pool = NIOThreadPool(numberOfThreads: config.lookupThreads)
        self.state = NIOLockedValueBox((config, nil))
        self.maximumConnections = Synchronization.Atomic(config.maximumConnections)
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
        var servers: [any Channel] = []
        for listener in config.listeners {
            let server = try await bind(listener, config)
            servers.append(server)
            listening.withLockedValue { $0.append(server) }
            boundAddresses.withLockedValue { $0.append(Self.describe(listener.address, server.localAddress)) }
        }
        var metricsServer: MetricsEndpoint.ServerChannel?
        if let address = config.metricsListen {
            let server = try await MetricsEndpoint.bind(address, group: group, metrics: metrics)
            listening.withLockedValue { $0.append(server.channel) }
            boundAddresses.withLockedValue { $0.append(Self.describe(address, server.channel.localAddress)) }
            metricsServer = server
        }
        try Privileges.drop(to: config.user, logger: logger)
        let directory = try TableDirectory.open(config, registry: registry, metrics: metrics, loops: loops.count, logger: logger)
        for text in directory.warnings { logger.warning("\(text)") }
        state.withLockedValue { $0.directory = directory }
        install(directory)
        logger.info("daemon started -- listening on \(addresses.joined(separator: ", ")); serving \(config.servedNames.joined(separator: ", "))")
        ready.store(true, ordering: .releasing)

        await withGracefulShutdownHandler {
            await withTaskGroup(of: Void.self) { outer in
                outer.addTask { await self.watchHangups() }
                if let metricsServer {
                    outer.addTask { try? await MetricsEndpoint.serve(metricsServer, metrics: self.metrics, tables: { self.reloadCounts() }) }
                }
                for server in servers { try? await server.closeFuture.get() }
                // The listeners are closed: wait for the connections to finish.
                while openConnections.load(ordering: .acquiring) > 0 {
                    try? await Task.sleep(for: .milliseconds(10))
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
        for loop in loops {
            try? await loop.eventLoop.submit {
                loop.endBatches()
                loop.directory?.release()
                loop.directory = nil
            }.get()
        }
        last?.retire()
        logger.info("daemon stopped")
    }

    /// True once the listeners are bound and the tables open.
    public var isReady: Bool { ready.load(ordering: .acquiring) }

    /// Give `directory` to every event loop; each releases the one it held.
    private func install(_ directory: TableDirectory) {
        for _ in loops { directory.retain() }
        for loop in loops {
            loop.eventLoop.execute {
                // No batch stays open on the old tables, which may close on another thread.
                loop.endBatches()
                let old = loop.directory
                loop.directory = directory
                old?.release()
            }
        }
    }

    // MARK: Listeners

    private func bind(_ listener: ServerConfiguration.Listener, _ config: ServerConfiguration) async throws -> any Channel {
        let logger = self.logger
        var bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 1024)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .serverChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(AcceptErrorHandler(logger: logger, listener: listener.address.description))
                }
            }
            // A client that half-closes still gets its replies (ConnectionHandler closes after them).
            .childChannelOption(.allowRemoteHalfClosure, value: true)
        if case .inet = listener.address {
            bootstrap = bootstrap.childChannelOption(.tcpOption(.tcp_nodelay), value: 1)
        }
        let maximumRequest = config.maximumRequestSize
        let idle = TimeAmount.seconds(Int64(config.idleTimeout))
        let request = TimeAmount.seconds(Int64(config.requestTimeout))
        let gauge = metrics.connections(listener.address.description)
        let loops = self.loops
        bootstrap = bootstrap.childChannelInitializer { channel in
            channel.eventLoop.makeCompletedFuture {
                let id = ObjectIdentifier(channel.eventLoop)
                guard let loop = loops.first(where: { ObjectIdentifier($0.eventLoop) == id }) else {
                    throw ChannelError.inappropriateOperationForState
                }
                // One handler frames, answers and writes (no decoder before it: `ConnectionHandler`).
                try channel.pipeline.syncOperations.addHandler(ConnectionHandler(
                    server: self, listener: listener, loop: loop, gauge: gauge, idleTimeout: idle, requestTimeout: request,
                    maximumRequest: maximumRequest, allocator: channel.allocator))
            }
        }
        switch listener.address {
        case .inet(let host, let port):
            return try await bootstrap.bind(host: host, port: port).get()
        case .unix(let path):
            let server = try await bootstrap.bind(unixDomainSocketPath: path, cleanupExistingSocketFile: true).get()
            try Privileges.setSocket(path, owner: config.unixSocketOwner, mode: config.unixSocketMode)
            return server
        }
    }

    // MARK: Connections

    /// A connection opened: how many are open now, and the limit.
    func connectionStarted() -> (count: Int, maximum: Int) {
        (openConnections.add(1, ordering: .relaxed).newValue, maximumConnections.load(ordering: .relaxed))
    }

    func connectionEnded() {
        openConnections.subtract(1, ordering: .releasing)
    }

    var isShuttingDown: Bool { shuttingDown.load(ordering: .acquiring) }

    func logLookupFailure(_ name: String, _ key: [UInt8], _ why: String) {
        logger.warning("table \(name): lookup of \"\(ByteText.string(key))\" failed: \(why)")
    }

    /// The monotonic clock, in nanoseconds.
    @inline(__always)
    static func monotonicNanoseconds() -> Int64 {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return Int64(now.tv_sec) &* 1_000_000_000 &+ Int64(now.tv_nsec)
    }

    /// Answer `key` from the table called `name`.
    public func lookup(_ name: String, _ key: [UInt8]) async -> LookupAnswer {
        await lookup([(name, key)])[0]
    }

    /// Answer each key from its table, in order, on the thread pool (for callers off the event loops).
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
        let work: @Sendable () -> [LookupAnswer] = {
            requests.map { request in
                guard let table = directory.tables[request.name] else {
                    self.logger.warning("request for unknown table \"\(request.name)\"")
                    return .permanent("unknown table \(request.name)")
                }
                let start = Self.monotonicNanoseconds()
                let answer = table.answer(request.key)
                table.metrics?.counts(loop: nil).record(answer, nanoseconds: Self.monotonicNanoseconds() &- start)
                if case .temporary(let why) = answer { self.logLookupFailure(request.name, request.key, why) }
                return answer
            }
        }
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
                    return (config, try TableDirectory.open(config, registry: self.registry, metrics: self.metrics,
                                                            loops: self.loops.count, logger: self.logger))
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
                // Under the lock: two reloads give the loops their directories in the order they won it.
                install(directory)
                return old
            }
            maximumConnections.store(config.maximumConnections, ordering: .relaxed)
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
        for loop in loops {
            loop.eventLoop.execute {
                for handler in loop.connections.values { handler.shutdown() }
            }
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
