#if canImport(Glibc)
import Glibc
#endif
import PostfixText

/// `proxy:type:name`: a table that Postfix's daemons reach through the proxymap service, so that a
/// chrooted or unprivileged process can use it and many processes share one connection to a database.
///
/// A process that is not a Postfix daemon has no proxymap to ask. With `ProxyAccess.direct` the inner
/// table is opened directly and the trace says so. With `.service` (postmap and postalias), the tool
/// behaves as Postfix's does: it connects to the service socket, and when that socket is missing it
/// warns `connect #N to subsystem DIR/proxymap: ...` every 10 seconds and gives up after the 11th try.
/// When the socket is there (Postfix is running), the inner table is opened directly: the same files
/// proxymap would read, without its protocol.
public final class ProxyTable: LookupTable {
    public let type = "proxy"
    public let name: String
    private let inner: any LookupTable
    private let direct: Bool

    private init(name: String, inner: any LookupTable, direct: Bool) {
        self.name = name
        self.inner = inner
        self.direct = direct
    }

    /// Attempts before giving up (Postfix's `mail_connect_wait`).
    static let attempts = 11

    /// The catalog's opener: keys are the inner table's business (the map list asks the catalog about
    /// the inner type), so the proxy row claims fixed keys as Postfix's proxy client does.
    public static let mapType = MapType(name: "proxy", handlesUTF8: true, open: { name, request throws(MapError) in
        try ProxyTable.open(name, request)
    })

    static func open(_ name: String, _ request: OpenRequest) throws(MapError) -> any LookupTable {
        guard let colon = name.firstIndex(of: ":") else {
            throw .configuration("open dictionary: expecting \"type:name\" form instead of \"\(name)\"")
        }
        let spec = MapSpec(type: String(name[..<colon]), name: String(name[name.index(after: colon)...]))
        if case .service(let directory, let readService, let writeService, let delay) = request.settings.proxy {
            let service = request.mode == .readOnly ? readService : writeService
            try waitForService("\(directory)/\(service)", delay: delay, diagnostics: request.diagnostics)
        }
        guard let opener = request.opener else {
            throw .configuration("proxy:\(name): no table opener for the inner table")
        }
        let inner = try opener(spec, request)
        return ProxyTable(name: name, inner: inner, direct: request.settings.proxy == .direct)
    }

    /// Connect to the proxymap socket as Postfix's `mail_connect_wait` does; the connection itself is
    /// not used (see the type's comment).
    private static func waitForService(_ path: String, delay: UInt32, diagnostics: Diagnostics) throws(MapError) {
        var count = 0
        while true {
            let e: Int32
            do throws(NetworkStream.ConnectFailure) {
                _ = try NetworkStream.connectUnix(path, timeout: 100)
                return
            } catch {
                e = error.errno
            }
            count += 1
            let text = "connect #\(count) to subsystem \(path): \(systemErrorText(e))"
            if count >= attempts { throw MapError(.temporary, text, errno: e, fatalInPostfix: true) }
            diagnostics.warning(text)
            sleep(delay)
        }
    }

    public var concurrentLookups: Bool { inner.concurrentLookups }
    public var lookupsCanWait: Bool { inner.lookupsCanWait }
    public var sourceFiles: [String] { inner.sourceFiles }

    public func lookup(_ key: [UInt8]) throws(MapError) -> [UInt8]? {
        try inner.lookup(key)
    }

    public func lookupTraced(_ key: [UInt8]) throws(MapError) -> (value: [UInt8]?, detail: LookupDetail) {
        var step = inner.traceStep(key)
        step.table = name
        let note = direct
            ? "proxy: the inner table was opened directly (no proxymap service outside Postfix's daemons)"
            : "proxy: the inner table was opened directly (proxymap's socket answered)"
        switch step.outcome {
        case .failed(let error): throw error
        case .found(let value): return (value, LookupDetail(keys: [key], members: [step], notes: [note]))
        case .notFound, .skipped: return (nil, LookupDetail(keys: [key], members: [step], notes: [note]))
        }
    }

    public func update(_ key: [UInt8], _ value: [UInt8], options: RecordOptions) throws(MapError) -> UpdateOutcome {
        try inner.update(key, value, options: options)
    }

    public func delete(_ key: [UInt8]) throws(MapError) -> Bool {
        try inner.delete(key)
    }

    public func close() { inner.close() }
    public func beginBatch() throws(MapError) { try inner.beginBatch() }
    public func endBatch() { inner.endBatch() }
}
