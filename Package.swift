// swift-tools-version: 6.1
import PackageDescription

let package = Package(
    name: "postfix-maps",
    products: [
        .library(name: "Maps", targets: ["Maps"]),
        .library(name: "MapsBerkeleyDB", targets: ["MapsBerkeleyDB"]),
        .library(name: "MapsLMDB", targets: ["MapsLMDB"]),
        .executable(name: "postmap", targets: ["postmap"]),
        .executable(name: "postalias", targets: ["postalias"]),
        .executable(name: "newaliases", targets: ["newaliases"]),
    ],
    targets: [
        // C libraries from Debian: one system-library target each.
        .systemLibrary(name: "CBerkeleyDB"),
        .systemLibrary(name: "CLMDB"),

        // The table protocol, key flags, source-file reader and shared helpers.
        .target(name: "Maps"),
        .target(name: "MapsBerkeleyDB", dependencies: ["Maps", "CBerkeleyDB"]),
        .target(name: "MapsLMDB", dependencies: ["Maps", "CLMDB"]),

        // main.cf reading and $name expansion; links no C library.
        .target(name: "PostfixConfig", dependencies: ["Maps"]),

        // The logic of postmap, postalias and newaliases, shared by the thin executables.
        .target(name: "MapTools", dependencies: ["Maps", "MapsBerkeleyDB", "MapsLMDB", "PostfixConfig"]),
        .executableTarget(name: "postmap", dependencies: ["MapTools"]),
        .executableTarget(name: "postalias", dependencies: ["MapTools"]),
        .executableTarget(name: "newaliases", dependencies: ["MapTools"]),

        .testTarget(name: "MapsTests", dependencies: ["Maps", "MapsBerkeleyDB", "MapsLMDB", "PostfixConfig", "MapTools"]),
        .testTarget(name: "CLITests", dependencies: ["Maps", "MapsBerkeleyDB", "MapsLMDB"]),
    ],
    swiftLanguageModes: [.v6]
)
