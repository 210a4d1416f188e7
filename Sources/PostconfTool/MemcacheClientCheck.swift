import ToolSupport
import PostfixConfig
import PostfixText
import Maps
#if canImport(Glibc)
import Glibc
#endif

/// `postconf --check` of a memcache table's settings (memcache_table(5)), without contacting the
/// server: what Postfix refuses when the table is first opened, by then with mail waiting — a malformed
/// number or one below its minimum, a `memcache` service that is not `inet:host:port` or `unix:/path`,
/// an invalid `key_format` template, a `backup` that is not `type:name`. The backup table itself is
/// checked as any table (`backupTable`). Misspelled names are Postfix's own "unused parameter" warning.
struct MemcacheClientCheck {
    /// Every parameter of memcache_table(5) in Postfix 3.7 (the main.cf form reads only these).
    static let parameters: [String] = (BuiltinParameters.dbmsSuffixes["memcache"] ?? []).map(ConfigText.text)

    typealias Report = (LintFinding.Severity, String, Int?, String, [String]) -> Void

    /// One setting and the line that defines it.
    struct Setting {
        var value: String
        var line: Int?
    }

    let spec: String
    /// The file the settings are in (the client file, or main.cf).
    let file: String
    let settings: [String: Setting]
    /// The same settings, read with the table's own rules and messages.
    let parameters: TableParameters
    let report: Report

    init(spec: String, file: String, table: String, isFile: Bool, settings: [String: Setting], report: @escaping Report) {
        self.spec = spec
        self.file = file
        self.settings = settings
        self.report = report
        let values = settings.mapValues(\.value)
        let prefix = table + "_"
        parameters = TableParameters(name: table, file: isFile ? values : nil, mainParameter: { full in
            full.hasPrefix(prefix) ? values[String(full.dropFirst(prefix.count))] : nil
        })
    }

    /// Check a client file (`memcache:/etc/postfix/memcache.cf`); the `backup` table, if any, goes to
    /// `backupTable`.
    static func checkFile(_ path: String, spec: String, report: @escaping Report, backupTable: (String) -> Void) {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            report(.error, path, nil, "\(spec): open \"memcache\" configuration \"\(path)\": \(systemErrorText(errno))", [])
            return
        }
        defer { close(fd) }
        var settings: [String: Setting] = [:]
        let reader = LogicalLineReader(ByteReader(fd: fd, path: path), warning: { report(.warning, path, nil, $0, []) })
        while let line = reader.next() {
            switch ConfigText.splitNameValue(ConfigText.cString(line.text)) {
            case .failure(let e):
                report(.error, path, line.lineNumber,
                       "\(path), line \(line.lineNumber): \(e.text): \"\(ConfigText.text(ConfigText.cString(line.text)))\"", [])
            case .success(let (name, value)):
                settings[ConfigText.text(name)] = Setting(value: ConfigText.text(value), line: line.lineNumber)
            }
        }
        MemcacheClientCheck(spec: spec, file: path, table: path, isFile: true, settings: settings, report: report)
            .run(backupTable: backupTable)
    }

    /// Check the main.cf form (`memcache:mc` with `mc_*` parameters).
    static func checkMain(_ name: String, spec: String, main: String, values: [(name: String, value: String, line: Int?)],
                          report: @escaping Report, backupTable: (String) -> Void) {
        var settings: [String: Setting] = [:]
        let prefix = name + "_"
        for (full, value, line) in values where full.hasPrefix(prefix) {
            let short = String(full.dropFirst(prefix.count))
            if parameters.contains(short) { settings[short] = Setting(value: value, line: line) }
        }
        MemcacheClientCheck(spec: spec, file: main, table: name, isFile: false, settings: settings, report: report)
            .run(backupTable: backupTable)
    }

    private func error(_ parameter: String?, _ message: String) {
        report(.error, file, parameter.flatMap { settings[$0]?.line }, "\(spec): \(message)", [])
    }

    /// The value, or nil after reporting the problem as an error at the parameter's line.
    @discardableResult
    private func value<T>(_ result: Result<T, TableParameters.Problem>) -> T? {
        switch result {
        case .success(let value): return value
        case .failure(let problem):
            error(problem.parameter, problem.text)
            return nil
        }
    }

    private func run(backupTable: (String) -> Void) {
        for (p, fallback, min) in [("timeout", 2, 0), ("ttl", 3600, 0), ("flags", 0, 0), ("retry_pause", 1, 1),
                                   ("max_try", 2, 1), ("line_size_limit", 1024, 1), ("data_size_limit", 10240, 1)] {
            value(parameters.checkedInt(p, default: fallback, min: min))
        }
        let service = settings["memcache"]?.value ?? "inet:localhost:11211"
        do {
            let client = try MemcacheClient(service: service, timeout: 0, diagnostics: .silent)
            if let problem = client.endpointProblem { error("memcache", problem) }
        } catch {
            self.error("memcache", error.message)
        }
        let format = settings["key_format"]?.value ?? "%s"
        var templates = QueryTemplates(type: "memcache", name: spec)
        do { _ = try templates.parse(Array(format.utf8), query: true) } catch {
            self.error("key_format", "invalid query template: key_format = \(format)")
        }
        if let backup = settings["backup"]?.value, !backup.isEmpty {
            if let colon = backup.firstIndex(of: ":"), colon != backup.startIndex, backup.index(after: colon) != backup.endIndex {
                backupTable(backup)
            } else {
                error("backup", "open dictionary: expecting \"type:name\" form instead of \"\(backup)\"")
            }
        }
    }
}
