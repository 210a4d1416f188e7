import PostfixText
import Maps

/// What a migration plan reads: main.cf and master.cf as postconf reads them. PostconfTool's
/// `PostconfConfiguration` provides it (postconf's parameter session); postmap-migrate passes it in.
public protocol MigrationConfiguration {
    /// The configuration directory.
    var directory: String { get }
    /// main.cf's settings in file order, unexpanded.
    var mainEntries: [(name: [UInt8], value: [UInt8])] { get }
    /// master.cf's services in file order (their `-o` settings in `parameters`).
    var masterEntries: [MasterEntry] { get }
    /// The default of a known parameter, unexpanded; nil for a name postconf does not know.
    func defaultValue(_ name: [UInt8]) throws(Fatal) -> [UInt8]?
    /// `value`, the setting of `name`, with `$name` expanded as `scope` (a master.cf service; nil: main.cf)
    /// sees it; a parameter that postconf never expands comes back as it is.
    func expand(_ name: [UInt8], _ value: [UInt8], scope: MasterEntry?) throws(Fatal) -> [UInt8]
}

/// The plan of a migration off Berkeley DB: every `hash:` and `btree:` table that main.cf and master.cf
/// use (in `-o` values, inside composites and `proxy:`, and in defaults that are in effect), the `lmdb:`
/// table that replaces each, and the settings to rewrite. It reads the configuration as postconf does
/// (through `MigrationConfiguration`) and links no table backend; `postmap-migrate` builds the tables
/// and applies the edits.
public struct DatabaseMigration: Sendable {
    /// One table to replace.
    public struct Table: Sendable, Equatable {
        /// `hash` or `btree`.
        public var type: String
        /// The table's name with `$name` expanded: the source file, and `NAME.db` the old table.
        public var path: String
        /// An alias table (built with postalias).
        public var isAlias: Bool
        /// A cache that its daemon creates (TLS sessions, address verification, postscreen).
        public var isCache: Bool
    }

    /// One setting to rewrite: in main.cf (`service` nil) or a master.cf `-o` (`service/type`).
    public struct Edit: Sendable, Equatable {
        public var service: String?
        public var name: String
        /// The value as written, with `hash:` and `btree:` replaced by `lmdb:`.
        public var value: String
        /// The tables this setting uses.
        public var tables: [String]
    }

    public var directory: String
    public var tables: [Table]
    public var edits: [Edit]

    /// The types the migration moves off: the catalog's rows whose library is Berkeley DB.
    static let berkeleyDBTypes = MapCatalog.names { $0.library == .berkeleyDB }
    /// Parameters whose defaults use Berkeley DB tables in Postfix 3.7.
    static let defaultsWithTables = ["alias_maps", "alias_database", "address_verify_map", "postscreen_cache_map"]

    /// The plan for the configuration `config` reads.
    public static func plan(_ config: any MigrationConfiguration) throws(Fatal) -> DatabaseMigration {
        var tables: [Table] = []
        var edits: [Edit] = []
        func consider(_ name: [UInt8], raw: [UInt8], scope: MasterEntry?) throws(Fatal) {
            let text = ConfigText.text(raw)
            let rewritten = rewrite(text)
            guard rewritten != text else { return }
            let expanded = try config.expand(name, raw, scope: scope)
            let parameter = ConfigText.text(name)
            let found = references(ConfigText.text(expanded))
            for (type, path) in found where !tables.contains(where: { $0.path == path }) {
                let alias = parameter == "alias_maps" || parameter == "alias_database"
                let cache = parameter.hasSuffix("_cache_database") || parameter.hasSuffix("_cache_map")
                    || parameter == "address_verify_map"
                tables.append(Table(type: type, path: path, isAlias: alias, isCache: cache))
            }
            let service = scope.map { "\(ConfigText.text($0.argv[0]))/\(ConfigText.text($0.argv[1]))" }
            edits.append(Edit(service: service, name: parameter, value: rewritten, tables: found.map(\.1)))
        }
        let mainEntries = config.mainEntries
        func mainValue(_ name: String) -> [UInt8]? { mainEntries.first { $0.name == Array(text: name) }?.value }
        for (name, value) in mainEntries where ConfigText.text(name) != "config_directory" {
            try consider(name, raw: value, scope: nil)
        }
        for name in defaultsWithTables where mainValue(name) == nil {
            let bytes = Array(text: name)
            guard let value = try config.defaultValue(bytes) else { continue }
            try consider(bytes, raw: value, scope: nil)
        }
        for entry in config.masterEntries {
            guard let table = entry.parameters else { continue }
            for (name, value) in table.entries { try consider(name, raw: value, scope: entry) }
        }
        // An alias table also named elsewhere is still an alias table.
        let aliasPaths = Set(tables.filter(\.isAlias).map(\.path))
        for i in tables.indices where aliasPaths.contains(tables[i].path) { tables[i].isAlias = true }
        if let type = mainValue("default_database_type").map(ConfigText.text) ?? Optional("hash"),
           berkeleyDBTypes.contains(type), !edits.isEmpty || mainValue("default_database_type") != nil {
            edits.append(Edit(service: nil, name: "default_database_type", value: "lmdb", tables: []))
        }
        return DatabaseMigration(directory: config.directory, tables: tables, edits: edits)
    }

    /// Where a `type:` may start: at the beginning, after a separator or `{`, or after `proxy:`.
    private static func isTableStart(_ bytes: [UInt8], _ i: Int) -> Bool {
        if i == 0 { return true }
        let c = bytes[i - 1]
        if ConfigText.isCommaOrBlank(c) || c == 0x7B || c == 0x3D { return true }
        return i >= 6 && Array(bytes[(i - 6)..<i]) == Array("proxy:".utf8)
    }

    /// `text` with every `hash:` and `btree:` table reference made `lmdb:`.
    static func rewrite(_ text: String) -> String {
        var bytes = Array(text.utf8)
        var i = 0
        while i < bytes.count {
            for old in berkeleyDBTypes {
                let o = Array((old + ":").utf8)
                if i + o.count <= bytes.count, Array(bytes[i..<(i + o.count)]) == o, isTableStart(bytes, i) {
                    bytes.replaceSubrange(i..<(i + o.count), with: Array("lmdb:".utf8))
                    break
                }
            }
            i += 1
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The `hash:` and `btree:` tables in an expanded value: (type, name).
    static func references(_ text: String) -> [(String, String)] {
        let bytes = Array(text.utf8)
        var out: [(String, String)] = []
        var i = 0
        while i < bytes.count {
            for type in berkeleyDBTypes {
                let o = Array((type + ":").utf8)
                guard i + o.count <= bytes.count, Array(bytes[i..<(i + o.count)]) == o, isTableStart(bytes, i) else { continue }
                var end = i + o.count
                while end < bytes.count, !ConfigText.isCommaOrBlank(bytes[end]), bytes[end] != 0x7D { end += 1 }
                let name = String(decoding: bytes[(i + o.count)..<end], as: UTF8.self)
                if !name.isEmpty, !out.contains(where: { $0.1 == name }) { out.append((type, name)) }
            }
            i += 1
        }
        return out
    }
}
