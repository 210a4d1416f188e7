import ToolSupport
import PostfixConfig
import PostfixText
import Maps
#if canImport(Glibc)
import Glibc
#endif

/// `postconf --check` of an ldap table's settings, without contacting a server (and without linking
/// libldap): what Postfix would refuse when the table is first used, by then with mail waiting — a
/// malformed number or boolean, an unknown `bind`, an invalid `%` template, a missing TLS file — and
/// settings that do not do what they seem to (a `bind_dn` that is never used, a password file every
/// user can read). Misspelled names are Postfix's own "unused parameter" warning. Messages use
/// Postfix's wording where Postfix has one.
struct LDAPClientCheck {
    /// Every parameter of ldap_table(5) in Postfix 3.7 (the main.cf form reads only these).
    static let parameters: [String] = (BuiltinParameters.dbmsSuffixes["ldap"] ?? []).map(ConfigText.text)

    /// One setting and where it was defined.
    struct Setting {
        var value: String
        var line: Int?
    }

    let spec: String
    /// The file the settings are in (the client file, or main.cf).
    let file: String
    /// The settings by parameter name (without a main.cf prefix), with their lines.
    let settings: [String: Setting]
    /// The same settings, read with the ldap table's own rules and messages.
    let parameters: TableParameters
    let report: (LintFinding.Severity, String, Int?, String, [String]) -> Void

