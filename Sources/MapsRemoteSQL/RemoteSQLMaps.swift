import Maps

/// The `pgsql` and `mysql` table types (`pgsql:/etc/postfix/pgsql-aliases.cf`, or `pgsql:NAME` with
/// `NAME_*` settings in main.cf). Lookups only: they cannot be created, updated or listed. One table
/// (`RemoteSQLTable`) over a driver for each client library; the libraries are loaded when the first
/// such table opens.
public enum RemoteSQLMaps {
    public static let pgsql = MapType(name: "pgsql", open: { name, request throws(MapError) in
        try RemoteSQLTable<PgSQLDriver>(name: name, request: request)
    })
    public static let mysql = MapType(name: "mysql", open: { name, request throws(MapError) in
        try RemoteSQLTable<MySQLDriver>(name: name, request: request)
    })
}
