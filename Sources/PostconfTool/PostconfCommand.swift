import ToolSupport
import PostfixText

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
        CommandOption("q", .none, "do not warn about unused or deprecated parameters (Postfix 3.9 and later)"),
        CommandOption("t", .none, "show the bounce templates as they are"),
        CommandOption("T", .words(["compile-version", "run-version", "public-key-algorithms"]), "show TLS library information"),
        CommandOption("v", .none, "verbose logging, repeat for more"),
        CommandOption("x", .none, "expand parameter references in values"),
        CommandOption("X", .none, "remove parameters, master.cf entries with -M or -o parameters with -P"),
        CommandOption("#", .none, "comment out parameters, or master.cf entries with -M"),
    ])

    /// The option letters that Postfix releases after 3.7 added, and the release that has them:
    /// `-q` came with 3.9 (3.7's postconf rejects it as an invalid option).
    static let introduced: [Character: PostfixRelease] = ["q": .v3_10]

    /// The options of `release`'s postconf: `spec` without the letters of later releases.
    public static func spec(for release: PostfixRelease) -> CommandSpec {
        CommandSpec(name: spec.name, summary: spec.summary, operands: spec.operands,
                    options: spec.options.filter { introduced[$0.letter].map { $0 <= release } ?? true })
    }
}
