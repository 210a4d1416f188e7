import PostfixText
import Maps

/// The `domain` setting of a database client table: a string match list (`MatchList`, kind `.string`)
/// whose tables open through the request's opener. A domain is matched without regard to case; a table
/// that fails makes the whole check fail (temporarily). Shared by the database client tables (ldap,
/// sqlite, memcache, pgsql, mysql).
public final class DomainList {
    private let list: MatchList<any LookupTable>
    /// The table's name, which Postfix puts before list warnings.
    private let owner: String
    private let diagnostics: Diagnostics

    /// Parse `text`; `owner` (the table's name) prefixes warnings. Tables in the list open through `request.opener`.
    public init(_ text: String, owner: String, request: OpenRequest) throws(MapError) {
        self.owner = owner
        self.diagnostics = request.diagnostics
        let settings = request.settings, diagnostics = request.diagnostics, opener = request.opener
        list = try MatchList(title: owner, text: ByteText.bytes(of: text), kind: .string, unicodeFold: settings.utf8Enabled,
                             errors: .stop, warn: { diagnostics.warning($0) }, openTable: { text throws(MapError) in
            let spec = MapSpec(parsing: text, defaultType: "")
            guard let opener else { throw .configuration("unsupported dictionary type: \(spec.type)") }
            var inner = OpenRequest(mode: .readOnly, flags: [.lock, .utf8Request], settings: settings, diagnostics: diagnostics)
            inner.opener = opener
            return (try opener(spec, inner), false)
        })
        if let failure = list.failure {
            close()
            throw failure
        }
    }

    /// Whether the list holds literal domains only, so checking it has no side effects.
    public var isLiteral: Bool { list.isLiteral }

    /// Whether `domain` is on the list; a table that fails makes the whole check fail (temporarily).
    public func contains(_ domain: [UInt8]) throws(MapError) -> Bool {
        var failure: MapError?
        let result = list.match(domain) { table, key in
            do throws(MapError) {
                return try table.lookup(key) != nil ? .found : .notFound
            } catch {
                diagnostics.warning("\(owner): \(table.type):\(table.name): table lookup problem")
                failure = error
                return .failed(error.message)
            }
        }
        if let failure { throw failure }
        return result.matched
    }

    /// Postfix's `db_common_check_domain`: whether an address key may be looked up: it has a local part
    /// and its domain is on the list.
    public func admits(_ key: [UInt8]) throws(MapError) -> Bool {
        guard let at = key.lastIndex(of: 0x40), at > 0 else { return false }
        return try contains(Array(key[(at + 1)...]))
    }

    /// Close the tables of the list.
    public func close() {
        for pattern in list.patterns { pattern.table?.close() }
    }
}
