#if canImport(Glibc)
import Glibc
#endif
import PostfixText
import Maps
import PostfixConfig

/// Postfix's `memcache` table (memcache_table(5), `dict_memcache.c`): a memcached server, optionally in
/// front of a persistent `backup` table.
///
/// A lookup asks memcache (`get KEY`) and, when memcache has nothing or fails, the backup table, and then
/// stores what the backup found in memcache (`set`). An update goes to memcache and then to the backup;
/// a delete likewise; with a backup, its answer is the result. A key that is empty, outside the `domain`
/// list, expands to nothing under `key_format`, or holds white space is skipped (not found). Each
/// request is tried `max_try` times, `retry_pause` seconds apart, with Postfix's warnings from the second
/// try on; a server that cannot be reached fails the request at once. A failed request is a temporary
/// error, never "not found", unless a backup table answered.
final class MemcacheTable: LookupTable {
    let type = "memcache"
    let name: String
    private let settings: MemcacheSettings
    private let client: MemcacheClient
    private let backup: (any LookupTable)?
    private var templates: QueryTemplates
    private let domains: DomainList?
    private let fold: Bool
    /// Opened for updates (Postfix installs its update and delete methods only for O_RDWR).
    private let writable: Bool
    private let diagnostics: Diagnostics
    /// `memcache:NAME`, as Postfix's messages name the table.
    private let label: String
    /// Memcache keys whose `get` was sent ahead by `prefetch`, oldest first, on connection
    /// `pipelineGeneration` of the client.
    private var pipelined: [[UInt8]] = []
    private var pipelineGeneration = -1

    init(name: String, request: OpenRequest) throws(MapError) {
        self.name = name
        diagnostics = request.diagnostics
        label = "memcache:\(name)"
        let warn = request.diagnostics.warning
        let parameters: TableParameters
        do {
            parameters = try TableParameters(name: name, mainParameter: request.settings.mainParameter, warn: { warn($0) })
        } catch {
            // Postfix's cfg_parser_alloc fails with `open NAME: %m`.
            throw MapError(.configuration, error.message, errno: error.errno, fatalInPostfix: true)
        }
        settings = try MemcacheSettings(parameters)
        client = try MemcacheClient(service: settings.service, timeout: settings.timeout, diagnostics: request.diagnostics)
        // The backup opens with the table's flags and access mode, without O_CREAT (Postfix keeps only
        // the read/write bits of the open flags).
        if let spec = settings.backup {
            guard let opener = request.opener else { throw .configuration("unsupported dictionary type: \(spec)") }
            var inner = request
            if inner.mode == .readWriteCreate { inner.mode = .readWrite }
            let parsed = MapSpec(parsing: spec, defaultType: "")
            if parsed.type.isEmpty || parsed.name.isEmpty {
                throw MapError(.configuration, "open dictionary: expecting \"type:name\" form instead of \"\(spec)\"",
                               fatalInPostfix: true)
            }
            backup = try opener(parsed, inner)
        } else {
            backup = nil
        }
        templates = QueryTemplates(type: "memcache", name: name)
        do {
            _ = try templates.parse(settings.keyFormat, query: true)
            domains = settings.domain.isEmpty ? nil : try DomainList(settings.domain, owner: name, request: request)
        } catch {
            backup?.close()
            throw error
        }
        fold = request.flags.contains(.foldFixed)
        writable = request.mode != .readOnly
    }

    func close() {
        client.close()
        domains?.close()
        backup?.close()
    }

    var sourceFiles: [String] {
        (TableParameters.isFileName(name) ? [name] : []) + (backup?.sourceFiles ?? [])
    }

    // MARK: Keys

