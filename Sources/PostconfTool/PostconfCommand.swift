import ToolSupport

/// postconf's command line: parsed with this table, and completed from it.
public enum PostconfCommand {
    public static let spec = CommandSpec(name: "postconf", summary: "Postfix configuration utility", operands: .params, options: [
        CommandOption("a", .none, "show the SASL server plugin types"),
        CommandOption("A", .none, "show the SASL client plugin types"),
        CommandOption("b", .none, "show the bounce templates with parameters expanded"),
        CommandOption("c", .directory("config_dir"), "read main.cf and master.cf from config_dir"),
        CommandOption("C", .words(["builtin", "service", "user", "all"]), "show only parameters of these classes"),
        CommandOption("d", .none, "show default values instead of the settings in main.cf"),
        CommandOption("e", .none, "edit main.cf or master.cf with name=value arguments"),
        // Postfix accepts -E and ignores it.
        CommandOption("E", .none, "ignored", hidden: true),
        CommandOption("f", .none, "fold long output lines"),
        CommandOption("F", .none, "show master.cf fields as service/type/field = value"),
        CommandOption("h", .none, "show values without names"),
        CommandOption("H", .none, "show names without values"),
        CommandOption("l", .none, "show the mailbox locking methods"),
        CommandOption("m", .none, "show the supported lookup table types"),
        CommandOption("M", .none, "show master.cf entries"),
        CommandOption("n", .none, "show only parameters that main.cf sets"),
        CommandOption("o", .parameter("name"), "override a main.cf parameter for this command"),
        CommandOption("p", .none, "show main.cf parameters, the default"),
        CommandOption("P", .none, "show master.cf -o parameters as service/type/name = value"),
        CommandOption("t", .none, "show the bounce templates as they are"),
        CommandOption("T", .words(["compile-version", "run-version", "public-key-algorithms"]), "show TLS library information"),
        CommandOption("v", .none, "verbose logging, repeat for more"),
        CommandOption("x", .none, "expand parameter references in values"),
        CommandOption("X", .none, "remove parameters, master.cf entries with -M or -o parameters with -P"),
        CommandOption("#", .none, "comment out parameters, or master.cf entries with -M"),
    ])
}
