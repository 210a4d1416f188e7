import ToolSupport
import PostfixConfig
import PostfixText
import Maps
#if canImport(Glibc)
import Glibc
#endif

/// `postconf --check` of a pgsql or mysql table's settings, without contacting a server (and without
/// loading the client library): what Postfix 3.7 refuses only when the table is first used — a
/// malformed number or boolean, an empty `dbname` or `result_format`, a missing query with incomplete
/// legacy parts, an invalid `%` template — plus missing option and TLS files (mysql) and a password in a
/// file every user can read. Misspelled names are Postfix's own "unused parameter" warning, with
/// suggestions. Messages use the tables' own texts.
struct RemoteSQLClientCheck {
    typealias Setting = LDAPClientCheck.Setting
    typealias Report = (LintFinding.Severity, String, Int?, String, [String]) -> Void

    let type: String
    let spec: String
    let file: String
    let settings: [String: Setting]
    let parameters: TableParameters
    let report: Report

    init(type: String, spec: String, file: String, table: String, isFile: Bool, settings: [String: Setting],
         report: @escaping Report) {
        self.type = type
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

    /// Check a client file (`pgsql:/etc/postfix/pgsql-aliases.cf`).
    static func checkFile(_ path: String, type: String, spec: String, report: @escaping Report) {
        guard let (settings, mode) = LDAPClientCheck.readFile(path, spec: spec, type: type, report: report) else { return }
        RemoteSQLClientCheck(type: type, spec: spec, file: path, table: path, isFile: true, settings: settings, report: report).run()
        LDAPClientCheck.checkPassword("password", in: settings, mode: mode, path: path, spec: spec, report: report)
    }

    /// Check the main.cf form (`pgsql:pgdata` with `pgdata_*` parameters).
    static func checkMain(_ name: String, type: String, spec: String, main: String,
                          values: [(name: String, value: String, line: Int?)], report: @escaping Report) {
        let known = Set((BuiltinParameters.dbmsSuffixes[type] ?? []).map(ConfigText.text))
        var settings: [String: Setting] = [:]
        let prefix = name + "_"
        for (full, value, line) in values where full.hasPrefix(prefix) {
            let short = String(full.dropFirst(prefix.count))
            if known.contains(short) { settings[short] = Setting(value: value, line: line) }
        }
        RemoteSQLClientCheck(type: type, spec: spec, file: main, table: name, isFile: false, settings: settings, report: report).run()
    }

    private func error(_ parameter: String?, _ message: String) {
        report(.error, file, parameter.flatMap { settings[$0]?.line }, "\(spec): \(message)", [])
    }

    @discardableResult
    private func value<T>(_ result: Result<T, TableParameters.Problem>) -> T? {
        switch result {
        case .success(let value): return value
        case .failure(let problem):
            error(problem.parameter, problem.text)
            return nil
        }
    }

    @discardableResult
    private func string(_ p: String, _ fallback: String, min: Int = 0) -> String {
        value(parameters.checkedString(p, default: fallback, min: min)) ?? (settings[p]?.value ?? fallback)
    }

    private func run() {
        string("dbname", "", min: 1)
        let resultFormat = string("result_format", "%s", min: 1)
        if type == "mysql" {
            value(parameters.checkedBool("tls_verify_cert", default: false))
            value(parameters.checkedBool("require_result_set", default: true))
            for p in ["option_file", "tls_key_file", "tls_cert_file", "tls_CAfile", "tls_CApath"] {
                guard let path = settings[p]?.value, !path.isEmpty else { continue }
                var st = stat()
                if stat(path, &st) != 0 { error(p, "\(p) \(path): \(systemErrorText(errno))") }
            }
        }
        value(parameters.checkedInt("expansion_limit", default: 0))
        var query = settings["query"]?.value ?? ""
        if query.isEmpty, type == "pgsql", let function = settings["select_function"]?.value, !function.isEmpty {
            query = "SELECT \(function)('%s')"
        } else if query.isEmpty {
            let parts = ["table", "select_field", "where_field"].map { string($0, "", min: 1) }
            query = "SELECT \(parts[1]) FROM \(parts[0]) WHERE \(parts[2])='%s'"
        }
        var templates = QueryTemplates(type: type, name: spec)
        do { _ = try templates.parse(Array(query.utf8), query: true) } catch {
            self.error(settings["query"] != nil ? "query" : nil, "invalid query template: \(query)")
        }
        do { _ = try templates.parse(Array(resultFormat.utf8), query: false) } catch {
            self.error("result_format", "invalid result template: result_format = \(resultFormat)")
        }
    }
}
