import PostfixText
/// The table types of Postfix 3.7, one row each: the one description of a type that `postconf -m`,
/// `postconf --check`, the completions, the manual, the map list, the tools, the server and the Debian
/// package read. Nothing else lists type names: a question about types is a filter over these rows
/// (`names { $0.isIndexed }`).
///
/// Adding a table type is one file with its table and one row here. A type whose table links no C
/// library is `.builtin`, with its opener; a type in a backend module (Berkeley DB, LMDB, PCRE2, libldap,
/// the database clients) names that module, whose `XMaps.types` supplies the opener (MapBackends, written
/// by scripts/gen-backends from Package.swift). A database client type that Postfix does not have
/// declares its settings in its row (`ClientSetting`), which postconf knows and `postconf --check` lints.
/// A row says which Debian package of Postfix provides the type (`postfix`, `postfix-lmdb`, ...) and which
/// shared library its code links or loads, with the Debian package of that library: the package's Depends
/// are those libraries
/// (`completion-spec --deb-depends`). Types that Postfix has and this toolkit does not are rows too, so
/// that lint can tell "not supported here" from "not a table type at all".
public enum MapCatalog {
    /// Every row, sorted by name.
    public static let entries: [Entry] = [
        .backend("btree", module: "MapsBerkeleyDB", keys: .fixed, buildable: true, files: .indexed(".db"),
                 lookups: .locked, postfix: "postfix", library: .berkeleyDB,
                 summary: "Berkeley DB B-tree file NAME.db, built from NAME"),
        .builtin(CDBMaps.cdb, files: .indexed(".cdb"), lookups: .mapped, postfix: "postfix-cdb",
                 summary: "constant database (tinycdb) file NAME.cdb, built from NAME"),
        .builtin(CIDRMaps.cidr, files: .rules, lookups: .memory, postfix: "postfix",
                 summary: "network address patterns, first match wins"),
        .postfixOnly("dbm", keys: .fixed, buildable: true, files: .indexed(".dir"), lookups: .locked, summary: "NDBM file"),
        .builtin(SimpleTables.environ, files: .none, lookups: .memory, postfix: "postfix", summary: "the process environment"),
        .builtin(SimpleTables.fail, files: .none, lookups: .memory, postfix: "postfix",
                 summary: "every lookup fails with a temporary error"),
        .backend("hash", module: "MapsBerkeleyDB", keys: .fixed, buildable: true, files: .indexed(".db"),
                 lookups: .locked, postfix: "postfix", library: .berkeleyDB,
                 summary: "Berkeley DB hash file NAME.db, built from NAME"),
        .builtin(SimpleTables.inline, files: .inName, lookups: .memory, postfix: "postfix",
                 summary: "{key=value, ...} written in the name"),
        .builtin(InternalTable.mapType, files: .none, lookups: .memory, postfix: "postfix", summary: "an empty in-memory table"),
        .backend("ldap", module: "MapsLDAP", keys: .fixed, buildable: false, files: .clientConfig,
                 lookups: .waits, postfix: "postfix-ldap", library: .ldap,
                 summary: "LDAP directory, configured in a file or main.cf"),
        .backend("lmdb", module: "MapsLMDB", keys: .fixed, buildable: true, files: .indexed(".lmdb"),
                 lookups: .mapped, postfix: "postfix-lmdb", library: .lmdb,
                 summary: "LMDB file NAME.lmdb, built from NAME"),
        .backend("memcache", module: "MapsMemcache", keys: .fixed, buildable: false, files: .clientConfig,
                 lookups: .waits, postfix: "postfix", library: nil,
                 summary: "memcached client, configured in a file or main.cf, with an optional backup table"),
        .backend("mysql", module: "MapsRemoteSQL", keys: .fixed, buildable: false, files: .clientConfig,
                 lookups: .waits, postfix: "postfix-mysql", library: .mariaDB,
                 summary: "MySQL/MariaDB client, configured in a file or main.cf"),
        .postfixOnly("netinfo", keys: .fixed, buildable: false, files: .service, lookups: .waits, summary: "NetInfo (macOS)"),
        .builtin(NISTable.mapType, files: .service, lookups: .waits, postfix: "postfix", library: .nsl,
                 summary: "NIS map of the machine's NIS domain (yp_match)"),
        .postfixOnly("nisplus", keys: .fixed, buildable: false, files: .service, lookups: .waits, summary: "NIS+ table"),
        .backend("pcre", module: "MapsPCRE2", keys: .patterns, buildable: false, files: .rules,
                 lookups: .memory, postfix: "postfix-pcre", library: .pcre2,
                 summary: "PCRE2 patterns, first match wins"),
        .backend("pgsql", module: "MapsRemoteSQL", keys: .fixed, buildable: false, files: .clientConfig,
                 lookups: .waits, postfix: "postfix-pgsql", library: .postgreSQL,
                 summary: "PostgreSQL client, configured in a file or main.cf"),
        .builtin(SimpleTables.pipemap, files: .members, lookups: .members, postfix: "postfix",
                 summary: "{type:name, ...}: each result is the next key"),
        .builtin(ProxyTable.mapType, files: .members, lookups: .members, postfix: "postfix",
                 summary: "proxy:type:name, through Postfix's proxymap"),
        .builtin(RandomTable.mapType, files: .inName, lookups: .memory, postfix: "postfix",
                 summary: "{value, ...}: a random value for every key"),
        .builtin(PatternMaps.regexp, files: .rules, lookups: .memory, postfix: "postfix",
                 summary: "POSIX regular expressions, first match wins"),
        .postfixOnly("sdbm", keys: .fixed, buildable: true, files: .indexed(".dir"), lookups: .locked, summary: "SDBM file"),
        .builtin(SocketmapTable.mapType, files: .service, lookups: .waits, postfix: "postfix",
                 summary: "Sendmail socketmap client: inet:host:port:name or unix:/path:name"),
        .backend("sqlite", module: "MapsSQLite", keys: .fixed, buildable: false, files: .clientConfig,
                 lookups: .locked, postfix: "postfix-sqlite", library: .sqlite,
                 summary: "SQLite database query, configured in a file or main.cf"),
        .builtin(StaticTable.mapType, files: .inName, lookups: .memory, postfix: "postfix", summary: "the name itself, for every key"),
        .builtin(TCPTable.mapType, files: .service, lookups: .waits, postfix: "postfix", summary: "tcp_table(5) client: host:port"),
        .builtin(SimpleTables.texthash, files: .rules, lookups: .memory, postfix: "postfix",
                 summary: "a postmap source file, read into memory"),
        .builtin(SimpleTables.unionmap, files: .members, lookups: .members, postfix: "postfix",
                 summary: "{type:name, ...}: every member's value, joined"),
        .builtin(UnixTable.mapType, files: .service, lookups: .waits, postfix: "postfix",
                 summary: "passwd.byname or group.byname of the system"),
    ]

