import MapBackends
import ToolSupport
import PostfixText
import Maps
import PostfixConfig
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// What every tool shares: its name for messages, stdout, main.cf and the table types.
public final class Tool {
    /// The program name in messages: the basename of argv[0], as Postfix prints it.
    public var program: String { messages.program }
    /// Standard error, shared with table diagnostics.
    public let messages: MessageWriter
    /// Buffered standard output.
    public let out = OutputBuffer()
    /// `-v` count.
    public var verbose = 0
    /// Run before a fatal exit: removes a half-built temporary file.
    var cleanups: [() -> Void] = []

    public init(argv0: String) {
        messages = MessageWriter(program: MessageWriter.basename(argv0))
    }

    /// `PROG: warning: TEXT`.
    public func warning(_ text: String) { messages.warning(text) }

    /// `PROG: TEXT`, printed only with `-v`.
    public func info(_ text: String) {
        if verbose > 0 { messages.info(text) }
    }

    /// Run a tool's body: a `Fatal` runs the cleanups, prints `PROG: fatal: TEXT` and gives status 1.
    /// Buffered standard output is dropped, as Postfix's is.
    public func run(_ body: () throws(Fatal) -> Int32) -> Int32 {
        do {
            return try body()
        } catch {
            for cleanup in cleanups.reversed() { cleanup() }
            cleanups.removeAll()
            messages.fatal(error.message)
            return 1
        }
    }

    /// The sink for table warnings.
    public var diagnostics: Diagnostics {
        let messages = self.messages
        return Diagnostics(warning: { messages.warning($0) }, error: { messages.error($0) }, info: { messages.info($0) })
    }

    /// Every table type these tools can open.
    public static var registry: MapRegistry { MapBackends.registry }

    /// Read main.cf from `-c`, `MAIL_CONFIG` or `/etc/postfix`; a missing file is fatal as in Postfix.
    public func loadConfig(directory: String?) throws(Fatal) -> MainConfig {
        let dir = MainConfig.defaultDirectory(override: directory)
        do {
            let config = try MainConfig.load(directory: dir)
            for text in config.warnings { warning(text) }
            return config
        } catch {
            throw Fatal(error.message)
        }
    }

    /// Table tunables from main.cf.
    public func settings(from config: MainConfig) throws(Fatal) -> MapSettings {
        let settings = MapSettings(config: config, proxy: .proxymap(config))
        messages.utf8Printable.store(settings.utf8Enabled, ordering: .relaxed)
        return settings
    }

    /// An integer main.cf parameter checked as Postfix's `mail_params_init` checks it: a malformed value
    /// or one below `min` is fatal. An unset parameter gets its default in `config`, as Postfix defines
    /// each parameter in turn, so that a later `$name` reference sees it.
    public func mailInt(_ config: inout MainConfig, _ name: String, default fallback: Int, min: Int) throws(Fatal) -> Int {
        guard let text = config.value(name) else {
            config.set(name, String(fallback))
            return fallback
        }
        guard let number = CInteger.parse(text) else { throw Fatal("bad numerical configuration: \(name) = \(text)") }
        if number < min { throw Fatal("invalid \(name) parameter value \(number) < \(min)") }
        return number
    }

    /// `%m` text for a map error: its errno, or Postfix's `Application error` when it has none.
    static func errnoText(_ error: MapError) -> String {
        systemErrorText(error.errno > 0 ? error.errno : 0)
    }
}

private let newline: [UInt8] = [0x0A]

/// Lookups and updates of Postfix's `-q`, `-s`, `-d` families, shared by postmap and postalias.
extension Tool {
    /// Open a table or die with Postfix's message.
    func openTable(_ spec: MapSpec, mode: AccessMode, flags: DictFlags, settings: MapSettings) throws(Fatal) -> any LookupTable {
        do {
            return try Tool.registry.open(spec, OpenRequest(mode: mode, flags: flags, settings: settings, diagnostics: diagnostics))
        } catch {
            throw Fatal(error.message)
        }
    }

    /// Failures that Postfix's own table code ends the program with (`msg_fatal`), so their text is
    /// printed as is: an operation the type does not have, and Berkeley DB/LMDB read and lock errors.
    static func isOwnFatal(_ error: MapError) -> Bool {
        error.fatalInPostfix
    }

    /// Die with `table T:N: OP error[: %m]`, naming the table as Postfix's handle names it, unless the
    /// failure is one Postfix reports in its own words.
    func tableFailure(_ table: any LookupTable, _ op: String, _ error: MapError) -> Fatal {
        if Tool.isOwnFatal(error) { return Fatal(error.message) }
        if error.code != .temporary {
            return Fatal("table \(table.type):\(table.dictName): \(op) error")
        }
        return Fatal("table \(table.type):\(table.dictName): \(op) error: \(Tool.errnoText(error))")
    }

