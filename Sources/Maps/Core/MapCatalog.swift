import PostfixText
/// The table types of Postfix 3.7, one row each: the one list that `postconf -m`, `postconf --check`,
/// the completions, the map list and the tools read.
///
/// Adding a table type is one file with its table and one row here. A type whose table links no C
/// library is `.builtin`, with its opener; a type in a backend module (Berkeley DB, LMDB, PCRE2, libldap)
/// names that module, and the module's `types` list supplies the opener (see `MapBackends`). Types that
/// Postfix has and this toolkit does not are rows too, so that lint can tell "not supported here" from
/// "not a table type at all".
public enum MapCatalog {
    /// Every row, sorted by name.
    public static let entries: [Entry] = [
        .backend("btree", module: "MapsBerkeleyDB", keys: .fixed, buildable: true, files: .indexed(".db"),
                 lookups: .locked, summary: "Berkeley DB B-tree file NAME.db, built from NAME"),
        .builtin(CDBMaps.cdb, files: .indexed(".cdb"), lookups: .mapped, summary: "constant database (tinycdb) file NAME.cdb, built from NAME"),
        .builtin(CIDRMaps.cidr, files: .rules, lookups: .memory, summary: "network address patterns, first match wins"),
        .postfixOnly("dbm", keys: .fixed, buildable: true, files: .indexed(".dir"), lookups: .locked, summary: "NDBM file"),
        .builtin(SimpleTables.environ, files: .none, lookups: .memory, summary: "the process environment"),
        .builtin(SimpleTables.fail, files: .none, lookups: .memory, summary: "every lookup fails with a temporary error"),
        .backend("hash", module: "MapsBerkeleyDB", keys: .fixed, buildable: true, files: .indexed(".db"),
                 lookups: .locked, summary: "Berkeley DB hash file NAME.db, built from NAME"),
        .builtin(SimpleTables.inline, files: .inName, lookups: .memory, summary: "{key=value, ...} written in the name"),
        .builtin(InternalTable.mapType, files: .none, lookups: .memory, summary: "an empty in-memory table"),
        .backend("ldap", module: "MapsLDAP", keys: .fixed, buildable: false, files: .clientConfig,
                 lookups: .waits, summary: "LDAP directory, configured in a file or main.cf"),
        .backend("lmdb", module: "MapsLMDB", keys: .fixed, buildable: true, files: .indexed(".lmdb"),
                 lookups: .mapped, summary: "LMDB file NAME.lmdb, built from NAME"),
        .backend("memcache", module: "MapsMemcache", keys: .fixed, buildable: false, files: .clientConfig,
                 lookups: .waits, summary: "memcached client, configured in a file or main.cf, with an optional backup table"),
        .backend("mysql", module: "MapsRemoteSQL", keys: .fixed, buildable: false, files: .clientConfig,
                 lookups: .waits, summary: "MySQL/MariaDB client, configured in a file or main.cf"),
        .postfixOnly("netinfo", keys: .fixed, buildable: false, files: .service, lookups: .waits, summary: "NetInfo (macOS)"),
        .builtin(NISTable.mapType, files: .service, lookups: .waits, summary: "NIS map of the machine's NIS domain (yp_match)"),
        .postfixOnly("nisplus", keys: .fixed, buildable: false, files: .service, lookups: .waits, summary: "NIS+ table"),
        .backend("pcre", module: "MapsPCRE2", keys: .patterns, buildable: false, files: .rules,
                 lookups: .memory, summary: "PCRE2 patterns, first match wins"),
        .backend("pgsql", module: "MapsRemoteSQL", keys: .fixed, buildable: false, files: .clientConfig,
                 lookups: .waits, summary: "PostgreSQL client, configured in a file or main.cf"),
        .builtin(SimpleTables.pipemap, files: .members, lookups: .members, summary: "{type:name, ...}: each result is the next key"),
        .builtin(ProxyTable.mapType, files: .members, lookups: .members, summary: "proxy:type:name, through Postfix's proxymap"),
        .builtin(RandomTable.mapType, files: .inName, lookups: .memory, summary: "{value, ...}: a random value for every key"),
        .builtin(PatternMaps.regexp, files: .rules, lookups: .memory, summary: "POSIX regular expressions, first match wins"),
        .postfixOnly("sdbm", keys: .fixed, buildable: true, files: .indexed(".dir"), lookups: .locked, summary: "SDBM file"),
        .builtin(SocketmapTable.mapType, files: .service, lookups: .waits, summary: "Sendmail socketmap client: inet:host:port:name or unix:/path:name"),
        .backend("sqlite", module: "MapsSQLite", keys: .fixed, buildable: false, files: .clientConfig,
                 lookups: .locked, summary: "SQLite database query, configured in a file or main.cf"),
        .builtin(StaticTable.mapType, files: .inName, lookups: .memory, summary: "the name itself, for every key"),
        .builtin(TCPTable.mapType, files: .service, lookups: .waits, summary: "tcp_table(5) client: host:port"),
        .builtin(SimpleTables.texthash, files: .rules, lookups: .memory, summary: "a postmap source file, read into memory"),
        .builtin(SimpleTables.unionmap, files: .members, lookups: .members, summary: "{type:name, ...}: every member's value, joined"),
        .builtin(UnixTable.mapType, files: .service, lookups: .waits, summary: "passwd.byname or group.byname of the system"),
    ]

