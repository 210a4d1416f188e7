import Maps
import MapsBerkeleyDB
import MapsLMDB
import PostfixConfig
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Message state shared with table diagnostics: muting while a bulk load is replayed (LMDB restarts),
/// so each warning is printed once, and whether UTF-8 counts as printable.
final class WarningGate: Sendable {
    let muted = Atomic<Bool>(false)
    let utf8Printable = Atomic<Bool>(false)
}

/// Postfix's `printable()` as applied to every logged message: printable ASCII stays, and with
/// `smtputf8_enable` a UTF-8 lead byte keeps the continuation bytes after it; anything else becomes `?`.
func printable(_ bytes: [UInt8], utf8: Bool) -> [UInt8] {
    var out = bytes
    var i = 0
    while i < out.count {
        let c = out[i]
        if c >= 0x20 && c < 0x7F {
            i += 1
        } else if utf8, c >= 194, c <= 254, i + 1 < out.count, out[i + 1] >= 128, out[i + 1] < 192 {
            i += 1
            while i < out.count, out[i] >= 128, out[i] < 192 { i += 1 }
        } else {
            out[i] = 0x3F
            i += 1
        }
    }
    return out
}

/// Write one message line to standard error, bytes carried by `ByteText` restored and made printable.
func writeStderr(_ line: String, utf8: Bool = false) {
    var bytes = printable(ByteText.bytes(of: line), utf8: utf8)
    bytes.append(0x0A)
    bytes.withUnsafeBytes { _ = writeAll(2, $0) }
}

/// What every tool shares: its name for messages, stdout, main.cf and the table types.
public final class Tool {
    /// The program name in messages: the basename of argv[0], as Postfix prints it.
    public let program: String
    /// Buffered standard output.
    public let out = StandardOutput()
    /// `-v` count.
    public var verbose = 0
    /// Run before a fatal exit: removes a half-built temporary file.
    var cleanups: [() -> Void] = []
    let gate = WarningGate()

    public init(argv0: String) {
        let base = argv0.split(separator: "/", omittingEmptySubsequences: false).last.map(String.init) ?? argv0
        program = base.isEmpty ? argv0 : base
    }

    /// `PROG: warning: TEXT`.
    public func warning(_ text: String) {
        if gate.muted.load(ordering: .relaxed) { return }
        writeStderr("\(program): warning: \(text)", utf8: gate.utf8Printable.load(ordering: .relaxed))
    }

    /// `PROG: TEXT`, printed only with `-v`.
    public func info(_ text: String) {
        if verbose > 0 { writeStderr("\(program): \(text)", utf8: gate.utf8Printable.load(ordering: .relaxed)) }
    }

    /// `PROG: fatal: TEXT`, then exit 1. Buffered standard output is dropped, as Postfix's is.
    public func fatal(_ text: String) -> Never {
        for cleanup in cleanups.reversed() { cleanup() }
        writeStderr("\(program): fatal: \(text)", utf8: gate.utf8Printable.load(ordering: .relaxed))
        exit(1)
    }

    /// The sink for table warnings.
    public var diagnostics: Diagnostics {
        let program = self.program
        let gate = self.gate
        return Diagnostics(warning: { text in
            if gate.muted.load(ordering: .relaxed) { return }
            writeStderr("\(program): warning: \(text)", utf8: gate.utf8Printable.load(ordering: .relaxed))
        }, error: { text in
            writeStderr("\(program): error: \(text)", utf8: gate.utf8Printable.load(ordering: .relaxed))
        }, info: { text in
            writeStderr("\(program): \(text)", utf8: gate.utf8Printable.load(ordering: .relaxed))
        })
    }

    /// Every table type these tools can open.
    public static let registry = MapRegistry(MapCatalog.types)

    /// Read main.cf from `-c`, `MAIL_CONFIG` or `/etc/postfix`; a missing file is fatal as in Postfix.
    public func loadConfig(directory: String?) -> MainConfig {
        let dir = MainConfig.defaultDirectory(override: directory)
        do {
            let config = try MainConfig.load(directory: dir)
            for text in config.warnings { warning(text) }
            return config
        } catch {
            fatal(error.message)
        }
    }

    /// Table tunables from main.cf.
    public func settings(from config: MainConfig) -> MapSettings {
        var settings = MapSettings()
        settings.lmdbMapSize = config.int("lmdb_map_size", default: settings.lmdbMapSize)
        settings.berkeleyDBCreateBufferSize = config.int("berkeley_db_create_buffer_size", default: settings.berkeleyDBCreateBufferSize)
        settings.berkeleyDBReadBufferSize = config.int("berkeley_db_read_buffer_size", default: settings.berkeleyDBReadBufferSize)
        settings.utf8Enabled = config.bool("smtputf8_enable", default: false)
        settings.mainParameter = { config.value($0) }
        gate.utf8Printable.store(settings.utf8Enabled, ordering: .relaxed)
        return settings
    }

