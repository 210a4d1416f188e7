import MapTools
import PostconfTool
import MapMigration
import ToolSupport
import Maps
#if canImport(Glibc)
import Glibc
#endif

// Prints the tools' option tables and the catalog's table types as shell assignments, for
// scripts/gen-completions. Not installed: a build tool of this package.
//
// `completion-spec --catalog` prints the table catalog instead, one type per line, for scripts/gen-man
// (the maps(5) page): NAME<TAB>implemented|postfix-only<TAB>buildable|-<TAB>fixed|patterns<TAB>FILES<TAB>SUMMARY,
// FILES being none, in-name, indexed:SUFFIX, rules, client-config, members or service.
//
// `completion-spec --deb-depends` prints the Debian packages of the libraries the implemented types link
// or load (the catalog's `library` column), comma-separated, each with its alternatives for every Debian
// release (`libldap2 | libldap-2.5-0`), for scripts/make-deb's Depends.
if CommandLine.arguments.dropFirst().first == "--deb-depends" {
    print(MapCatalog.libraries.map(\.dependsEntry).joined(separator: ", "))
    exit(0)
}
if CommandLine.arguments.dropFirst().first == "--catalog" {
    for entry in MapCatalog.entries {
        let files: String
        switch entry.files {
        case .none: files = "none"
        case .inName: files = "in-name"
        case .indexed(let suffix): files = "indexed:\(suffix)"
        case .rules: files = "rules"
        case .clientConfig: files = "client-config"
        case .members: files = "members"
        case .service: files = "service"
        }
        print([entry.name, entry.isImplemented ? "implemented" : "postfix-only", entry.buildable ? "buildable" : "-",
               entry.keys == .fixed ? "fixed" : "patterns", files, entry.summary].joined(separator: "\t"))
    }
    exit(0)
}
let commands: [(CommandSpec, String)] = [
    (MapCommands.postmap, "MAP_TYPES"),
    (MapCommands.postalias, "POSTALIAS_MAP_TYPES"),
    (MapCommands.newaliases, "-"),
    (PostconfCommand.spec, "-"),
    (MigrateCommand.spec, "-"),
]
print("MAP_TYPES=\"\(MapCommands.postmapTypes.joined(separator: " "))\"")
print("POSTALIAS_MAP_TYPES=\"\(MapCommands.postaliasTypes.joined(separator: " "))\"")
print("COMMANDS_SPEC='")
for (spec, types) in commands {
    print("\(spec.name) \(spec.operands.rawValue) \(types) \(spec.summary)")
}
print("'")
print("OPTIONS_SPEC='")
for (spec, _) in commands {
    for line in spec.completionLines { print(line) }
}
print("'")
