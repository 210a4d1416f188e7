import ToolSupport
import PostfixConfig
import PostfixText
import Maps
#if canImport(Glibc)
import Glibc
#endif

/// Each client type's own checks (`ClientConfigCheck.parts`), in the order its table reads its settings,
/// so that the first problem reported is the one Postfix would stop at.
extension ClientConfigCheck {
    /// ldap_table(5): an unknown `bind`, a `bind_dn` that is never used, `version`, `scope` and
    /// `dereference` values Postfix replaces, the ignored cache settings, missing TLS files.
    func checkLDAP() {
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
        var templates = QueryTemplates(type: type, name: spec)
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
        checkResultFormat(format, in: &templates, parameter: resultParameter)
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
        if startTLS || hosts.lowercased().contains("ldaps://") {
            checkFilesExist(["tls_ca_cert_file", "tls_cert", "tls_key", "tls_ca_cert_dir", "tls_random_file"])
        }
    }

    /// sqlite_table(5): `dbpath`, then db_common's query, `result_format` and `expansion_limit`.
    func checkSQLite() {
        string("dbpath", "", min: 1)
        var templates = QueryTemplates(type: type, name: spec)
        let query = settings["query"] != nil ? string("query", "") : legacyQuery()
        checkQuery(query, in: &templates, parameter: "query", shown: "query = \(query)")
        let format = string("result_format", "%s", min: 1)
        checkResultFormat(format, in: &templates)
        value(parameters.checkedInt("expansion_limit", default: 0))
    }

    /// pgsql_table(5) and mysql_table(5): `dbname`, `result_format`, mysql's booleans and files,
    /// `expansion_limit`, then the query (pgsql's `select_function`, or the legacy parts).
    func checkRemoteSQL() {
        string("dbname", "", min: 1)
        let resultFormat = string("result_format", "%s", min: 1)
        if type == "mysql" {
            bool("tls_verify_cert", false)
            bool("require_result_set", true)
            checkFilesExist(["option_file", "tls_key_file", "tls_cert_file", "tls_CAfile", "tls_CApath"])
        }
        value(parameters.checkedInt("expansion_limit", default: 0))
        var query = settings["query"]?.value ?? ""
        if query.isEmpty, type == "pgsql", let function = settings["select_function"]?.value, !function.isEmpty {
            query = "SELECT \(function)('%s')"
        } else if query.isEmpty {
            query = legacyQuery()
        }
        var templates = QueryTemplates(type: type, name: spec)
        checkQuery(query, in: &templates, parameter: settings["query"] != nil ? "query" : nil, shown: query)
        checkResultFormat(resultFormat, in: &templates)
    }

    /// memcache_table(5): the numbers and their minimums, the `memcache` service, `key_format`, and
    /// `backup`, which is checked as any table.
    func checkMemcache() {
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
        var templates = QueryTemplates(type: type, name: spec)
        checkQuery(format, in: &templates, parameter: "key_format", shown: "key_format = \(format)")
        if let backup = settings["backup"]?.value, !backup.isEmpty {
            if let colon = backup.firstIndex(of: ":"), colon != backup.startIndex, backup.index(after: colon) != backup.endIndex {
                otherTable(backup)
            } else {
                error("backup", "open dictionary: expecting \"type:name\" form instead of \"\(backup)\"")
            }
        }
    }
}
