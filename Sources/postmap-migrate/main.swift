import ArgumentParser
import MapMigration
import PostconfTool
import PostfixText
import ToolSupport

/// `postmap-migrate [-nv] [-c config_dir]`: move a Postfix configuration off Berkeley DB tables.
struct PostmapMigrate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "postmap-migrate",
        abstract: "Replace every hash: and btree: table of a Postfix configuration with an lmdb: table.",
        discussion: """
            Finds the hash: and btree: tables in main.cf (and in the defaults in effect) and in master.cf -o \
            settings, including inside proxy:, unionmap:{...} and pipemap:{...}; builds lmdb: tables from their \
            source files (aliases with postalias), or copies a .db file record for record when there is no \
            source; then rewrites main.cf and master.cf with postconf's atomic edit and sets \
            default_database_type = lmdb. Tables are built before any setting changes and the .db files stay, \
            so a failure leaves a working configuration. Running it again changes nothing.
            """,
        version: ToolVersion.line(program: "postmap-migrate"),
        helpNames: [.long])

    @Option(name: [.customShort("c"), .customLong("config-dir")], help: "Read main.cf and master.cf from this directory (default: $MAIL_CONFIG, else /etc/postfix).")
    var configDirectory: String?

    @Flag(name: [.customShort("n"), .customLong("dry-run")], help: "Print the plan and change nothing.")
    var dryRun = false

    @Flag(name: [.customShort("v"), .customLong("verbose")], help: "Show each command.")
    var verbose = false

    func run() throws {
        // MapMigration reads and edits the configuration with postconf's code, passed in here.
        let status = Migrator(program: "postmap-migrate", directory: configDirectory, dryRun: dryRun, verbose: verbose,
                              configuration: { directory throws(Fatal) in
                                  try PostconfConfiguration(directory: directory, program: "postmap-migrate")
                              },
                              postconf: { Postconf.main($0) }).run()
        if status != 0 { throw ExitCode(status) }
    }
}

PostmapMigrate.main()
