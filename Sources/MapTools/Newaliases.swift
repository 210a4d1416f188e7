import ToolSupport
import PostfixText
import Maps
import PostfixConfig
#if canImport(Glibc)
import Glibc
#endif

/// `newaliases`: rebuild every indexed table named in `alias_database`, as `sendmail -bi` does.
public enum Newaliases {
    static let usage = "usage: newaliases [-v] [-c config_dir]"
    /// The types that have a file to rebuild: the indexed types this toolkit implements.
    static let rebuildable = Set(MapCatalog.names { $0.isIndexed && $0.isImplemented })

    /// Run newaliases with `arguments` (argv[0] first); returns the exit status.
    public static func main(_ arguments: [String]) -> Int32 {
        let tool = Tool(argv0: arguments.first ?? "newaliases")
        return tool.run { () throws(Fatal) in try run(arguments, tool: tool) }
    }

    static func run(_ arguments: [String], tool: Tool) throws(Fatal) -> Int32 {
        umask(0o022)
        var configDir: String?
        switch Getopt.parse(Array(arguments.dropFirst()), spec: MapCommands.newaliases.getopt) {
        case .failure(let failure):
            tool.messages.info(failure.message)
            throw Fatal(usage)
        case .success(let parsed):
            if parsed.version { return ToolVersion.write(program: "newaliases") }
            if !parsed.operands.isEmpty { throw Fatal(usage) }
            for option in parsed.options {
                switch option.letter {
                case "c", "C": configDir = option.argument
                case "v": tool.verbose += 1
                default: throw Fatal(usage)
                }
            }
        }
        let config = try tool.loadConfig(directory: configDir)
        let settings = try tool.settings(from: config)
        let defaultType = config.value("default_database_type") ?? "hash"
        let names = (config.value("alias_database") ?? "")
            .split(whereSeparator: { $0 == "," || $0 == " " || $0 == "\t" || $0 == "\n" })
            .map(String.init)
        for name in names {
            let spec = MapSpec(parsing: name, defaultType: defaultType)
            guard rebuildable.contains(spec.type) else {
                tool.warning("alias_database: skipping \(spec): not a \(rebuildable.sorted().joined(separator: ", ")) table")
                continue
            }
            tool.info("rebuilding \(spec)")
            try Postalias.build(spec, tool: tool, config: config, settings: settings, flags: .commandLineDefault,
                            incremental: false, saveMode: true, asOwner: true)
        }
        return 0
    }
}