    /// The row named `name`.
    public static func entry(named name: String) -> Entry? {
        entries.first { $0.name == name }
    }

    /// The names of the types this toolkit implements, sorted (`postconf -m`).
    public static var implementedNames: [String] {
        entries.filter(\.isImplemented).map(\.name)
    }

    /// What a type's lookup keys are (Postfix's `DICT_FLAG_FIXED` / `DICT_FLAG_PATTERN`).
    public enum Keys: Sendable, Equatable {
        /// Exact strings, folded under `foldFixed`.
        case fixed
        /// Patterns matched against the key.
        case patterns
    }

    /// What the name of a table of this type refers to, so that lint can check it.
    public enum Files: Sendable, Equatable {
        /// Nothing to check.
        case none
        /// The table is written in its name (`inline:{...}`, `static:text`, `randmap:{...}`).
        case inName
        /// `NAME` is the source and `NAME` + suffix the table file.
        case indexed(String)
        /// `NAME` is a rule or text file read when the table opens, or the inline `{ {rule}, ... }` form.
        case rules
        /// `NAME` is a client configuration file (a path) or a main.cf prefix.
        case clientConfig
        /// `NAME` holds other tables (`{type:name, ...}`, or `type:name` for proxy).
        case members
        /// `NAME` names a service or system database.
        case service
    }

    /// Whether a lookup can wait, and on what: the server answers the types that cannot wait on the
    /// connection's own event loop, and hands the others to its thread pool.
    public enum Lookups: Sendable, Equatable {
        /// Computed over data read when the table opened (rules, in-memory tables, the environment).
        case memory
        /// Reads a memory-mapped file under no lock that a writer holds (lmdb, cdb): a page fault at
        /// worst, never another process.
        case mapped
        /// Reads a file under a lock that a rebuild holds (Berkeley DB, sqlite): can wait for postmap.
        case locked
        /// Asks the network, a name service or another process (ldap, SQL servers, memcache, tcp,
        /// socketmap, nis, the password database).
        case waits
        /// As its member tables (pipemap, unionmap, proxy).
        case members

        /// Whether a lookup in a table of a type with this value may block its thread on something
        /// outside the process (members: decided by the opened members, see `LookupTable.lookupsCanWait`).
        public var canWait: Bool {
            switch self {
            case .memory, .mapped: return false
            case .locked, .waits, .members: return true
            }
        }
    }

    /// Where a type's code lives.
    public enum Implementation: Sendable {
        /// In this module; the opener is here.
        case builtin(MapType)
        /// In a backend module, which lists its `MapType`s.
        case backend(module: String)
        /// Postfix has it; this toolkit does not.
        case postfixOnly
    }

    /// One row.
    public struct Entry: Sendable {
        /// The type name in `type:name`.
        public let name: String
        /// Fixed keys or patterns.
        public let keys: Keys
        /// Whether postmap and postalias can build a table of it from a source file.
        public let buildable: Bool
        /// What its name refers to.
        public let files: Files
        /// Whether its lookups can wait (the server's event loop or thread pool).
        public let lookups: Lookups
        /// One line for completions and manuals.
        public let summary: String
        /// Where its code lives.
        public let implementation: Implementation

        /// Whether this toolkit can open it (given the backend modules linked).
        public var isImplemented: Bool {
            if case .postfixOnly = implementation { return false }
            return true
        }

        /// A type implemented in this module.
        public static func builtin(_ type: MapType, files: Files, lookups: Lookups, summary: String) -> Entry {
            Entry(name: type.name, keys: type.fixedKeys ? .fixed : .patterns, buildable: type.build != nil,
                  files: files, lookups: lookups, summary: summary, implementation: .builtin(type))
        }

        /// A type implemented in a backend module.
        public static func backend(_ name: String, module: String, keys: Keys, buildable: Bool, files: Files,
                                   lookups: Lookups, summary: String) -> Entry {
            Entry(name: name, keys: keys, buildable: buildable, files: files, lookups: lookups, summary: summary,
                  implementation: .backend(module: module))
        }

        /// A Postfix type this toolkit does not have.
        public static func postfixOnly(_ name: String, keys: Keys, buildable: Bool, files: Files, lookups: Lookups,
                                       summary: String) -> Entry {
            Entry(name: name, keys: keys, buildable: buildable, files: files, lookups: lookups, summary: summary,
                  implementation: .postfixOnly)
        }
    }
}
