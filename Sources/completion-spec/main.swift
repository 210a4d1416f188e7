import MapTools
import PostconfTool
import MapMigration
import ToolSupport

// Prints the tools' option tables and the catalog's table types as shell assignments, for
// scripts/gen-completions. Not installed: a build tool of this package.
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
