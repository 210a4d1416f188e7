import ToolSupport
import PostfixConfig
import PostfixText
import Maps
#if canImport(Glibc)
import Glibc
#endif

/// The plan of a migration off Berkeley DB: every `hash:` and `btree:` table that main.cf and master.cf
/// use (in `-o` values, inside composites and `proxy:`, and in defaults that are in effect), the `lmdb:`
/// table that replaces each, and the settings to rewrite. It reads the configuration as postconf does
/// and links no table backend; `postmap-migrate` builds the tables and applies the edits.
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

    /// Parameters whose defaults use Berkeley DB tables in Postfix 3.7.
    static let defaultsWithTables = ["alias_maps", "alias_database", "address_verify_map", "postscreen_cache_map"]

    /// Read the configuration in `directory` (nil: `$MAIL_CONFIG`, else `/etc/postfix`) and plan.
    public static func plan(directory: String?, program: String) throws(Fatal) -> DatabaseMigration {
        let messages = MessageWriter(program: program, collect: true)
        let session = PostconfSession(mode: [], messages: messages, out: OutputBuffer(capture: true),
                                      configOverride: directory, processName: Array(text: "postconf"),
                                      processID: getpid())
        session.lenientHostDefaults = true
        try session.readParameters()
        try session.readMaster(failOnOpenError: false)
        session.registerBuiltinParameters()
        session.registerServiceParameters()
        try session.registerUserParameters()
        messages.clear()

        var tables: [Table] = []
        var edits: [Edit] = []
        func consider(_ name: [UInt8], raw: [UInt8], scope: MasterEntry?) throws(Fatal) {
            let text = ConfigText.text(raw)
            let rewritten = rewrite(text)
            guard rewritten != text else { return }
            let node = session.registry[name]
            let expanded = node?.flags.contains(.raw) == true ? raw : try session.expand(raw, mode: [], scope: scope)
            messages.clear()
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
        for (name, value) in session.mainTable.entries where ConfigText.text(name) != "config_directory" {
            try consider(name, raw: value, scope: nil)
        }
        for name in defaultsWithTables where session.mainTable[Array(text: name)] == nil {
            let bytes = Array(text: name)
            guard let node = session.registry[bytes] else { continue }
            try consider(bytes, raw: try session.defaultValue(bytes, node), scope: nil)
        }
        for entry in session.master {
            guard let table = entry.parameters else { continue }
            for (name, value) in table.entries { try consider(name, raw: value, scope: entry) }
        }
        // An alias table also named elsewhere is still an alias table.
        let aliasPaths = Set(tables.filter(\.isAlias).map(\.path))
        for i in tables.indices where aliasPaths.contains(tables[i].path) { tables[i].isAlias = true }
        if let type = session.mainTable[Array(text: "default_database_type")].map(ConfigText.text) ?? Optional("hash"),
           type == "hash" || type == "btree", !edits.isEmpty || session.mainTable[Array(text: "default_database_type")] != nil {
            edits.append(Edit(service: nil, name: "default_database_type", value: "lmdb", tables: []))
        }
        return DatabaseMigration(directory: session.directory, tables: tables, edits: edits)
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
            for old in ["hash:", "btree:"] {
                let o = Array(old.utf8)
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
            for type in ["hash", "btree"] {
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
