import PostfixText
import Maps

/// What the SQL client tables (sqlite, pgsql, mysql) share beyond `TableParameters` and
/// `QueryTemplates`: Postfix's `db_common_sql_build_query` for the legacy settings, and quoting.
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
}