    /// `-F`: the stored value base64-decoded (and cut at a NUL, as Postfix prints it); one that does not
    /// decode is Postfix's warning and a configuration error of the table.
    func decodeFileValue(_ value: [UInt8], table: any LookupTable, key: [UInt8]) throws(Fatal) -> [UInt8] {
        guard let decoded = ValueFiles.decode(value) else {
            warning("table \(table.type):\(table.dictName): key \(ByteText.string(key)): \(ValueFiles.malformed(value))")
            throw Fatal("table \(table.type):\(table.dictName): query error")
        }
        return KeyCodec.cString(decoded)
    }

    /// Warn about an empty lookup result, as Postfix does before printing it anyway.
    func warnEmpty(_ spec: MapSpec, key: [UInt8]) {
        warning("table \(spec.type):\(spec.name): key \(ByteText.string(key)): empty string result is not allowed")
        warning("table \(spec.type):\(spec.name) should return NO RESULT in case of NOT FOUND")
    }

    /// `-q key`: the first map that has the key prints its value; exit 0 if found, else 1.
    func querySingle(_ key: [UInt8], specs: [MapSpec], flags: DictFlags, settings: MapSettings) throws(Fatal) -> Int32 {
        // Postfix's postmap opens each map in turn and asks it; the map list does the same, lazily.
        let request = OpenRequest(mode: .readOnly, flags: flags, settings: settings, diagnostics: diagnostics)
        let list = MapList(title: "postmap", specs: specs, registry: Tool.registry, request: request, lazily: true,
                           mapsFindRules: false)
        defer { list.close() }
        let (outcome, trace) = list.find(key)
        switch outcome {
        case .found(var value):
            if flags.contains(.sourceValueIsFile) {
                let index = specs.firstIndex(where: { $0.description == trace.last?.table })
                guard let index, let table = try? list.table(index) else { throw Fatal("table lookup error") }
                value = try decodeFileValue(value, table: table, key: key)
            }
            if value.isEmpty, let spec = specs.first(where: { $0.description == trace.last?.table }) {
                warnEmpty(spec, key: key)
            }
            out.write(value + [0x0A])
            out.flush()
            return 0
        case .notFound:
            return 1
        case .failed(_, let error, opening: true):
            throw Fatal(error.message)
        case .failed(let spec, let error, opening: false):
            guard let index = specs.firstIndex(of: spec), let table = try? list.table(index) else { throw Fatal(error.message) }
            throw tableFailure(table, "query", error)
        }
    }

