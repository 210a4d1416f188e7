// swift-tools-version: 6.1
import PackageDescription

// Modules and what each may depend on (the README's Layout section draws the same picture). Every module
// above PostfixText may use it too, and declares it when it does: scripts/check-imports (make test) fails
// when a file imports a module its target does not declare, or a Sources/ target declares one it never imports.
//
//   PostfixText            bytes and text helpers: byte strings, line readers, {} text, strtol
//   CLibraryLoader         C: a client library loaded on first use (dlopen, its symbols, once), the
//                          pattern of CLDAPLoader, CSQLiteLoader, CSQLLoader and nis's libnsl
//   Maps                   the table protocol, the catalog, the map list, and every table that links
//                          no C library (text, pattern, cidr and composite tables)
//                                                                      -> PostfixText, CLibraryLoader
//   MapsBerkeleyDB, MapsLMDB, MapsPCRE2                                                  -> Maps, C library
//   PostfixConfig          main.cf and master.cf, $name expansion, the parameter table, the table
//                          settings main.cf gives (MapSettings(config:)), match lists (MatchList,
//                          DomainList), smtpd's restriction table (SMTPDRestrictions), postmap's
//                          message keys (MessageKeys), the Berkeley DB migration plan
//                          (DatabaseMigration), database client settings (TableParameters)
//                                                                                -> PostfixText, Maps
//   MapsLDAP               the ldap table; libldap is loaded on first use (CLDAPLoader)
//                                                                   -> Maps, PostfixConfig, CLDAPLoader
//   MapsSQLite             the sqlite table; libsqlite3 is loaded on first use (CSQLiteLoader)
//                                                                 -> Maps, PostfixConfig, CSQLiteLoader
//   MapsMemcache           the memcache table (its client protocol is in Maps)   -> Maps, PostfixConfig
//   MapsRemoteSQL          the pgsql and mysql tables: one table over a driver each; libpq and
//                          libmariadb are loaded on first use (CSQLLoader)
//                                                                    -> Maps, PostfixConfig, CSQLLoader
//   MapBackends            the registry of every implemented table type: its source is written by
//                          scripts/gen-backends from this target's Maps* dependencies (each module
//                          MapsX lists its types as XMaps.types)                        -> all tables
//   ToolSupport            the command-line layer: getopt, `program: fatal:` messages, buffered
//                          byte output, exit status                                       -> PostfixText
//
//   Tool modules (below) depend on the library modules above, never on one another; only executables
//   combine tool modules.
//   MapTools               postmap, postalias and newaliases   -> ToolSupport, MapBackends, PostfixConfig
//   PostconfTool           postconf, its display, edits and --check; PostconfConfiguration (its reading
//                          of main.cf and master.cf for a migration plan)
//                                              -> ToolSupport, PostfixConfig, Maps, MapsPCRE2
//   MapMigration           the migration off Berkeley DB: plans with PostfixConfig's DatabaseMigration,
//                          builds with the backends; reads and edits the configuration through what its
//                          caller passes (postconf's)   -> ToolSupport, Maps, MapBackends, PostfixConfig
//   Explain                postexplain's logic: Postfix's lookup orders by role, alias and virtual
//                          expansion, smtpd restriction lists, header/body checks
//                                                -> Maps, MapBackends, PostfixConfig, PostfixText
//   MapServer              postmapd's library: postmapd.cf, the protocol decoders, the one-pass connection
//                          handler, the served tables, reload, metrics, privileges
//                          -> Maps, MapBackends, PostfixConfig, PostfixText, SwiftNIO, swift-log, Prometheus,
//                             ServiceLifecycle
//   postmap, postalias, newaliases, postconf   thin executables
//   postmap-migrate        MapMigration behind swift-argument-parser, with PostconfTool's configuration
//                          reading and editing (not a Postfix tool)
//   postexplain            its command line (swift-argument-parser)                  -> Explain
//   postmapd               the server's command line (swift-argument-parser)          -> MapServer
//   server-bench           the load generator of scripts/bench-server (socketmap, tcp_table, RESP; not
//                          installed)                                                  -> (none)
//   explain-bench          the trace-cost benchmark of scripts/bench-explain (not installed)
//                                                -> Explain, Maps, MapBackends, PostfixConfig, PostfixText
//   completion-spec        prints the option tables, the catalog and the package's library Depends for
//                          gen-completions, gen-man and make-deb (not installed)
//                                      -> MapTools, PostconfTool, MapMigration, ToolSupport, Maps
//   thread-sharing-bench   the SharedTable benchmark of scripts/bench-threads  -> Maps and its table modules
//
//   TestSupport (Tests/)   what the test targets share: paths, commands with a deadline, the socket
//                          client, the daemon runner and its servers, the oracle runner; test code,
//                          so Foundation and Testing are allowed there                      -> (none)