    /// An integer main.cf parameter checked as Postfix's `mail_params_init` checks it: a malformed value
    /// or one below `min` is fatal. An unset parameter gets its default in `config`, as Postfix defines
    /// each parameter in turn, so that a later `$name` reference sees it.
    public func mailInt(_ config: inout MainConfig, _ name: String, default fallback: Int, min: Int) -> Int {
        guard let text = config.value(name) else {
            config.set(name, String(fallback))
            return fallback
        }
        guard let number = CInteger.parse(text) else { fatal("bad numerical configuration: \(name) = \(text)") }
        if number < min { fatal("invalid \(name) parameter value \(number) < \(min)") }
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
    func openTable(_ spec: MapSpec, mode: AccessMode, flags: DictFlags, settings: MapSettings) -> any LookupTable {
        do {
            return try Tool.registry.open(spec, OpenRequest(mode: mode, flags: flags, settings: settings, diagnostics: diagnostics))
        } catch {
            fatal(error.message)
        }
    }

    /// Failures that Postfix's own table code ends the program with (`msg_fatal`), so their text is
    /// printed as is: an operation the type does not have, and Berkeley DB/LMDB read and lock errors.
    static func isOwnFatal(_ error: MapError) -> Bool {
        error.message.hasSuffix("operation is not supported") || error.message.hasPrefix("error reading ")
            || error.message.contains(": lock dictionary: ")
    }

    /// Die with `table T:N: OP error[: %m]`, naming the table as Postfix's handle names it, unless the
    /// failure is one Postfix reports in its own words.
    func tableFailure(_ table: any LookupTable, _ op: String, _ error: MapError) -> Never {
        if Tool.isOwnFatal(error) { fatal(error.message) }
        if error.kind == .configuration {
            fatal("table \(table.type):\(table.dictName): \(op) error")
        }
        fatal("table \(table.type):\(table.dictName): \(op) error: \(Tool.errnoText(error))")
    }

    /// Warn about an empty lookup result, as Postfix does before printing it anyway.
    func warnEmpty(_ spec: MapSpec, key: [UInt8]) {
        warning("table \(spec.type):\(spec.name): key \(ByteText.string(key)): empty string result is not allowed")
        warning("table \(spec.type):\(spec.name) should return NO RESULT in case of NOT FOUND")
    }

    /// `-q key`: the first map that has the key prints its value; exit 0 if found, else 1.
    func querySingle(_ key: [UInt8], specs: [MapSpec], flags: DictFlags, settings: MapSettings) -> Int32 {
        for spec in specs {
            let table = openTable(spec, mode: .readOnly, flags: flags, settings: settings)
            let value: [UInt8]?
            do { value = try table.lookup(key) } catch { tableFailure(table, "query", error) }
            if let value {
                if value.isEmpty { warnEmpty(spec, key: key) }
                out.write(value + [0x0A])
                out.flush()
                table.close()
                return 0
            }
            table.close()
        }
        return 1
    }

    /// `-q -`: keys from stdin; each found key prints `KEY<sep>VALUE`. Maps open lazily, in order.
    /// Keys are stdin's lines, or with `message` (postmap `-b`, `-h`) the headers and body lines of the
    /// message on stdin.
    func queryStream(specs: [MapSpec], flags: DictFlags, settings: MapSettings, separator: [UInt8],
                     message: MessageKeys? = nil) -> Int32 {
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
        func table(_ n: Int) -> any LookupTable {
            if let open = tables[n] { return open }
            let table = openTable(specs[n], mode: .readOnly, flags: flags, settings: settings)
            tables[n] = table
            return table
        }
        func query(_ key: [UInt8]) {
            batchCount += 1
            for (n, spec) in specs.enumerated() {
                let table = table(n)
                if !inBatch[n] {
                    do { try table.beginBatch() } catch { tableFailure(table, "query", error) }
                    inBatch[n] = true
                }
                let value: [UInt8]?
                do { value = try table.lookup(key) } catch {
                    // Postfix's message-key loop reports every lookup error with %m.
                    if message != nil, !Tool.isOwnFatal(error) {
                        fatal("table \(table.type):\(table.dictName): query error: \(Tool.errnoText(error))")
                    }
                    tableFailure(table, "query", error)
                }
                if let value {
                    if value.isEmpty { warnEmpty(spec, key: key) }
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
                splitter.feed(line) { key, _ in query(key) }
            }
            if splitter.errors.isEmpty { splitter.finish { key, _ in query(key) } }
            if !splitter.errors.isEmpty { fatal("message format error: \(splitter.errors.text)") }
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
                    if ahead.count > 1, !specs.isEmpty { table(0).prefetch(ahead) }
                }
                query(ahead[next])
                next += 1
            }
        }
        endBatches()
        if found { out.flush() }
        for table in tables { table?.close() }
        return found ? 0 : 1
    }

    /// `-s`: dump the first map as `KEY<sep>VALUE` lines.
    func sequence(_ spec: MapSpec, flags: DictFlags, settings: MapSettings, separator: [UInt8]) {
        let table = openTable(spec, mode: .readOnly, flags: flags, settings: settings)
        do {
            try table.forEach { key, value in
                if key.isEmpty {
                    warning("table \(spec.type):\(spec.name): empty lookup key value is not allowed")
                } else if value.isEmpty {
                    warnEmpty(spec, key: key)
                }
                out.write(key); out.write(separator); out.write(value); out.write(newline)
            }
        } catch {
            tableFailure(table, "sequence", error)
        }
        out.flush()
        table.close()
    }

    /// `-d key`: delete from every map; exit 0 if any had it.
    func deleteSingle(_ key: [UInt8], specs: [MapSpec], flags: DictFlags, settings: MapSettings) -> Int32 {
        var found = false
        for spec in specs {
            let table = openTable(spec, mode: .readWrite, flags: flags, settings: settings)
            do { found = try table.delete(key) || found } catch { tableFailure(table, "delete", error) }
            table.close()
        }
        return found ? 0 : 1
    }

    /// `-d -`: keys from stdin deleted from every map (all opened first).
    func deleteStream(specs: [MapSpec], flags: DictFlags, settings: MapSettings) -> Int32 {
        let tables = specs.map { openTable($0, mode: .readWrite, flags: flags, settings: settings) }
        var found = false
        let input = ByteReader(fd: 0, path: "stdin")
        while let line = input.nextLine() {
            let key = KeyCodec.cString(line)
            for table in tables {
                do { found = try table.delete(key) || found } catch { tableFailure(table, "delete", error) }
            }
        }
        for table in tables { table.close() }
        return found ? 0 : 1
    }
}
