import ToolSupport
import PostfixConfig
import PostfixText
import Maps
#if canImport(Glibc)
import Glibc
#endif

/// `postconf --check` of a database client table's settings (ldap, sqlite, pgsql, mysql, memcache: the
/// catalog's `.clientConfig` rows), without contacting a server and without loading a client library:
/// what Postfix refuses only when the table is first used, by then with mail waiting — a malformed
/// number or boolean, an empty required string, an invalid `%` template, a missing TLS or option file —
/// and settings that do not do what they seem to, such as a password in a file every user can read.
/// Misspelled names are Postfix's own "unused parameter" warning, with suggestions (`LintRun`).
/// Messages use Postfix's wording where Postfix has one.
///
/// The set-up is shared: reading the client file (or the main.cf form's `NAME_*` parameters), the
/// settings read with the tables' own rules (`TableParameters`), and the reporting helpers. What differs
/// is each type's `Part`.
struct ClientConfigCheck {
    typealias Report = (LintFinding.Severity, String, Int?, String, [String]) -> Void

    /// One setting and the line that defines it.
    struct Setting {
        var value: String
        var line: Int?
    }

    /// What one type adds to the shared set-up.
    struct Part: Sendable {
        /// The parameter that holds a password, warned about in a client file every user can read.
        var password: String?
        /// Whether a name given twice in a client file is warned about (memcache's reader does not).
        var warnsOverride = true
        /// Whether a client file that cannot be read is reported where the table is named (pgsql,
        /// mysql), rather than at the file.
        var unreadableAtReference = false
        /// The type's own checks, in the order its table reads its settings.
        var check: @Sendable (ClientConfigCheck) -> Void
    }

    /// The part of each client type; `ClientConfigCheckTests` fails when a `.clientConfig` row of the
    /// catalog has none.
    static let parts: [String: Part] = [
        "ldap": Part(password: "bind_pw", check: { $0.checkLDAP() }),
        "memcache": Part(warnsOverride: false, check: { $0.checkMemcache() }),
        "mysql": Part(password: "password", unreadableAtReference: true, check: { $0.checkRemoteSQL() }),
        "pgsql": Part(password: "password", unreadableAtReference: true, check: { $0.checkRemoteSQL() }),
        "sqlite": Part(check: { $0.checkSQLite() }),
    ]

    /// The types whose tables take a client configuration: the catalog's `.clientConfig` rows.
    static var types: [String] {
        MapCatalog.entries.filter { $0.files == .clientConfig }.map(\.name)
    }

    let type: String
    let spec: String
    /// The file the settings are in (the client file, or main.cf).
    let file: String
    /// The settings by parameter name (without a main.cf prefix), with their lines.
    let settings: [String: Setting]
    /// The same settings, read with the table's own rules and messages.
    let parameters: TableParameters
    let report: Report
    /// Checks a table that this one names (memcache's `backup`) as any table.
    let otherTable: (String) -> Void

    /// `settings` as the table reads them: from its client file, or as main.cf's `TABLE_*` parameters.
    private static func tableParameters(_ settings: [String: Setting], table: String, isFile: Bool) -> TableParameters {
        let values = settings.mapValues(\.value)
        let prefix = table + "_"
        return TableParameters(name: table, file: isFile ? values : nil, mainParameter: { full in
            full.hasPrefix(prefix) ? values[String(full.dropFirst(prefix.count))] : nil
        })
    }

    /// Check table `type:name` (`spec` as written): a client file when `name` is a file name, else the
    /// main.cf form (`NAME_*` parameters among `mainValues`). `atReference` reports where the table is
    /// named. False when the type has no part.
    static func check(type: String, name: String, spec: String, mainFile: String,
                      mainValues: () -> [(name: String, value: String, line: Int?)],
                      report: @escaping Report, atReference: (String) -> Void,
                      otherTable: @escaping (String) -> Void) -> Bool {
        guard let part = parts[type] else { return false }
        guard TableParameters.isFileName(name) else {
            let known = (BuiltinParameters.dbmsSuffixes[type] ?? []).map(ConfigText.text)
            var settings: [String: Setting] = [:]
            let prefix = name + "_"
            for (full, value, line) in mainValues() where full.hasPrefix(prefix) {
                let short = String(full.dropFirst(prefix.count))
                if known.contains(short) { settings[short] = Setting(value: value, line: line) }
            }
            part.check(ClientConfigCheck(type: type, spec: spec, file: mainFile, settings: settings,
                                         parameters: tableParameters(settings, table: name, isFile: false),
                                         report: report, otherTable: otherTable))
            return true
        }
        if part.unreadableAtReference, access(name, R_OK) != 0 {
            atReference("\(spec): open \"\(type)\" configuration \"\(name)\": \(systemErrorText(errno))")
            return true
        }
        guard let (settings, mode) = readClientFile(name, type: type, spec: spec, warnsOverride: part.warnsOverride,
                                                    report: report) else { return true }
        part.check(ClientConfigCheck(type: type, spec: spec, file: name, settings: settings,
                                     parameters: tableParameters(settings, table: name, isFile: true),
                                     report: report, otherTable: otherTable))
        if let password = part.password, let pw = settings[password], !pw.value.isEmpty, mode & 0o004 != 0 {
            report(.warning, name, pw.line,
                   "\(spec): \(name) holds \(password) and every user can read it (mode \(String(mode & 0o7777, radix: 8))); "
                   + "make it readable by root and postfix only", [])
        }
        return true
    }

