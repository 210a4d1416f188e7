import ToolSupport
import PostfixConfig
import PostfixText
import Maps
#if canImport(Glibc)
import Glibc
#endif

/// `postconf --check` of an SQL table's settings (sqlite; pgsql and mysql share the common part), without
/// opening the database: what Postfix refuses only when the table is first used — a malformed number,
/// an empty required string, an invalid `%` template, a legacy query without its fields — and a
/// `password` in a file every user can read (not for sqlite, which has none). Unknown names are
/// Postfix's own "unused parameter" warning, with suggestions. Messages use Postfix's wording.
///
/// A type adds its own parameters in `typeSpecific`; the rest (`query` or the legacy fields,
/// `result_format`, `expansion_limit`, `domain`) is db_common's and the same for every SQL type.
struct SQLClientCheck {
    typealias Setting = LDAPClientCheck.Setting
    typealias Report = (LintFinding.Severity, String, Int?, String, [String]) -> Void

    /// The SQL table types this check knows.
    static let types: Set<String> = ["sqlite"]

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

    /// Every parameter of the type's `*_table(5)` in Postfix 3.7.
    static func parameterNames(_ type: String) -> [String] {
        (BuiltinParameters.dbmsSuffixes[type] ?? []).map(ConfigText.text)
    }

    /// Check a client file (`sqlite:/etc/postfix/sqlite-aliases.cf`).
    static func checkFile(_ path: String, type: String, spec: String, report: @escaping Report) {
        guard let (settings, mode) = LDAPClientCheck.readClientFile(path, type: type, spec: spec, report: report) else { return }
        SQLClientCheck(type: type, spec: spec, file: path, table: path, isFile: true, settings: settings, report: report).run()
        if type != "sqlite", let pw = settings["password"], !pw.value.isEmpty, mode & 0o004 != 0 {
            report(.warning, path, pw.line,
                   "\(spec): \(path) holds password and every user can read it (mode \(String(mode & 0o7777, radix: 8))); "
                   + "make it readable by root and postfix only", [])
        }
    }

    /// Check the main.cf form (`sqlite:NAME` with `NAME_*` parameters).
    static func checkMain(_ name: String, type: String, spec: String, main: String,
                          values: [(name: String, value: String, line: Int?)], report: @escaping Report) {
        let settings = LDAPClientCheck.mainSettings(name, parameters: parameterNames(type), values: values)
        SQLClientCheck(type: type, spec: spec, file: main, table: name, isFile: false, settings: settings, report: report).run()
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

    private func string(_ p: String, _ fallback: String, min: Int = 0) -> String {
        value(parameters.checkedString(p, default: fallback, min: min)) ?? (settings[p]?.value ?? fallback)
    }

    private func run() {
        typeSpecific()
        var templates = QueryTemplates(type: type, name: spec)
        let query: String
        if settings["query"] != nil {
            query = string("query", "")
        } else {
            let fields = ["table", "select_field", "where_field"].map { string($0, "", min: 1) }
            query = "SELECT \(fields[1]) FROM \(fields[0]) WHERE \(fields[2])='%s'"
        }
        do { _ = try templates.parse(Array(query.utf8), query: true) } catch {
            self.error("query", "invalid query template: query = \(query)")
        }
        let format = string("result_format", "%s", min: 1)
        do { _ = try templates.parse(Array(format.utf8), query: false) } catch {
            self.error("result_format", "invalid result template: result_format = \(format)")
        }
        value(parameters.checkedInt("expansion_limit", default: 0))
    }

    /// The settings only this type has.
    private func typeSpecific() {
        switch type {
        case "sqlite":
            _ = string("dbpath", "", min: 1)
        default:
            break
        }
    }
}
