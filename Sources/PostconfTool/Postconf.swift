import ToolSupport
import PostfixConfig
import PostfixText
import Maps
#if canImport(Glibc)
import Glibc
#endif

/// `postconf`: print and edit Postfix configuration (main.cf and master.cf), as Postfix 3.7.11 does,
/// plus `--check` (a lint of main.cf and master.cf) and `--check --json`.
public enum Postconf {
    /// Run postconf with `arguments` (argv[0] first); returns the exit status.
    public static func main(_ arguments: [String]) -> Int32 {
        let program = arguments.first ?? "postconf"
        let messages = MessageWriter(program: program)
        let out = OutputBuffer()
        // --version where an option may stand (also before --check); Getopt says where that is.
        if versionRequested(Array(arguments.dropFirst())) { return ToolVersion.write(program: "postconf") }
        if arguments.dropFirst().contains("--check") {
            return Lint.main(Array(arguments.dropFirst()), program: program)
        }
        do {
            try run(arguments, messages: messages, out: out)
            out.flush()
            return 0
        } catch {
            switch error {
            case .fatal(let f):
                messages.fatal(f.message)
                return 1
            case .exit(let status):
                out.flush()
                return status
            }
        }
    }

    /// The command line with every byte kept (`CommandLine.arguments` replaces bytes that are not UTF-8).
    public static func rawArguments() -> [String] {
        CommandLineBytes.arguments()
    }

    /// How a run ends early.
    enum Stop: Error {
        case fatal(Fatal)
        case exit(Int32)
    }

    static var getoptSpec: String { PostconfCommand.spec(for: PostfixRelease.current).getopt }

    /// Whether the options, up to the first bad one, include `--version`. `--check` and `--json` stand
    /// where options do, so they are stepped over here.
    static func versionRequested(_ arguments: [String]) -> Bool {
        var parser = Getopt(arguments.filter { $0 != "--check" && $0 != "--json" }, spec: getoptSpec)
        while let step = parser.next() {
            switch step {
            case .version: return true
            case .failure: return false
            case .option: continue
            }
        }
        return false
    }

    /// The usage text (Postfix lists `-c` twice; the second is `-C`).
    static func usage(_ program: String) -> Fatal {
        Fatal("usage: \(program) [-a (server SASL types)] [-A (client SASL types)] [-b (bounce templates)] "
            + "[-c config_dir] [-c param_class] [-d (parameter defaults)] [-e (edit configuration)] "
            + "[-f (fold lines)] [-F (master.cf fields)] [-h (no names)] [-H (no values)] [-l (lock types)] "
            + "[-m (map types)] [-M (master.cf)] [-n (non-default parameters)] "
            + "[-o name=value (override parameter value)] [-p (main.cf, default)] [-P (master.cf parameters)] "
            + "[-t (bounce templates)] [-T compile-version|run-version|public-key-algorithms] [-v (verbose)] "
            + "[-x (expand parameter values)] [-X (exclude)] [-# (comment-out)] [name...]"
            + usageCheckText)
    }

    /// What our usage adds to Postfix's: the lint.
    static let usageCheckText = " | \(checkUsage)"

    /// `--check`'s own synopsis.
    static let checkUsage = "--check [--json] [-c config_dir] (lint main.cf, master.cf and the tables they name)"