    /// The settings of a client file with their lines, and the file's mode; nil (after an error) when
    /// it cannot be opened.
    private static func readClientFile(_ path: String, type: String, spec: String, warnsOverride: Bool,
                                       report: @escaping Report) -> (settings: [String: Setting], mode: mode_t)? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            report(.error, path, nil, "\(spec): open \"\(type)\" configuration \"\(path)\": \(systemErrorText(errno))", [])
            return nil
        }
        defer { close(fd) }
        var settings: [String: Setting] = [:]
        var st = stat()
        let mode = fstat(fd, &st) == 0 ? st.st_mode : 0
        let reader = LogicalLineReader(ByteReader(fd: fd, path: path), warning: { report(.warning, path, nil, $0, []) })
        while let line = reader.next() {
            switch ConfigText.splitNameValue(ConfigText.cString(line.text)) {
            case .failure(let e):
                report(.error, path, line.lineNumber,
                       "\(path), line \(line.lineNumber): \(e.text): \"\(ConfigText.text(ConfigText.cString(line.text)))\"", [])
            case .success(let (name, value)):
                let key = ConfigText.text(name)
                if warnsOverride, let old = settings[key], old.value != ConfigText.text(value) {
                    report(.warning, path, line.lineNumber,
                           "\(path), line \(line.lineNumber): overriding earlier entry: \(key)=\(old.value)", [])
                }
                settings[key] = Setting(value: ConfigText.text(value), line: line.lineNumber)
            }
        }
        return (settings, mode)
    }

    // MARK: Reporting, and reading with the tables' rules

    func error(_ parameter: String?, _ message: String) {
        report(.error, file, parameter.flatMap { settings[$0]?.line }, "\(spec): \(message)", [])
    }

    func warning(_ parameter: String?, _ message: String) {
        report(.warning, file, parameter.flatMap { settings[$0]?.line }, "\(spec): \(message)", [])
    }

    /// The value, or nil after reporting the problem as an error at the parameter's line.
    @discardableResult
    func value<T>(_ result: Result<T, TableParameters.Problem>) -> T? {
        switch result {
        case .success(let value): return value
        case .failure(let problem):
            error(problem.parameter, problem.text)
            return nil
        }
    }

    /// A string; a too-short one is reported, and then taken as it is.
    @discardableResult
    func string(_ p: String, _ fallback: String, min: Int = 0) -> String {
        value(parameters.checkedString(p, default: fallback, min: min)) ?? (settings[p]?.value ?? fallback)
    }

    @discardableResult
    func int(_ p: String, _ fallback: Int, min: Int = 0, max: Int = 0) -> Int? {
        value(parameters.checkedInt(p, default: fallback, min: min, max: max))
    }

    @discardableResult
    func bool(_ p: String, _ fallback: Bool) -> Bool? {
        value(parameters.checkedBool(p, default: fallback))
    }

    /// Each of `parameters` that names a file must name one that exists (TLS and option files).
    func checkFilesExist(_ parameters: [String]) {
        for p in parameters {
            guard let path = settings[p]?.value, !path.isEmpty else { continue }
            var st = stat()
            if stat(path, &st) != 0 { error(p, "\(p) \(path): \(systemErrorText(errno))") }
        }
    }

    // MARK: The SQL types' query (db_common)

    /// db_common_sql_build_query's query from the legacy settings, each of which must be non-empty.
    func legacyQuery() -> String {
        let fields = ["table", "select_field", "where_field"].map { string($0, "", min: 1) }
        return "SELECT \(fields[1]) FROM \(fields[0]) WHERE \(fields[2])='%s'"
    }

    /// The query template must parse; `parameter` is where an error is reported, `shown` how the
    /// query is quoted in it.
    func checkQuery(_ query: String, in templates: inout QueryTemplates, parameter: String?, shown: String) {
        do { _ = try templates.parse(Array(query.utf8), query: true) } catch {
            self.error(parameter, "invalid query template: \(shown)")
        }
    }

    /// The result template (`result_format`) must parse.
    func checkResultFormat(_ format: String, in templates: inout QueryTemplates, parameter: String = "result_format") {
        do { _ = try templates.parse(Array(format.utf8), query: false) } catch {
            self.error(parameter, "invalid result template: \(parameter) = \(format)")
        }
    }
}