    /// The memcache key for `key`, or nil when the key is skipped (with a warning when `noisy`, as
    /// Postfix warns for updates). A `domain` list whose table fails makes the request fail.
    private func memcacheKey(_ key: [UInt8], operation: String, noisy: Bool) throws(MapError) -> [UInt8]? {
        func skip(_ why: String) -> [UInt8]? {
            if noisy {
                diagnostics.warning("\(name): skipping \(operation) for name \"\(ByteText.string(key))\": \(why)")
            }
            return nil
        }
        if key.isEmpty { return skip("empty lookup key") }
        if let domains {
            guard let at = key.lastIndex(of: 0x40), at > 0 else { return skip("domain mismatch") }
            let matched: Bool
            do {
                matched = try domains.contains(Array(key[(at + 1)...]))
            } catch {
                throw MapError(.temporary, "\(label): domain list lookup failed", errno: error.errno)
            }
            if !matched { return skip("domain mismatch") }
        }
        let folded = fold ? CaseFolding.asciiLowercased(key) : key
        var out: [UInt8] = []
        if settings.keyFormat != Array("%s".utf8) {
            guard templates.expand(settings.keyFormat, value: folded, key: nil, into: &out, quote: nil,
                                   diagnostics: diagnostics) else { return skip("empty lookup key expansion") }
        } else {
            out = folded
        }
        if out.isEmpty { return skip("empty lookup key expansion") }
        if out.contains(where: { $0 == 0x20 || ($0 >= 0x09 && $0 <= 0x0D) }) { return skip("name contains space") }
        return out
    }

    // MARK: Protocol

    private enum Fetched {
        case found([UInt8])
        case notFound
        case failed

        var failed: Bool { if case .failed = self { return true } else { return false } }
    }

    private enum Stored {
        case done
        case refused
        case failed
    }

    /// `%.30s` of a reply line, for warnings.
    private static func shown(_ line: [UInt8], _ limit: Int) -> String {
        ByteText.string(Array(line.prefix(limit)))
    }

    private func ioWarning() {
        let e = client.lastErrno
        diagnostics.warning(e != 0 ? "database \(label): I/O error: \(systemErrorText(e))" : "database \(label): I/O error")
    }

    /// The length in a `VALUE key flags length` line, read as Postfix's `sscanf("VALUE %*s %*s %ld")`:
    /// a number too large for a long is `Int.max` (or `Int.min`) and sets `ERANGE`, as in glibc.
    static func valueLength(_ line: [UInt8], errno: inout Int32) -> Int? {
        let prefix = Array("VALUE".utf8)
        guard line.count >= prefix.count, Array(line[..<prefix.count]) == prefix else { return nil }
        var i = prefix.count
        func isSpace(_ c: UInt8) -> Bool { c == 0x20 || (c >= 0x09 && c <= 0x0D) }
        func skipSpace() { while i < line.count, isSpace(line[i]) { i += 1 } }
        for _ in 0..<2 {
            skipSpace()
            guard i < line.count else { return nil }
            while i < line.count, !isSpace(line[i]) { i += 1 }
        }
        skipSpace()
        var negative = false
        if i < line.count, line[i] == 0x2B || line[i] == 0x2D {
            negative = line[i] == 0x2D
            i += 1
        }
        var value = 0
        var digits = 0
        var overflow = false
        while i < line.count, line[i] >= 0x30, line[i] <= 0x39 {
            let (m, o1) = value.multipliedReportingOverflow(by: 10)
            let (s, o2) = m.addingReportingOverflow(Int(line[i] - 0x30))
            if o1 || o2 { overflow = true } else { value = s }
            digits += 1
            i += 1
        }
        guard digits > 0 else { return nil }
        if overflow {
            errno = ERANGE
            return negative ? Int.min : Int.max
        }
        return negative ? -value : value
    }

    /// Whether the next reply on the connection answers a `get` of `key` sent ahead. Requests sent ahead on a
    /// connection that has since closed are forgotten; a request out of their order (a caller that did not
    /// look up what it announced) closes the connection, and with it their replies.
    private func takePipelined(_ key: [UInt8]) -> Bool {
        guard !pipelined.isEmpty else { return false }
        if pipelineGeneration != client.generation {
            pipelined.removeAll()
            return false
        }
        if pipelined[0] == key {
            pipelined.removeFirst()
            return true
        }
        pipelined.removeAll()
        client.recover()
        return false
    }