    // swiftlint:disable:next cyclomatic_complexity function_body_length
    static func run(_ arguments: [String], messages: MessageWriter, out: OutputBuffer) throws(Stop) {
        let program = arguments.first ?? "postconf"
        var mode: PostconfMode = []
        var classes: ParameterRegistry.Flags = .classes
        var overrides: [String] = []
        var configOverride: String?
        var templates: [String]?
        var tlsMode: String?
        var verbose = 0
        var quiet = false

        var parser = Getopt(Array(arguments.dropFirst()), spec: getoptSpec)
        while let step = parser.next() {
            let option: Character, argument: String?
            switch step {
            case .failure(let text):
                messages.info(text)
                throw .fatal(usage(program))
            case .version:
                // handled by main before the run
                throw .exit(ToolVersion.write(program: "postconf"))
            case .option(let o, let a):
                option = o
                argument = a
            }
            switch option {
            case "a": mode.insert(.saslServer)
            case "A": mode.insert(.saslClient)
            case "b", "t":
                mode.insert(option == "b" ? .expandTemplates : .dumpTemplates)
                if templates != nil { throw .fatal(Fatal("specify one of -b and -t")) }
                templates = ["bounce", option == "b" ? "-SVnexpand_templates" : "-SVndump_templates"]
            case "c":
                configOverride = argument
                setenv("MAIL_CONFIG", argument ?? "", 1)
            case "C":
                classes = try parseClasses(argument ?? "")
            case "d": mode.insert(.showDefaults)
            case "e": mode.insert(.edit)
            case "f": mode.insert(.fold)
            case "F": mode.insert(.masterField)
            case "#": mode.insert(.commentOut)
            case "h": mode.insert(.hideName)
            case "H": mode.insert(.hideValue)
            case "l": mode.insert(.showLocks)
            case "m": mode.insert(.showMaps)
            case "M": mode.insert(.masterEntry)
            case "n": mode.insert(.showNondefault)
            case "o":
                mode.insert(.override)
                overrides.append(argument ?? "")
            case "p": mode.insert(.mainParameter)
            case "P": mode.insert(.masterParameter)
            case "q": quiet = true
            case "T":
                if mode.contains(.showTLS) { throw .fatal(Fatal("At most one -T <mode> option may be specified")) }
                mode.insert(.showTLS)
                tlsMode = argument
            case "x": mode.insert(.expand)
            case "X": mode.insert(.exclude)
            case "v": verbose += 1
            default: throw .fatal(usage(program))
            }
        }
        let operands = parser.operands
        if configOverride == nil, let env = getenv("MAIL_CONFIG") { configOverride = String(cString: env) }

        if mode.intersection(PostconfMode.majorModes).isEmpty { mode.insert(.mainParameter) }
        if !mode.intersection(PostconfMode.master.union(.mainParameter)).isEmpty, operands.first?.contains("=") == true {
            mode.insert(.edit)
        }
        if let conflict = mode.conflict { throw .fatal(Fatal(conflict)) }
        if mode.contains(.edit), operands.isEmpty { throw .fatal(Fatal("-e requires name=value argument")) }

        let session = PostconfSession(mode: mode, messages: messages, out: out, configOverride: configOverride,
                                      processName: ConfigText.basename(Array(text: program)),
                                      processID: getpid())
        session.verbose = verbose > 0
        session.warnUnusedDeprecated = !quiet
        do {
            if var templates {
                if operands.count > 1 {
                    throw Fatal("options -b and -t require at most one template file")
                }
                if let file = operands.first { templates += ["-o", "bounce_template_file=" + file] }
                templates += ["-o", "queue_directory=."]
                try session.readParameters()
                let directory = try session.mainLookupEval("daemon_directory")
                    ?? BuiltinParameters.lookup(Array(text: "daemon_directory"))?.defaultValue ?? []
                let path = ConfigText.text(directory) + "/bounce"
                exec(path, templates)
                throw Fatal("execv \(path): \(systemErrorText(errno))")
            }
            if mode.contains(.showMaps) {
                try session.readParameters()
                for name in MapCatalog.implementedNames { out.write(name + "\n") }
            } else if mode.contains(.showLocks) {
                out.write("flock\nfcntl\ndotlock\n")
            } else if !mode.intersection(PostconfMode.master).isEmpty, mode.intersection(PostconfMode.edits).isEmpty {
                try session.readMaster(failOnOpenError: true)
                try session.readParameters()
                try session.setParameters(overrides)
                session.registerBuiltinParameters()
                session.registerServiceParameters()
                try session.registerUserParameters()
                if mode.contains(.masterField) {
                    try session.showMasterFields(operands)
                } else if mode.contains(.masterParameter) {
                    try session.showMasterParameters(operands)
                } else {
                    try session.showMasterEntries(operands)
                }
                session.flagUnusedMasterParameters()
            } else if mode.contains(.saslServer) {
                out.write("cyrus\ndovecot\n")
            } else if mode.contains(.saslClient) {
                out.write("cyrus\n")
            } else if mode.contains(.showTLS) {
                guard let lines = TLSInfo.lines(tlsMode ?? "") else {
                    messages.warning("unknown 'postconf -T' mode: \(tlsMode ?? "")")
                    throw Stop.exit(1)
                }
                for line in lines { out.write(line + "\n") }
            } else if !mode.intersection(PostconfMode.edits).isEmpty {
                if operands.isEmpty { throw Fatal("missing service argument") }
                if !mode.intersection(PostconfMode.master).isEmpty {
                    try session.editMaster(operands)
                } else {
                    try session.editMain(operands)
                }
            } else {
                if !mode.contains(.showDefaults) {
                    try session.readParameters()
                    try session.setParameters(overrides)
                }
                session.registerBuiltinParameters()
                try session.readMaster(failOnOpenError: false)
                session.registerServiceParameters()
                if !mode.contains(.showDefaults) { try session.registerUserParameters() }
                try session.showParameters(classes: classes, names: operands)
                if !mode.contains(.showDefaults) {
                    session.flagUnusedMainParameters()
                    session.flagUnusedMasterParameters()
                }
            }
        } catch let error as Fatal {
            throw .fatal(error)
        } catch let stop as Stop {
            throw stop
        } catch {
            throw .fatal(Fatal("\(error)"))
        }
    }

    /// `-C builtin,service,user,all` (case-insensitive).
    static func parseClasses(_ text: String) throws(Stop) -> ParameterRegistry.Flags {
        var classes: ParameterRegistry.Flags = []
        for word in ConfigText.tokens(Array(text: text), ConfigText.isCommaOrBlank) {
            switch ConfigText.text(word).lowercased() {
            case "builtin": classes.insert(.builtin)
            case "service": classes.insert(.service)
            case "user": classes.insert(.user)
            case "all": classes.formUnion(.classes)
            default:
                throw .fatal(Fatal("unknown -C option value \"\(ConfigText.text(word))\" in \"\(text)\""))
            }
        }
        return classes
    }

    /// `execv`; returns only on failure.
    private static func exec(_ path: String, _ args: [String]) {
        var cargs: [UnsafeMutablePointer<CChar>?] = args.map { strdup($0) }
        cargs.append(nil)
        execv(path, &cargs)
        for p in cargs { free(p) }
    }
}