/// This manifest's directory.
let packageDirectory = String(#filePath.dropLast("/Package.swift".count))

/// Release executables link libstdc++, which the Swift runtime uses, statically: loading and relocating
/// the shared library cost each process about 2.2M instructions, more than the rest of a postmap lookup.
/// The toolchain's static-stdlib-args.lnk adds `-lstdc++` after any flag a package can give, so the name
/// is redirected instead: build-support/static-libstdc++ holds a linker script `libstdc++.so` that
/// names `libstdc++.a`, and is searched before the system's directories.
let startupLinkerSettings: [LinkerSetting] = [
    .unsafeFlags(["-L\(packageDirectory)/build-support/static-libstdc++"], .when(platforms: [.linux], configuration: .release)),
]

let package = Package(
    name: "postfix-maps",
    products: [
        .library(name: "Maps", targets: ["Maps"]),
        .library(name: "MapsBerkeleyDB", targets: ["MapsBerkeleyDB"]),
        .library(name: "MapsLMDB", targets: ["MapsLMDB"]),
        .library(name: "MapsPCRE2", targets: ["MapsPCRE2"]),
        .library(name: "MapsLDAP", targets: ["MapsLDAP"]),
        .library(name: "MapsSQLite", targets: ["MapsSQLite"]),
        .library(name: "MapsMemcache", targets: ["MapsMemcache"]),
        .library(name: "MapsRemoteSQL", targets: ["MapsRemoteSQL"]),
        .library(name: "MapBackends", targets: ["MapBackends"]),
        .library(name: "PostfixConfig", targets: ["PostfixConfig"]),
        .executable(name: "postmap", targets: ["postmap"]),
        .executable(name: "postalias", targets: ["postalias"]),
        .executable(name: "newaliases", targets: ["newaliases"]),
        .executable(name: "postconf", targets: ["postconf"]),
        .executable(name: "postmap-migrate", targets: ["postmap-migrate"]),
        .executable(name: "postexplain", targets: ["postexplain"]),
        .executable(name: "postmapd", targets: ["postmapd"]),
    ],
    dependencies: [
        // postexplain and postmap-migrate are not Postfix tools: they take ordinary --long options and --help.
        .package(url: "https://github.com/apple/swift-argument-parser", .upToNextMinor(from: "1.8.2")),
        // The map server (postmapd): SwiftNIO for its listeners, swift-log, swift-prometheus for its
        // metrics, swift-service-lifecycle for SIGTERM and SIGHUP.
        .package(url: "https://github.com/apple/swift-nio", .upToNextMinor(from: "2.101.2")),
        .package(url: "https://github.com/apple/swift-log", .upToNextMinor(from: "1.16.2")),
        .package(url: "https://github.com/swift-server/swift-prometheus", .upToNextMinor(from: "2.4.1")),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", .upToNextMinor(from: "2.13.0")),
    ],
    targets: [
        // C libraries from Debian: one system-library target each.
        .systemLibrary(name: "CBerkeleyDB"),
        .systemLibrary(name: "CLMDB"),
        .systemLibrary(name: "CPCRE2"),
        .systemLibrary(name: "CLDAP"),

        .target(name: "PostfixText"),
        // The one pattern of every client library loaded on first use (dlopen, a symbol table, once):
        // the C loaders below and the nis table's libnsl.
        .target(name: "CLibraryLoader"),
        .target(name: "Maps", dependencies: ["PostfixText", "CLibraryLoader"]),
        .target(name: "MapsBerkeleyDB", dependencies: ["Maps", "PostfixText", "CBerkeleyDB"]),
        .target(name: "MapsLMDB", dependencies: ["Maps", "PostfixText", "CLMDB"]),
        .target(name: "MapsPCRE2", dependencies: ["Maps", "PostfixText", "CPCRE2"]),
        .target(name: "PostfixConfig", dependencies: ["PostfixText", "Maps"]),
        // libldap's functions for MapsLDAP, the library loaded when the first ldap table opens.
        .target(name: "CLDAPLoader", dependencies: ["CLibraryLoader"]),
        .target(name: "MapsLDAP", dependencies: ["Maps", "PostfixConfig", "PostfixText", "CLDAP", "CLDAPLoader"]),
        // libsqlite3's functions for MapsSQLite, the library loaded when the first sqlite table opens.
        .target(name: "CSQLiteLoader", dependencies: ["CLibraryLoader"]),
        .target(name: "MapsSQLite", dependencies: ["Maps", "PostfixConfig", "PostfixText", "CSQLiteLoader"]),
        .target(name: "MapBackends", dependencies: ["Maps", "MapsBerkeleyDB", "MapsLMDB", "MapsPCRE2", "MapsLDAP", "MapsSQLite",
                                                    "MapsMemcache", "MapsRemoteSQL"]),
        .target(name: "MapsMemcache", dependencies: ["Maps", "PostfixConfig", "PostfixText"]),
        // libpq's and libmariadb's functions for MapsRemoteSQL, loaded when the first pgsql or mysql table opens.
        .target(name: "CSQLLoader", dependencies: ["CLibraryLoader"]),
        .target(name: "MapsRemoteSQL", dependencies: ["Maps", "PostfixConfig", "PostfixText", "CSQLLoader"]),

        .target(name: "ToolSupport", dependencies: ["PostfixText"]),
        .target(name: "MapTools", dependencies: ["ToolSupport", "Maps", "MapBackends", "PostfixConfig", "PostfixText"]),
        .target(name: "PostconfTool", dependencies: ["ToolSupport", "PostfixConfig", "PostfixText", "Maps", "MapsPCRE2"]),

        .target(name: "Explain", dependencies: ["Maps", "MapBackends", "PostfixConfig", "PostfixText"]),

        .executableTarget(name: "postmap", dependencies: ["MapTools", "PostfixText"], linkerSettings: startupLinkerSettings),
        .executableTarget(name: "postalias", dependencies: ["MapTools", "PostfixText"], linkerSettings: startupLinkerSettings),
        .executableTarget(name: "newaliases", dependencies: ["MapTools", "PostfixText"], linkerSettings: startupLinkerSettings),
        // postconf links no table backend but pcre (for the lint): its start-up stays light.
        .executableTarget(name: "postconf", dependencies: ["PostconfTool"], linkerSettings: startupLinkerSettings),
        .target(name: "MapMigration", dependencies: ["ToolSupport", "PostfixText", "Maps", "MapBackends", "PostfixConfig"]),
        .executableTarget(name: "postmap-migrate", dependencies: [
            "MapMigration", "PostconfTool", "PostfixText", "ToolSupport", .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ], linkerSettings: startupLinkerSettings),
        .executableTarget(name: "postexplain", dependencies: ["Explain", "ToolSupport", "PostfixText",
                                                               .product(name: "ArgumentParser", package: "swift-argument-parser")],
                          linkerSettings: startupLinkerSettings),
        .target(name: "MapServer", dependencies: [
            "Maps", "MapBackends", "PostfixConfig", "PostfixText",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
            .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Prometheus", package: "swift-prometheus"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "UnixSignals", package: "swift-service-lifecycle"),
        ]),
        .executableTarget(name: "postmapd", dependencies: [
            "MapServer", "ToolSupport", .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        ]),
        // The load generator of scripts/bench-server (postmapd against Redis); not installed.
        .executableTarget(name: "server-bench"),
        // Measures the cost of traces against plain lookups for scripts/bench-explain; not installed.
        // Lookups from 8 threads through each SharedTable sharing mode, run by scripts/bench-threads; not installed.
        .executableTarget(name: "thread-sharing-bench", dependencies: ["Maps", "MapsBerkeleyDB", "MapsLMDB", "MapsPCRE2"]),
        .executableTarget(name: "explain-bench", dependencies: ["Explain", "Maps", "MapBackends", "PostfixConfig", "PostfixText"]),
        // Prints the option tables and table types for scripts/gen-completions; not installed.
        .executableTarget(name: "completion-spec", dependencies: ["MapTools", "PostconfTool", "MapMigration", "ToolSupport", "Maps"]),

        // What the test targets share: paths, commands with a deadline, temporary directories, the socket
        // client, the daemon runner and the servers on it, the oracle runner (Foundation: it is test code).
        .target(name: "TestSupport", path: "Tests/TestSupport"),

        .testTarget(name: "PostfixTextTests", dependencies: ["PostfixText"]),
        .testTarget(name: "MapsTests", dependencies: ["Maps", "PostfixText"]),
        .testTarget(name: "BackendTests", dependencies: ["TestSupport", "Maps", "PostfixText", "MapsBerkeleyDB", "MapsLMDB", "MapsPCRE2",
                                                     "MapsLDAP", "MapsRemoteSQL", "MapsMemcache", "MapBackends", "CLibraryLoader"]),
        .testTarget(name: "PostfixConfigTests", dependencies: ["TestSupport", "PostfixConfig", "PostfixText", "Maps"]),
        .testTarget(name: "ToolSupportTests", dependencies: ["ToolSupport"]),
        .testTarget(name: "MapToolsTests", dependencies: ["MapTools", "Maps", "PostfixText", "PostfixConfig"]),
        .testTarget(name: "PostconfToolTests", dependencies: ["PostconfTool", "PostfixConfig", "Maps", "PostfixText"]),
        .testTarget(name: "ExplainTests", dependencies: ["TestSupport", "Explain", "Maps", "MapBackends", "PostfixConfig", "PostfixText"]),
        .testTarget(name: "MapServerTests", dependencies: [
            "TestSupport", "MapServer", "Maps", "MapBackends", "PostfixText",
            .product(name: "Logging", package: "swift-log"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOEmbedded", package: "swift-nio"),
            .product(name: "NIOTestUtils", package: "swift-nio"),
        ]),
        .testTarget(name: "CLITests", dependencies: ["TestSupport", "Maps", "MapsBerkeleyDB", "MapsLMDB", "MapsPCRE2"]),
    ],
    swiftLanguageModes: [.v6]
)
