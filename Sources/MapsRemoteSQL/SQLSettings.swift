import PostfixText
import Maps
import PostfixConfig

/// The settings the pgsql and mysql tables share (Postfix's `db_common` and the first lines of
/// `pgsql_parse_config`/`mysql_parse_config`), read in Postfix's order so that the first malformed
/// value is the one reported.
struct SQLSettings {
    var user = ""
    var password = ""
    var dbname = ""
    var resultFormat: [UInt8] = []
    var expansionLimit = 0
    var query: [UInt8] = []
    var templates: QueryTemplates
    var domains: DomainList?
    var hosts: [String] = []
    /// What to set after connecting: pgsql's client encoding, mysql's character set (nil: nothing).
    var characterSet: String?
    /// How long a failed server is left alone, and how long an idle connection is kept.
    var retryInterval = 60
    var idleInterval = 60

    /// `user`, `password`, `dbname` and `result_format`: read first by both tables.
    init(type: String, _ p: TableParameters) throws(MapError) {
        templates = QueryTemplates(type: type, name: p.name)
        user = try p.string("user", default: "")
        password = try p.string("password", default: "")
        let clients = PostfixRelease.current.clients
        dbname = try p.string("dbname", default: "", min: type == "pgsql" && clients.pgsqlDatabaseNameOptional ? 0 : 1)
        // The release's per-table settings, read where its Postfix reads them (before result_format).
        if type == "pgsql" {
            if let parameter = clients.pgsqlEncodingParameter {
                characterSet = try p.string(parameter, default: clients.pgsqlEncodingDefault, min: 1)
            } else {
                characterSet = clients.pgsqlEncodingDefault
            }
        } else if let parameter = clients.mysqlCharsetParameter {
            characterSet = try p.string(parameter, default: clients.mysqlCharsetDefault, min: 1)
        }
        if clients.sqlIntervalParameters {
            retryInterval = try p.int("retry_interval", default: 60, min: 1)
            idleInterval = try p.int("idle_interval", default: 60, min: 1)
        }
        resultFormat = ByteText.bytes(of: try p.string("result_format", default: "%s", min: 1))
    }

    /// `expansion_limit`, the query (or the legacy parts it is built from), the templates, `domain`
    /// and `hosts`: read last by both tables. `selectFunction` is pgsql's `select_function`.
    mutating func readQuery(_ p: TableParameters, request: OpenRequest, selectFunction: Bool) throws(MapError) {
        expansionLimit = try p.int("expansion_limit", default: 0)
        if let text = try p.optionalString("query") {
            query = ByteText.bytes(of: text)
        } else if selectFunction, let function = try p.optionalString("select_function") {
            query = ByteText.bytes(of: "SELECT \(function)('%s')")
        } else {
            query = ByteText.bytes(of: try SQLQuery.legacy(p))
        }
        _ = try templates.parse(query, query: true)
        _ = try templates.parse(resultFormat, query: false)
        let domainText = try p.string("domain", default: "")
        if !domainText.isEmpty { domains = try DomainList(domainText, owner: p.name, request: request) }
        let hostText = try p.string("hosts", default: "")
        hosts = ConfigText.tokens(ByteText.bytes(of: hostText), ConfigText.isCommaOrBlank).map { ByteText.string($0) }
        if hosts.isEmpty { hosts = ["localhost"] }
    }
}
