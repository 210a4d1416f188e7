import Maps
import ToolSupport

/// The command lines of postmap, postalias and newaliases: parsed with these tables, and completed
/// from them.
public enum MapCommands {
    public static let postmap = CommandSpec(name: "postmap", summary: "Postfix lookup table management", operands: .maps, options: [
        CommandOption("b", .none, "enable message body query mode for keys read with -q -"),
        CommandOption("c", .directory("config_dir"), "read main.cf from config_dir instead of the default directory"),
        CommandOption("d", .key("key"), "remove one entry per map for key (- reads keys from stdin)"),
        CommandOption("f", .none, "do not fold lookup keys to lower case"),
        CommandOption("F", .none, "base64-decode values when querying or listing, base64-encode file contents when creating"),
        CommandOption("h", .none, "enable message header query mode for keys read with -q -"),
        CommandOption("i", .none, "incremental mode, read entries from stdin and keep the existing database"),
        CommandOption("m", .none, "enable MIME parsing with -b and -h"),
        CommandOption("N", .none, "include the terminating null character in keys and values"),
        CommandOption("n", .none, "do not include the terminating null character in keys and values"),
        CommandOption("o", .none, "do not release root privileges when the input file is not owned by root"),
        CommandOption("p", .none, "do not inherit the access permissions of the input file"),
        CommandOption("q", .key("key"), "look up key and print the first value found (- reads keys from stdin)"),
        CommandOption("r", .none, "when updating, replace existing entries without complaint"),
        CommandOption("s", .none, "list all database entries"),
        CommandOption("u", .none, "disable UTF-8 support"),
        CommandOption("U", .none, "force UTF-8 syntax checks with -b and -h"),
        CommandOption("v", .none, "verbose logging, repeat for more"),
        CommandOption("w", .none, "when updating, ignore existing entries without complaint"),
    ])

    public static let postalias = CommandSpec(name: "postalias", summary: "Postfix alias database maintenance", operands: .maps, options: [
        CommandOption("N", .none, "include the terminating null character in keys and values"),
        CommandOption("c", .directory("config_dir"), "read main.cf from config_dir instead of the default directory"),
        CommandOption("d", .key("key"), "remove one entry per map for key (- reads keys from stdin)"),
        CommandOption("f", .none, "do not fold lookup keys to lower case"),
        CommandOption("i", .none, "incremental mode, read entries from stdin and keep the existing database"),
        CommandOption("n", .none, "do not include the terminating null character in keys and values"),
        CommandOption("o", .none, "do not release root privileges when the input file is not owned by root"),
        CommandOption("p", .none, "do not inherit the access permissions of the input file"),
        CommandOption("q", .key("key"), "look up key and print the first value found (- reads keys from stdin)"),
        CommandOption("r", .none, "when updating, replace existing entries without complaint"),
        CommandOption("s", .none, "list all database entries"),
        CommandOption("u", .none, "disable UTF-8 support"),
        CommandOption("v", .none, "verbose logging, repeat for more"),
        CommandOption("w", .none, "when updating, ignore existing entries without complaint"),
    ])

    public static let newaliases = CommandSpec(
        name: "newaliases", summary: "rebuild the alias databases named in alias_database", operands: .none, options: [
            CommandOption("c", .directory("config_dir"), "read main.cf from config_dir instead of the default directory"),
            // sendmail's -C: the same as -c here.
            CommandOption("C", .directory("config_dir"), "read main.cf from config_dir", hidden: true),
            CommandOption("v", .none, "verbose logging, repeat for more"),
        ])

    /// The table types postmap offers: every type this toolkit opens.
    public static var postmapTypes: [String] { MapCatalog.implementedNames }

    /// The table types postalias offers: the indexed files it builds.
    public static var postaliasTypes: [String] {
        MapCatalog.entries.filter { entry in
            guard entry.isImplemented, case .indexed = entry.files else { return false }
            return true
        }.map(\.name)
    }
}