    /// `-q -`: keys from stdin; each found key prints `KEY<sep>VALUE`. Maps open lazily, in order.
    /// Keys are stdin's lines, or with `message` (postmap `-b`, `-h`) the headers and body lines of the
    /// message on stdin.
    func queryStream(specs: [MapSpec], flags: DictFlags, settings: MapSettings, separator: [UInt8],
                     message: MessageKeys? = nil) throws(Fatal) -> Int32 {
        var tables = [(any LookupTable)?](repeating: nil, count: specs.count)
        var found = false
        let input = ByteReader(fd: 0, path: "stdin")
        var line: [UInt8] = []
        // Keys that are already buffered are looked up in batches that hold each table's read lock once,
        // instead of once per key; a batch ends before reading would block, and after 1024 keys.
        var inBatch = [Bool](repeating: false, count: specs.count)
        var batchCount = 0
        func endBatches() {
            for n in tables.indices where inBatch[n] { tables[n]?.endBatch(); inBatch[n] = false }
            batchCount = 0
        }
        // Tables open when first needed, in order, as Postfix opens them.
        func table(_ n: Int) throws(Fatal) -> any LookupTable {
            if let open = tables[n] { return open }
            let table = try openTable(specs[n], mode: .readOnly, flags: flags, settings: settings)
            tables[n] = table
            return table
        }
        func query(_ key: [UInt8]) throws(Fatal) {
            batchCount += 1
            for n in specs.indices {
                let table = try table(n)
                if !inBatch[n] {
                    do { try table.beginBatch() } catch { throw tableFailure(table, "query", error) }
                    inBatch[n] = true
                }
                let value: [UInt8]?
                do { value = try table.lookup(key) } catch {
                    // Postfix's message-key loop reports every lookup error with %m.
                    if message != nil, !Tool.isOwnFatal(error) {
                        throw Fatal("table \(table.type):\(table.dictName): query error: \(Tool.errnoText(error))")
                    }
                    throw tableFailure(table, "query", error)
                }
                if var value {
                    if flags.contains(.sourceValueIsFile), message == nil {
                        value = try decodeFileValue(value, table: table, key: key)
                    }
                    // Postfix's stream loop names the table as its handle does (`hash:NAME.db`).
                    if value.isEmpty { warnEmpty(MapSpec(type: table.type, name: table.dictName), key: key) }
                    out.write(key); out.write(separator); out.write(value); out.write(newline)
                    found = true
                    break
                }
            }
        }
        if var splitter = message {
            // -h alone stops reading at the end of the primary headers.
            while !splitter.isDone, splitter.errors.isEmpty {
                if batchCount >= 1024 || !input.hasBufferedLine { endBatches() }
                guard input.nextLine(into: &line) else { break }
                var keys: [[UInt8]] = []
                splitter.feed(line) { key, _ in keys.append(key) }
                for key in keys { try query(key) }
            }
            if splitter.errors.isEmpty {
                var keys: [[UInt8]] = []
                splitter.finish { key, _ in keys.append(key) }
                for key in keys { try query(key) }
            }
            if !splitter.errors.isEmpty { throw Fatal("message format error: \(splitter.errors.text)") }
        } else {
            // Keys already buffered are read ahead (up to 64) and announced to the first table, which
            // every key reaches: a remote table overlaps their round trips. Lookups stay in order.
            var ahead: [[UInt8]] = []
            var next = 0
            while true {
                if next == ahead.count {
                    ahead.removeAll(keepingCapacity: true)
                    next = 0
                    if batchCount >= 1024 || !input.hasBufferedLine { endBatches() }
                    guard input.nextLine(into: &line) else { break }
                    ahead.append(KeyCodec.cString(line))
                    while ahead.count < 64, input.hasBufferedLine, input.nextLine(into: &line) {
                        ahead.append(KeyCodec.cString(line))
                    }
                    if ahead.count > 1, !specs.isEmpty { try table(0).prefetch(ahead) }
                }
                try query(ahead[next])
                next += 1
            }
        }
        endBatches()
        if found { out.flush() }
        for table in tables { table?.close() }
        return found ? 0 : 1
    }

    /// `-s`: dump the first map as `KEY<sep>VALUE` lines.
    func sequence(_ spec: MapSpec, flags: DictFlags, settings: MapSettings, separator: [UInt8]) throws(Fatal) {
        let table = try openTable(spec, mode: .readOnly, flags: flags, settings: settings)
        do {
            try table.forEach { (key, value) throws(MapError) in
                if key.isEmpty {
                    warning("table \(spec.type):\(spec.name): empty lookup key value is not allowed")
                } else if value.isEmpty {
                    warnEmpty(spec, key: key)
                }
                var value = value
                if flags.contains(.sourceValueIsFile) {
                    // -F: a value that does not decode is reported and left out.
                    guard let decoded = ValueFiles.decode(value) else {
                        warning("table \(table.type):\(table.dictName): key \(ByteText.string(key)): \(ValueFiles.malformed(value))")
                        return
                    }
                    value = KeyCodec.cString(decoded)
                }
                out.write(key); out.write(separator); out.write(value); out.write(newline)
            }
        } catch {
            throw tableFailure(table, "sequence", error)
        }
        out.flush()
        table.close()
    }

    /// `-d key`: delete from every map; exit 0 if any had it.
    func deleteSingle(_ key: [UInt8], specs: [MapSpec], flags: DictFlags, settings: MapSettings) throws(Fatal) -> Int32 {
        var found = false
        for spec in specs {
            let table = try openTable(spec, mode: .readWrite, flags: flags, settings: settings)
            do { found = try table.delete(key) || found } catch { throw tableFailure(table, "delete", error) }
            table.close()
        }
        return found ? 0 : 1
    }

    /// `-d -`: keys from stdin deleted from every map (all opened first).
    func deleteStream(specs: [MapSpec], flags: DictFlags, settings: MapSettings) throws(Fatal) -> Int32 {
        var tables: [any LookupTable] = []
        for spec in specs { tables.append(try openTable(spec, mode: .readWrite, flags: flags, settings: settings)) }
        var found = false
        let input = ByteReader(fd: 0, path: "stdin")
        while let line = input.nextLine() {
            let key = KeyCodec.cString(line)
            for table in tables {
                do { found = try table.delete(key) || found } catch { throw tableFailure(table, "delete", error) }
            }
        }
        for table in tables { table.close() }
        return found ? 0 : 1
    }
}
