import PostfixText
import Maps

/// What the SQL client tables (sqlite, pgsql, mysql) share beyond `TableParameters` and
/// `QueryTemplates`: Postfix's `db_common_sql_build_query` for the legacy settings, quoting, and the
/// formatting of a query's rows.
public enum SQLQuery {
    /// The query of a table without `query`: `SELECT select_field FROM table WHERE where_field='%s'
    /// additional_conditions`. The first three must not be empty: Postfix reads them with a minimum
    /// length of 1, so a missing one is `bad string length 0 < 1` (its "parameter not defined" text is
    /// unreachable).
    public static func legacy(_ p: TableParameters) throws(MapError) -> String {
        let table = try p.string("table", default: "", min: 1)
        let select = try p.string("select_field", default: "", min: 1)
        let whereField = try p.string("where_field", default: "", min: 1)
        let additional = try p.string("additional_conditions", default: "")
        return "SELECT \(select) FROM \(table) WHERE \(whereField)='%s' \(additional)"
    }

    /// SQLite's `%q`: every `'` doubled, so the text stays inside a quoted SQL string.
    public static func quoteSQLite(_ part: ArraySlice<UInt8>, _ out: inout [UInt8]) {
        for c in part {
            out.append(c)
            if c == 0x27 { out.append(0x27) }
        }
    }

    /// A query's values through `result_format`, joined with commas, under Postfix's `expansion_limit`
    /// (`db_common_expand` as dict_sqlite, dict_pgsql and dict_mysql call it for each column).
    public struct Results {
        private let templates: QueryTemplates
        private let format: [UInt8]
        private let limit: Int
        private let key: [UInt8]
        private let diagnostics: Diagnostics
        private var bytes: [UInt8] = []
        private var expansions = 0

        public init(templates: QueryTemplates, format: [UInt8], limit: Int, key: [UInt8], diagnostics: Diagnostics) {
            self.templates = templates
            self.format = format
            self.limit = limit
            self.key = key
            self.diagnostics = diagnostics
        }

        /// Add one value; false when it is one more than `expansion_limit` allows (the table then warns
        /// in its own words and fails the lookup).
        public mutating func add(_ value: [UInt8]) -> Bool {
            if templates.expand(format, value: value, key: key, into: &bytes, quote: nil, diagnostics: diagnostics), limit > 0 {
                expansions += 1
                if expansions > limit { return false }
            }
            return true
        }

        /// The joined values; nil when there were none (not found).
        public var value: [UInt8]? { bytes.isEmpty ? nil : bytes }
    }
}