    /// The row named `name`.
    public static func entry(named name: String) -> Entry? {
        entries.first { $0.name == name }
    }

    /// The names of the types this toolkit implements, sorted (`postconf -m`).
    public static var implementedNames: [String] {
        names(where: \.isImplemented)
    }

    /// The names of the rows that `include` accepts, sorted.
    public static func names(where include: (Entry) -> Bool) -> [String] {
        entries.filter(include).map(\.name)
    }

    /// The shared libraries of the implemented types, each once, sorted by (Debian 12's) package: what the
    /// toolkit's executables link or load beyond the C and C++ runtime.
    public static var libraries: [SharedLibrary] {
        var seen: Set<String> = []
        return entries.filter(\.isImplemented).compactMap(\.library)
            .filter { seen.insert($0.soname).inserted }
            .sorted { $0.debianPackages.last ?? "" < $1.debianPackages.last ?? "" }
    }

    /// A C library a type's code needs, as each Debian release ships it: the package installs on Debian 12
    /// and Debian 13, so its Depends name every release's package as alternatives (`libldap2 |
    /// libldap-2.5-0`), and a library loaded on first use is tried under every release's soname.
    public struct SharedLibrary: Sendable, Equatable {
        /// How the code gets the library.
        public enum Loading: Sendable, Equatable {
            /// Linked (the module's system-library target): every executable with the module loads it at start.
            case linked
            /// `dlopen`ed by its soname when the first table of the type opens.
            case onFirstUse
        }