    init(spec: String, file: String, table: String, isFile: Bool, settings: [String: Setting],
         report: @escaping (LintFinding.Severity, String, Int?, String, [String]) -> Void) {
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

    /// Check a client file (`ldap:/etc/postfix/ldap.cf`).
    static func checkFile(_ path: String, spec: String,
                          report: @escaping (LintFinding.Severity, String, Int?, String, [String]) -> Void) {
        guard let (settings, mode) = readClientFile(path, type: "ldap", spec: spec, report: report) else { return }
        let check = LDAPClientCheck(spec: spec, file: path, table: path, isFile: true, settings: settings, report: report)
        check.run()
        if let pw = settings["bind_pw"], !pw.value.isEmpty, mode & 0o004 != 0 {
            report(.warning, path, pw.line,
                   "\(spec): \(path) holds bind_pw and every user can read it (mode \(String(mode & 0o7777, radix: 8))); "
                   + "make it readable by root and postfix only", [])
        }
    }

    /// The settings of a database client file with their lines, and the file's mode; nil (after an
    /// error) when it cannot be opened. Shared by the checks of every client type.
    static func readClientFile(_ path: String, type: String, spec: String,
                               report: @escaping (LintFinding.Severity, String, Int?, String, [String]) -> Void)
        -> (settings: [String: Setting], mode: mode_t)? {
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
                if let old = settings[key], old.value != ConfigText.text(value) {
                    report(.warning, path, line.lineNumber,
                           "\(path), line \(line.lineNumber): overriding earlier entry: \(key)=\(old.value)", [])
                }
                settings[key] = Setting(value: ConfigText.text(value), line: line.lineNumber)
            }
        }
        return (settings, mode)
    }

    /// `readClientFile` with the argument order of the pgsql and mysql checks.
    static func readFile(_ path: String, spec: String, type: String,
                         report: @escaping (LintFinding.Severity, String, Int?, String, [String]) -> Void)
        -> (settings: [String: Setting], mode: mode_t)? {
        guard let (settings, mode) = readClientFile(path, type: type, spec: spec, report: report) else { return nil }
        return (settings, mode)
    }

    /// Warn about a password (`bind_pw`, `password`) in a client file that every user can read.
    static func checkPassword(_ parameter: String, in settings: [String: Setting], mode: mode_t, path: String, spec: String,
                              report: (LintFinding.Severity, String, Int?, String, [String]) -> Void) {
        if let pw = settings[parameter], !pw.value.isEmpty, mode & 0o004 != 0 {
            report(.warning, path, pw.line,
                   "\(spec): \(path) holds \(parameter) and every user can read it (mode \(String(mode & 0o7777, radix: 8))); "
                   + "make it readable by root and postfix only", [])
        }
    }

    /// The settings of the main.cf form (`NAME_parameter`) among `parameters`, by short name.
    static func mainSettings(_ name: String, parameters: [String], values: [(name: String, value: String, line: Int?)])
        -> [String: Setting] {
        var settings: [String: Setting] = [:]
        let prefix = name + "_"
        for (full, value, line) in values where full.hasPrefix(prefix) {
            let short = String(full.dropFirst(prefix.count))
            if parameters.contains(short) { settings[short] = Setting(value: value, line: line) }
        }
        return settings
    }

    /// Check the main.cf form (`ldap:ldapdata` with `ldapdata_*` parameters).
    static func checkMain(_ name: String, spec: String, main: String, values: [(name: String, value: String, line: Int?)],
                          report: @escaping (LintFinding.Severity, String, Int?, String, [String]) -> Void) {
        let settings = mainSettings(name, parameters: parameters, values: values)
        LDAPClientCheck(spec: spec, file: main, table: name, isFile: false, settings: settings, report: report).run()
    }

    private func error(_ parameter: String?, _ message: String) {
        report(.error, file, parameter.flatMap { settings[$0]?.line }, "\(spec): \(message)", [])
    }

    private func warning(_ parameter: String?, _ message: String, suggestions: [String] = []) {
        report(.warning, file, parameter.flatMap { settings[$0]?.line }, "\(spec): \(message)", suggestions)
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

    /// A string; a too-short one is reported, and then taken as it is.
    private func string(_ p: String, _ fallback: String, min: Int = 0) -> String {
        value(parameters.checkedString(p, default: fallback, min: min)) ?? (settings[p]?.value ?? fallback)
    }

    @discardableResult
    private func int(_ p: String, _ fallback: Int, min: Int = 0, max: Int = 0) -> Int? {
        value(parameters.checkedInt(p, default: fallback, min: min, max: max))
    }

    @discardableResult
    private func bool(_ p: String, _ fallback: Bool) -> Bool? {
        value(parameters.checkedBool(p, default: fallback))
    }

    private func run() {
        let hosts = string("server_host", "localhost", min: 1)
        int("server_port", 389)
        if let v = int("version", 3, min: 2), v != 2, v != 3 {
            warning("version", "Unknown version \(v), using 3.")
        }
        let scope = string("scope", "sub", min: 1)
        if !scope.isEmpty, !["sub", "one", "base"].contains(scope.lowercased()) {
            warning("scope", "Unrecognized value \(scope) specified for scope; using sub")
        }
        int("timeout", 10)
        var templates = QueryTemplates(type: "ldap", name: spec)
        for (p, fallback, query) in [("search_base", "", true), ("query_filter", "(mailacceptinggeneralid=%s)", true)] {
            let format = settings[p]?.value ?? fallback
            do {
                if try !templates.parse(Array(format.utf8), query: query), p == "query_filter" {
                    warning(p, "Fixed query_filter \(format) is probably useless")
                }
            } catch {
                self.error(p, "invalid query template: \(p) = \(format)")
            }
        }
        let resultParameter = (settings["result_format"]?.value ?? "").isEmpty ? "result_filter" : "result_format"
        let format = string(resultParameter, "%s", min: resultParameter == "result_filter" ? 1 : 0)
        do { _ = try templates.parse(Array(format.utf8), query: false) } catch {
            self.error(resultParameter, "invalid result template: \(resultParameter) = \(format)")
        }
        let bindName = string("bind", "yes", min: 1)
        let bind = bindName.lowercased()
        if !bindName.isEmpty, !["yes", "no", "none", "simple", "sasl"].contains(bind) {
            error("bind", "unsupported parameter value: bind = \(bindName)")
        }
        if (bind == "no" || bind == "none"), !(settings["bind_dn"]?.value ?? "").isEmpty {
            warning("bind_dn", "bind_dn is set but bind = \(bindName): the table never binds with it")
        }
        for p in ["cache"] where bool(p, false) == true { warning(p, "ignoring cache") }
        for p in ["cache_expiry", "cache_size"] where settings[p] != nil {
            if let n = int(p, -1), n >= 0 { warning(p, "ignoring \(p)") }
        }
        int("recursion_limit", 1000, min: 1)
        let expansion = int("expansion_limit", 0) ?? 0
        int("size_limit", expansion)
        if let d = int("dereference", 0), d < 0 || d > 3 {
            warning("dereference", "Unrecognized value \(d) specified for dereference; using 0")
        }
        bool("chase_referrals", false)
        if bind == "sasl" { int("sasl_minssf", 0, max: 4096) }
        int("debuglevel", 0)
        let startTLS = bool("start_tls", false) ?? false
        bool("tls_require_cert", false)
        let ldaps = hosts.lowercased().contains("ldaps://")
        if startTLS || ldaps {
            for p in ["tls_ca_cert_file", "tls_cert", "tls_key", "tls_ca_cert_dir", "tls_random_file"] {
                guard let path = settings[p]?.value, !path.isEmpty else { continue }
                var st = stat()
                if stat(path, &st) != 0 { error(p, "\(p) \(path): \(systemErrorText(errno))") }
            }
        }
    }
}
