import PostfixText
import Maps
import PostfixConfig
import CSQLiteLoader
#if canImport(Glibc)
import Glibc
#endif

/// A `sqlite:` table (Postfix's `dict_sqlite.c`, sqlite_table(5)): a query against an SQLite database,
/// configured in a file (`sqlite:/etc/postfix/sqlite-aliases.cf`) or by main.cf parameters
/// (`sqlite:NAME` with `NAME_dbpath`, ...). Lookups only.
///
/// - `dbpath`, `query` (or the legacy `table`, `select_field`, `where_field`, `additional_conditions`),
///   `result_format`, `domain`, `expansion_limit`, with Postfix's defaults and messages.
/// - The key goes into the query through the `%` templates (`QueryTemplates`) with every `'` doubled, as
///   `sqlite3_mprintf("%q")` does, so a key is always data inside a quoted SQL string.
/// - Every row's first column is one value, through `result_format`; the values are joined with `,`.
/// - An SQL statement that does not compile is fatal, as in Postfix; a failed step or an exceeded
///   `expansion_limit` is a temporary error.
///
/// The database is opened as the release's Postfix opens it, so that every message matches: 3.7 with
/// `sqlite3_open`, which creates a missing file; 3.10 read-only, a missing file an open error
/// (`ClientBehaviour.sqliteReadOnly`). libsqlite3 is loaded when the first sqlite table opens.
public final class SQLiteTable: LookupTable {
    public let type = "sqlite"
    public let name: String
    private var db: OpaquePointer?
    private let query: [UInt8]
    private let resultFormat: [UInt8]
    private let expansionLimit: Int
    private let templates: QueryTemplates
    private let domains: DomainList?
    private let fold: Bool
    private let utf8Active: Bool
    private let diagnostics: Diagnostics
    private let files: [String]

    public var sourceFiles: [String] { files }

    init(name: String, request: OpenRequest) throws(MapError) {
        guard request.mode == .readOnly else { throw .usage("sqlite:\(name) map requires O_RDONLY access mode") }
        self.name = name
        diagnostics = request.diagnostics
        fold = request.flags.contains(.foldFixed)
        utf8Active = request.utf8Active
        let warn = request.diagnostics.warning
        let p = try TableParameters(name: name, mainParameter: request.settings.mainParameter, warn: { warn($0) })
        let dbpath = try p.string("dbpath", default: "", min: 1)
        var queryText: String
        if p.isSet("query") {
            queryText = try p.string("query", default: "")
        } else {
            queryText = try SQLQuery.legacy(p)
        }
        query = ByteText.bytes(of: queryText)
        resultFormat = ByteText.bytes(of: try p.string("result_format", default: "%s", min: 1))
        expansionLimit = try p.int("expansion_limit", default: 0)
        var templates = QueryTemplates(type: "sqlite", name: name)
        _ = try templates.parse(query, query: true)
        _ = try templates.parse(resultFormat, query: false)
        self.templates = templates
        let domainText = try p.string("domain", default: "")
        domains = domainText.isEmpty ? nil : try DomainList(domainText, owner: name, request: request)
        files = TableParameters.isFileName(name) ? [name, dbpath] : [dbpath]

        if csqlite_load() != 0 {
            throw .configuration("sqlite:\(name): cannot load the SQLite library: \(String(cString: csqlite_load_error()))")
        }
        var handle: UnsafeMutableRawPointer?
        let behaviour = PostfixRelease.current.clients
        var openErrno: Int32 = 0
        let rc = behaviour.sqliteReadOnly ? csqlite_open_readonly(dbpath, &handle, &openErrno) : csqlite_open(dbpath, &handle)
        db = handle.map { OpaquePointer($0) }
        if rc != CSQLITE_OK {
            let text = db.map { String(cString: csqlite_errmsg(UnsafeMutableRawPointer($0))) } ?? "out of memory"
            if let db { _ = csqlite_close(UnsafeMutableRawPointer(db)) }
            db = nil
            domains?.close()
            // 3.7: Postfix's text ends with a newline, which its logger prints as "?". 3.10: the
            // read-only open's error, with errno (dict_surrogate, fatal in postmap).
            let message = behaviour.sqliteOpenFailure
                .replacing("{name}", with: name).replacing("{path}", with: dbpath)
                .replacing("{error}", with: text).replacing("{errno}", with: systemErrorText(openErrno))
                .replacing("\n", with: "?")
            throw MapError(.configuration, message, fatalInPostfix: true)
        }
    }

