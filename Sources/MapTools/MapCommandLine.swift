import ToolSupport
import PostfixText
import Maps
#if canImport(Glibc)
import Glibc
#endif

/// The options postmap and postalias share, parsed with Postfix 3.7's rules and messages.
struct MapCommandLine {
    var flags = DictFlags.commandLineDefault
    var configDirectory: String?
    var query: String?
    var deleteKey: String?
    var sequence = false
    var incremental = false
    /// `-p` clears it: new tables copy the source's group/other read bits.
    var saveMode = true
    /// `-o` clears it: as root, act as the source file's owner.
    var asOwner = true
    /// Tool-specific flag letters that were given (postmap's `-b -F -h -m -U`).
    var extra: Set<Character> = []
    var operands: [String] = []
    /// `--version` was given: print the version and do nothing else.
    var version = false

    /// Parse `arguments` (without argv[0]) against `spec`; usage errors are fatal.
    static func parse(_ arguments: [String], spec: String, usage: String, tool: Tool) throws(Fatal) -> MapCommandLine {
        var line = MapCommandLine()
        if getenv("MAIL_VERBOSE") != nil { tool.verbose = 1 }
        let parsed: Getopt.Parsed
        switch Getopt.parse(arguments, spec: spec) {
        case .failure(let failure):
            tool.messages.info(failure.message)
            throw Fatal(usage)
        case .success(let result):
            parsed = result
        }
        if parsed.version {
            line.version = true
            return line
        }
        for option in parsed.options {
            switch option.letter {
            case "N": line.flags.insert(.tryWithNul); line.flags.remove(.tryWithoutNul)
            case "n": line.flags.insert(.tryWithoutNul); line.flags.remove(.tryWithNul)
            case "c": line.configDirectory = option.argument
            case "d":
                if line.sequence || line.query != nil || line.deleteKey != nil { throw Fatal("specify only one of -s -q or -d") }
                line.deleteKey = option.argument
            case "f": line.flags.remove(.foldFixed)
            case "F": line.flags.insert(.sourceValueIsFile); line.extra.insert("F")
            case "i": line.incremental = true
            case "o": line.asOwner = false
            case "p": line.saveMode = false
            case "q":
                if line.sequence || line.query != nil || line.deleteKey != nil { throw Fatal("specify only one of -s -q or -d") }
                line.query = option.argument
            case "r": line.flags.setDuplicatePolicy(.replace)
            case "s":
                if line.query != nil || line.deleteKey != nil { throw Fatal("specify only one of -s or -q or -d") }
                line.sequence = true
            case "u": line.flags.remove(.utf8Request)
            case "v": tool.verbose += 1
            case "w": line.flags.setDuplicatePolicy(.ignore)
            default: line.extra.insert(option.letter)
            }
        }
        line.operands = parsed.operands
        return line
    }
}

extension Tool {
    /// Run the `-d`, `-q` or `-s` mode the command line asks for. Returns the exit status, or `nil`
    /// when the command is a build.
    func runLookupMode(_ line: MapCommandLine, specs: [MapSpec], settings: MapSettings, usage: String,
                       separator: [UInt8]) throws(Fatal) -> Int32? {
        let lookupFlags = line.flags.union(.lock)
        if let deleteKey = line.deleteKey {
            guard !specs.isEmpty else { throw Fatal(usage) }
            if deleteKey == "-" { return try deleteStream(specs: specs, flags: lookupFlags, settings: settings) }
            return try deleteSingle(ByteText.bytes(of: deleteKey), specs: specs, flags: lookupFlags, settings: settings)
        }
        if let query = line.query {
            guard !specs.isEmpty else { throw Fatal(usage) }
            if query == "-" {
                return try queryStream(specs: specs, flags: lookupFlags, settings: settings, separator: separator)
            }
            return try querySingle(ByteText.bytes(of: query), specs: specs, flags: lookupFlags, settings: settings)
        }
        if line.sequence {
            guard let first = specs.first else { return 1 }
            if first.type == "proxy" { throw Fatal("can't sequence maps via the proxy service") }
            try sequence(first, flags: lookupFlags, settings: settings, separator: separator)
            return 0
        }
        guard !specs.isEmpty else { throw Fatal(usage) }
        return nil
    }
}