        /// The library in one Debian release, named by the Postfix release that Debian release ships
        /// (`.v3_7`: Debian 12, `.v3_10`: Debian 13).
        public struct Shipped: Sendable, Equatable {
            public let release: PostfixRelease
            /// The name the executable's dynamic section or the `dlopen` call names (`liblmdb.so.0`).
            public let soname: String
            /// The Debian package that ships it there (`liblmdb0`).
            public let debianPackage: String

            public init(_ release: PostfixRelease, soname: String, debianPackage: String) {
                self.release = release
                self.soname = soname
                self.debianPackage = debianPackage
            }
        }

        /// Per Debian release, newest first; every release of `PostfixRelease.allCases` has one.
        public let shipped: [Shipped]
        /// Linked or loaded on first use.
        public let loading: Loading

        /// A library whose soname or package differs between releases: one `Shipped` per release.
        public init(loading: Loading, _ shipped: [Shipped]) {
            self.shipped = shipped.sorted { $0.release > $1.release }
            self.loading = loading
        }

        /// A library with the same soname and package in every release.
        public init(soname: String, debianPackage: String, loading: Loading) {
            self.init(loading: loading, PostfixRelease.allCases.map {
                Shipped($0, soname: soname, debianPackage: debianPackage)
            })
        }

        /// The newest release's soname: the library's name in messages and lists.
        public var soname: String { shipped.first?.soname ?? "" }

        /// Every soname, each once, newest release first: what a loader tries (a linked library has one).
        public var sonames: [String] { unique(shipped.map(\.soname)) }

        /// Every Debian package, each once, newest release first.
        public var debianPackages: [String] { unique(shipped.map(\.debianPackage)) }

        /// The package's Depends entry: the packages as alternatives (`libdb5.3t64 | libdb5.3`).
        public var dependsEntry: String { debianPackages.joined(separator: " | ") }

        /// The soname and package in `release`.
        public func shipped(in release: PostfixRelease) -> Shipped? {
            shipped.first { $0.release == release }
        }

        private func unique(_ names: [String]) -> [String] {
            var seen: Set<String> = []
            return names.filter { seen.insert($0).inserted }
        }

