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

    /// `user`, `password`, `dbname` and `result_format`: read first by both tables.
    init(type: String, _ p: TableParameters) throws(MapError) {
        templates = QueryTemplates(type: type, name: p.name)
        user = try p.string("user", default: "")
        password = try p.string("password", default: "")
        dbname = try p.string("dbname", default: "", min: 1)
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
