// swift-tools-version: 6.1
import PackageDescription

let package = Package(
    name: "postfix-maps",
    products: [
        .library(name: "Maps", targets: ["Maps"]),
        .library(name: "MapsBerkeleyDB", targets: ["MapsBerkeleyDB"]),
        .library(name: "MapsLMDB", targets: ["MapsLMDB"]),
        .library(name: "MapsLDAP", targets: ["MapsLDAP"]),
        .executable(name: "postmap", targets: ["postmap"]),
        .executable(name: "postalias", targets: ["postalias"]),
        .executable(name: "newaliases", targets: ["newaliases"]),
        .executable(name: "postconf", targets: ["postconf"]),
    ],
    targets: [
        // C libraries from Debian: one system-library target each.
        .systemLibrary(name: "CBerkeleyDB"),
        .systemLibrary(name: "CLMDB"),
        .systemLibrary(name: "CPCRE2"),
        .systemLibrary(name: "CLDAP"),

        // The table protocol, key flags, source-file reader and shared helpers.
        .target(name: "Maps"),
        .target(name: "MapsBerkeleyDB", dependencies: ["Maps", "CBerkeleyDB"]),
        .target(name: "MapsLMDB", dependencies: ["Maps", "CLMDB"]),
        .target(name: "MapsPCRE2", dependencies: ["Maps", "CPCRE2"]),
        // The ldap client table; it reads its own parameter files with PostfixConfig's reader.
        .target(name: "MapsLDAP", dependencies: ["Maps", "PostfixConfig", "CLDAP"]),

        // main.cf reading and $name expansion; links no C library.
        .target(name: "PostfixConfig", dependencies: ["Maps"]),

        // The logic of postmap, postalias and newaliases, shared by the thin executables.
        .target(name: "MapTools", dependencies: ["Maps", "MapsBerkeleyDB", "MapsLMDB", "MapsPCRE2", "MapsLDAP", "PostfixConfig"]),
        .executableTarget(name: "postmap", dependencies: ["MapTools"]),
        .executableTarget(name: "postalias", dependencies: ["MapTools"]),
        .executableTarget(name: "newaliases", dependencies: ["MapTools"]),
        // postconf links no table backend: its start-up stays light.
        .executableTarget(name: "postconf", dependencies: ["PostfixConfig"]),

        .testTarget(name: "MapsTests", dependencies: ["Maps", "MapsBerkeleyDB", "MapsLMDB", "MapsPCRE2", "MapsLDAP", "PostfixConfig", "MapTools"]),
        .testTarget(name: "CLITests", dependencies: ["Maps", "MapsBerkeleyDB", "MapsLMDB", "MapsPCRE2"]),
    ],
    swiftLanguageModes: [.v6]
)