        /// Berkeley DB 5.3 (CBerkeleyDB: `link "db-5.3"`); Debian 13's package is the 64-bit time_t rename.
        public static let berkeleyDB = SharedLibrary(loading: .linked, [
            Shipped(.v3_10, soname: "libdb-5.3.so", debianPackage: "libdb5.3t64"),
            Shipped(.v3_7, soname: "libdb-5.3.so", debianPackage: "libdb5.3"),
        ])
        /// LMDB (CLMDB: `link "lmdb"`).
        public static let lmdb = SharedLibrary(soname: "liblmdb.so.0", debianPackage: "liblmdb0", loading: .linked)
        /// PCRE2, 8-bit (CPCRE2: `link "pcre2-8"`).
        public static let pcre2 = SharedLibrary(soname: "libpcre2-8.so.0", debianPackage: "libpcre2-8-0", loading: .linked)
        /// OpenLDAP's libldap (CLDAPLoader: `CLDAP_SONAMES`): 2.6 in Debian 13, 2.5 in Debian 12.
        public static let ldap = SharedLibrary(loading: .onFirstUse, [
            Shipped(.v3_10, soname: "libldap.so.2", debianPackage: "libldap2"),
            Shipped(.v3_7, soname: "libldap-2.5.so.0", debianPackage: "libldap-2.5-0"),
        ])
        /// SQLite 3 (CSQLiteLoader: `CSQLITE_SONAME`).
        public static let sqlite = SharedLibrary(soname: "libsqlite3.so.0", debianPackage: "libsqlite3-0", loading: .onFirstUse)
        /// PostgreSQL's libpq (CSQLLoader: `CSQL_PQ_SONAME`).
        public static let postgreSQL = SharedLibrary(soname: "libpq.so.5", debianPackage: "libpq5", loading: .onFirstUse)
        /// MariaDB's client library (CSQLLoader: `CSQL_MY_SONAME`).
        public static let mariaDB = SharedLibrary(soname: "libmariadb.so.3", debianPackage: "libmariadb3", loading: .onFirstUse)
        /// libnsl's `yp_match` (NISTable, when a NIS domain is set).
        public static let nsl = SharedLibrary(soname: "libnsl.so.2", debianPackage: "libnsl2", loading: .onFirstUse)
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
        /// The Debian package of Postfix 3.7 that provides the type (`postfix` for those built into
        /// Postfix, `postfix-lmdb` for a plugin), `nil` when Debian's Postfix does not have it.
        public let postfixPackage: String?
        /// The C library its code links or loads, `nil` when it needs none beyond libc.
        public let library: SharedLibrary?
        /// One line for completions and manuals.
        public let summary: String
        /// Where its code lives.
        public let implementation: Implementation
        /// The settings of a `.clientConfig` type that Postfix does not have: the names it reads and what
        /// each value must be (`ClientSetting`), the one list of them. Empty for every other row.
        public let clientSettings: [ClientSetting]

        /// Whether this toolkit can open it (given the backend modules linked).
        public var isImplemented: Bool {
            if case .postfixOnly = implementation { return false }
            return true
        }

        /// Whether a table of it is a file built from a source file (`NAME` + suffix).
        public var isIndexed: Bool {
            if case .indexed = files { return true }
            return false
        }

        /// The backend module that implements it, `nil` for built-in and Postfix-only types.
        public var module: String? {
            if case .backend(let module) = implementation { return module }
            return nil
        }

        /// A type implemented in this module.
        public static func builtin(_ type: MapType, files: Files, lookups: Lookups, postfix: String?,
                                   library: SharedLibrary? = nil, summary: String) -> Entry {
            Entry(name: type.name, keys: type.fixedKeys ? .fixed : .patterns, buildable: type.build != nil,
                  files: files, lookups: lookups, postfixPackage: postfix, library: library, summary: summary,
                  implementation: .builtin(type), clientSettings: [])
        }

        /// A type implemented in a backend module; `settings` are a client type's (`clientSettings`).
        public static func backend(_ name: String, module: String, keys: Keys, buildable: Bool, files: Files,
                                   lookups: Lookups, postfix: String?, library: SharedLibrary?, summary: String,
                                   settings: [ClientSetting] = []) -> Entry {
            Entry(name: name, keys: keys, buildable: buildable, files: files, lookups: lookups, postfixPackage: postfix,
                  library: library, summary: summary, implementation: .backend(module: module), clientSettings: settings)
        }

        /// A Postfix type this toolkit does not have.
        public static func postfixOnly(_ name: String, keys: Keys, buildable: Bool, files: Files, lookups: Lookups,
                                       postfix: String? = nil, summary: String) -> Entry {
            Entry(name: name, keys: keys, buildable: buildable, files: files, lookups: lookups, postfixPackage: postfix,
                  library: nil, summary: summary, implementation: .postfixOnly, clientSettings: [])
        }
    }
}
