import ToolSupport

/// postmap-migrate's command line: the option table that completions are generated from. The tool
/// parses it with swift-argument-parser (`--help`, and long forms of each option).
public enum MigrateCommand {
    public static let spec = CommandSpec(name: "postmap-migrate", summary: "move Postfix off Berkeley DB tables",
                                         operands: .none, options: [
        CommandOption("c", .directory("config_dir"), "read main.cf and master.cf from config_dir"),
        CommandOption("n", .none, "dry run, print the plan and change nothing"),
        CommandOption("v", .none, "verbose, show each step"),
    ])
}