    /// Send the `get` of every key that the lookups will send, on the open connection, so that the round trips
    /// overlap; each lookup then reads its own reply, with the same messages and order. Only without a backup
    /// (whose cache refresh would interleave `set` commands) and without a `domain` list that asks tables,
    /// and only on a connection that is already open (so that no connect warning comes early).
    func prefetch(_ keys: [[UInt8]]) {
        guard backup == nil, domains?.isLiteral ?? true, client.isConnected, pipelined.isEmpty else { return }
        for key in keys {
            guard let mcKey = try? memcacheKey(key, operation: "lookup", noisy: false) else { continue }
            client.sendLine(Array("get ".utf8) + mcKey)
            pipelined.append(mcKey)
        }
        pipelineGeneration = client.generation
        if !pipelined.isEmpty, !client.push() { pipelined.removeAll() }
    }

    /// Before a command that is not a `get` sent ahead: no replies may still be awaited.
    private func dropPipeline() {
        if !pipelined.isEmpty {
            if pipelineGeneration == client.generation { client.recover() }
            pipelined.removeAll()
        }
    }

    private func get(_ key: [UInt8]) throws(MapError) -> Fetched {
        for count in 0..<settings.maxTries {
            if count > 0 { sleep(UInt32(clamping: settings.retryPause)) }
            let sentAhead = count == 0 && takePipelined(key)
            guard try client.access() else { break }
            if !sentAhead { client.sendLine(Array("get ".utf8) + key) }
            if let raw = client.readLine(bound: settings.lineLimit) {
                let line = KeyCodec.cString(raw)
                if line == Array("END".utf8) { return .notFound }
                if let todo = Self.valueLength(line, errno: &client.lastErrno), todo >= 0, todo <= settings.dataLimit {
                    if let data = client.readBlock(count: todo) {
                        if client.readLine(bound: settings.lineLimit).map(KeyCodec.cString) != Array("END".utf8) {
                            client.recover()
                        }
                        return .found(KeyCodec.cString(data))
                    }
                    if count > 0 { diagnostics.warning("\(name): EOF receiving memcache server reply") }
                } else if count > 0 {
                    diagnostics.warning("\(name): unexpected memcache server reply: \(Self.shown(line, 30))")
                }
            } else if count > 0 {
                ioWarning()
            }
            client.recover()
        }
        return .failed
    }

    private func set(_ key: [UInt8], _ value: [UInt8]) throws(MapError) -> Stored {
        let data = KeyCodec.cString(value)
        if data.count > settings.dataLimit {
            diagnostics.warning("database \(label): data for key \(ByteText.string(key)) is too long "
                + "(data_size_limit=\(settings.dataLimit)) -- not stored")
            return .refused
        }
        dropPipeline()
        for count in 0..<settings.maxTries {
            if count > 0 { sleep(UInt32(clamping: settings.retryPause)) }
            guard try client.access() else { break }
            client.sendLine(Array("set ".utf8) + key + Array(" \(settings.flags) \(settings.ttl) \(data.count)".utf8))
            client.sendBlock(data)
            if let raw = client.readLine(bound: settings.lineLimit) {
                let line = KeyCodec.cString(raw)
                if line == Array("STORED".utf8) { return .done }
                if count > 0 { diagnostics.warning("database \(label): update failed: \(Self.shown(line, 30))") }
            } else if count > 0 {
                ioWarning()
            }
            client.recover()
        }
        return .failed
    }

    private enum Deleted {
        case deleted
        case notFound
        case failed
    }

