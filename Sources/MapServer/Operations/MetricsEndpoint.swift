import NIOCore
import NIOHTTP1
import NIOPosix

/// The Prometheus endpoint: `GET /metrics` on its own (loopback) port; anything else is 404.
enum MetricsEndpoint {
    typealias Connection = NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>
    typealias ServerChannel = NIOAsyncChannel<Connection, Never>

    static func bind(_ address: ServerConfiguration.Address, group: any EventLoopGroup, metrics: ServerMetrics) async throws -> ServerChannel {
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
        let initializer: @Sendable (any Channel) -> EventLoopFuture<Connection> = { channel in
            channel.eventLoop.makeCompletedFuture {
                try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                return try Connection(wrappingChannelSynchronously: channel)
            }
        }
        switch address {
        case .inet(let host, let port):
            return try await bootstrap.bind(host: host, port: port, childChannelInitializer: initializer)
        case .unix(let path):
            return try await bootstrap.bind(unixDomainSocketPath: path, cleanupExistingSocketFile: true, childChannelInitializer: initializer)
        }
    }

    static func serve(_ server: ServerChannel, metrics: ServerMetrics, tables: @escaping @Sendable () -> [(String, Int)]) async throws {
        try await withThrowingDiscardingTaskGroup { group in
            try await server.executeThenClose { inbound in
                for try await connection in inbound {
                    group.addTask {
                        try? await connection.executeThenClose { requests, responses in
                            for try await part in requests {
                                guard case .head(let head) = part else { continue }
                                let found = head.method == .GET && (head.uri == "/metrics" || head.uri.hasPrefix("/metrics?"))
                                if found {
                                    for (name, count) in tables() { metrics.tableReloads(name, total: count) }
                                }
                                let body = found ? metrics.exposition() : Array("not found\n".utf8)
                                var headers = HTTPHeaders()
                                headers.add(name: "Content-Type", value: found ? "text/plain; version=0.0.4" : "text/plain")
                                headers.add(name: "Content-Length", value: String(body.count))
                                headers.add(name: "Connection", value: "close")
                                try await responses.write(.head(HTTPResponseHead(version: head.version, status: found ? .ok : .notFound, headers: headers)))
                                try await responses.write(.body(.byteBuffer(connection.channel.allocator.buffer(bytes: body))))
                                try await responses.write(.end(nil))
                                break
                            }
                        }
                    }
                }
            }
        }
    }
}