    private var handle: UnsafeMutableRawPointer? { db.map { UnsafeMutableRawPointer($0) } }

    private func errorText() -> String {
        handle.map { String(cString: csqlite_errmsg($0)) } ?? ""
    }

    public func lookup(_ key: [UInt8]) throws(MapError) -> [UInt8]? {
        guard let db = handle else { throw .temporary("sqlite:\(name): table is closed") }
        if !utf8Active, !CaseFolding.isASCII(key), !CaseFolding.isValidUTF8(key) { return nil }
        let key = fold ? CaseFolding.asciiLowercased(key) : key
        if let domains {
            do {
                if try !domains.admits(key) { return nil }
            } catch {
                throw .temporary("sqlite:\(name): domain check failed", errno: error.errno)
            }
        }
        var sql: [UInt8] = []
        guard templates.expand(query, value: key, key: nil, into: &sql, quote: SQLQuery.quoteSQLite,
                               diagnostics: diagnostics) else { return nil }
        let sqlText = ByteText.string(sql)
        sql.append(0)
        var statement: UnsafeMutableRawPointer?
        let prepared = sql.withUnsafeBufferPointer { buffer in
            buffer.baseAddress.map { base in
                base.withMemoryRebound(to: CChar.self, capacity: buffer.count) { csqlite_prepare(db, $0, &statement, nil) }
            } ?? -1
        }
        guard prepared == CSQLITE_OK, let statement else {
            throw MapError(.configuration, "dict_sqlite_lookup: \(name): SQL prepare failed: \(errorText())?",
                           fatalInPostfix: true)
        }
        var results = SQLQuery.Results(templates: templates, format: resultFormat, limit: expansionLimit, key: key,
                                       diagnostics: diagnostics)
        var failure: String?
        var errorNumber: Int32 = 0
        while true {
            let status = csqlite_step(statement, &errorNumber)
            if status == CSQLITE_DONE { break }
            guard status == CSQLITE_ROW else {
                diagnostics.warning("dict_sqlite_lookup: \(name): SQL step failed for query '\(sqlText)': \(errorText())?")
                failure = "SQL step failed"
                break
            }
            var length: Int32 = 0
            guard let text = csqlite_column_text(statement, 0, &length) else { continue }
            // Postfix reads the column as a C string.
            let value = KeyCodec.cString(UnsafeRawBufferPointer(start: text, count: Int(length)))
            if !results.add(value) {
                diagnostics.warning("dict_sqlite_lookup: \(name): Expansion limit exceeded for key '\(ByteText.string(key))'")
                failure = "expansion limit exceeded"
                break
            }
        }
        if csqlite_finalize(statement, &errorNumber) != CSQLITE_OK {
            throw MapError(.configuration,
                           "dict_sqlite_lookup: \(name): SQL finalize failed for query '\(sqlText)': \(errorText())?",
                           fatalInPostfix: true)
        }
        if let failure { throw MapError(.temporary, "sqlite:\(name): \(failure)", errno: errorNumber) }
        return results.value
    }

    public func close() {
        if let handle { _ = csqlite_close(handle) }
        db = nil
        domains?.close()
    }

    deinit { close() }
}

@available(*, unavailable)
extension SQLiteTable: Sendable {}

/// The `sqlite` table type.
public enum SQLiteMaps {
    /// This module's types, which MapBackends registers (scripts/gen-backends).
    public static let types: [MapType] = [sqlite]

    /// `sqlite:/path/file.cf` or `sqlite:NAME` (main.cf parameters `NAME_*`).
    public static let sqlite = MapType(name: "sqlite", open: { name, request throws(MapError) in
        try SQLiteTable(name: name, request: request)
    })
}