    private func del(_ key: [UInt8]) throws(MapError) -> Deleted {
        dropPipeline()
        for count in 0..<settings.maxTries {
            if count > 0 { sleep(UInt32(clamping: settings.retryPause)) }
            guard try client.access() else { break }
            client.sendLine(Array("delete ".utf8) + key)
            if let raw = client.readLine(bound: settings.lineLimit) {
                let line = KeyCodec.cString(raw)
                if line == Array("DELETED".utf8) { return .deleted }
                if line == Array("NOT_FOUND".utf8) { return .notFound }
                if count > 0 { diagnostics.warning("database \(label): delete failed: \(Self.shown(line, 30))") }
            } else if count > 0 {
                ioWarning()
            }
            client.recover()
        }
        return .failed
    }

    private func failure(_ operation: String) -> MapError {
        MapError(.temporary, "table \(label): \(operation) error", errno: client.lastErrno)
    }

    // MARK: Operations

    func lookup(_ key: [UInt8]) throws(MapError) -> [UInt8]? {
        try find(key, traced: false).value
    }

    /// The key memcache was asked for; for the backup, its own trace.
    func lookupTraced(_ key: [UInt8]) throws(MapError) -> (value: [UInt8]?, detail: LookupDetail) {
        try find(key, traced: true)
    }

    private func find(_ key: [UInt8], traced: Bool) throws(MapError) -> (value: [UInt8]?, detail: LookupDetail) {
        guard let mcKey = try memcacheKey(key, operation: "lookup", noisy: false) else {
            return (nil, LookupDetail(keys: [], notes: ["memcache: not looked up (an empty key, a domain not listed, "
                + "an empty key_format expansion, or white space)"]))
        }
        let fetched = try get(mcKey)
        if case .found(let value) = fetched { return (value, LookupDetail(keys: [mcKey], notes: ["memcache: in the cache"])) }
        guard let backup else {
            if case .failed = fetched { throw failure("query") }
            return (nil, LookupDetail(keys: [mcKey]))
        }
        // Postfix asks the backup after a memcache failure too: the backup's answer (or error) decides.
        var notes = [fetched.failed ? "memcache: the cache failed; the backup answers" : "memcache: not in the cache; the backup answers"]
        let value: [UInt8]?
        var members: [TraceStep] = []
        if traced {
            let step = backup.traceStep(key)
            members = [step]
            switch step.outcome {
            case .failed(let error): throw error
            case .found(let v): value = v
            case .notFound, .skipped: value = nil
            }
        } else {
            value = try backup.lookup(key)
        }
        if let value {
            if case .done = try set(mcKey, value) { notes.append("memcache: stored in the cache") }
        }
        return (value, LookupDetail(keys: [mcKey], members: members, notes: notes))
    }

    func update(_ key: [UInt8], _ value: [UInt8], options: RecordOptions) throws(MapError) -> UpdateOutcome {
        guard writable else { throw .notSupported("table \(label): update operation is not supported") }
        guard let mcKey = try memcacheKey(key, operation: "update", noisy: true) else { return .stored }
        let stored = try set(mcKey, value)
        if let backup { return try backup.update(key, value, options: options) }
        if case .failed = stored { throw failure("write") }
        return .stored
    }

    func delete(_ key: [UInt8]) throws(MapError) -> Bool {
        guard writable else { throw .notSupported("table \(label): delete operation is not supported") }
        guard let mcKey = try memcacheKey(key, operation: "delete", noisy: false) else { return false }
        let deleted = try del(mcKey)
        if let backup { return try backup.delete(key) }
        switch deleted {
        case .deleted: return true
        case .notFound: return false
        case .failed: throw failure("delete")
        }
    }

    func forEach(_ body: ([UInt8], [UInt8]) throws(MapError) -> Void) throws(MapError) {
        guard let backup else {
            diagnostics.warning("database \(label): first/next support requires backup database")
            return
        }
        try backup.forEach(body)
    }
}

@available(*, unavailable)
extension MemcacheTable: Sendable {}
