// swift-tools-version: 6.1
import PackageDescription

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
        // libldap's functions for MapsLDAP, the library loaded when the first ldap table opens.
        .target(name: "CLDAPLoader"),
        // The ldap client table; it reads its own parameter files with PostfixConfig's reader.
        .target(name: "MapsLDAP", dependencies: ["Maps", "PostfixConfig", "CLDAP", "CLDAPLoader"]),

        // main.cf reading and $name expansion; links no C library.
        .target(name: "PostfixConfig", dependencies: ["Maps"]),

        // The logic of postmap, postalias and newaliases, shared by the thin executables.
        .target(name: "MapTools", dependencies: ["Maps", "MapsBerkeleyDB", "MapsLMDB", "MapsPCRE2", "MapsLDAP", "PostfixConfig"]),
        .executableTarget(name: "postmap", dependencies: ["MapTools"], linkerSettings: startupLinkerSettings),
        .executableTarget(name: "postalias", dependencies: ["MapTools"], linkerSettings: startupLinkerSettings),
        .executableTarget(name: "newaliases", dependencies: ["MapTools"], linkerSettings: startupLinkerSettings),
        // postconf links no table backend: its start-up stays light.
        .executableTarget(name: "postconf", dependencies: ["PostfixConfig"], linkerSettings: startupLinkerSettings),

        .testTarget(name: "MapsTests", dependencies: ["Maps", "MapsBerkeleyDB", "MapsLMDB", "MapsPCRE2", "MapsLDAP", "PostfixConfig", "MapTools"]),
        .testTarget(name: "CLITests", dependencies: ["Maps", "MapsBerkeleyDB", "MapsLMDB", "MapsPCRE2"]),
    ],
    swiftLanguageModes: [.v6]
)
