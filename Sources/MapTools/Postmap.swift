import Maps
import PostfixConfig
#if canImport(Glibc)
import Glibc
#endif

/// `postmap`: build, update, query, dump and delete from Postfix lookup tables.
public enum Postmap {
    static let usage = "usage: postmap [-bfFhimnNoprsuUvw] [-c config_dir] [-d key] [-q key] [map_type:]file..."

    /// Run postmap with `arguments` (argv[0] first); returns the exit status.
    public static func main(_ arguments: [String]) -> Int32 {
        let tool = Tool(argv0: arguments.first ?? "postmap")
        umask(0o022)
        var flags = DictFlags.commandLineDefault
        var configDir: String?
        var query: String?
        var deleteKey: String?
        var sequence = false
        var incremental = false
        var saveMode = true
        var asOwner = true
        var bodyKeys = false, headerKeys = false, mimeKeys = false, forceUTF8 = false
        if getenv("MAIL_VERBOSE") != nil { tool.verbose = 1 }

        let parsed: (options: [Getopt.Option], operands: [String])
        switch Getopt.parse(Array(arguments.dropFirst()), spec: "bc:d:fFhimnNopq:rsuUvw") {
        case .failure(let failure):
            writeStderr("\(tool.program): \(failure.message)")
            tool.fatal(usage)
        case .success(let result):
            parsed = result
        }
        for option in parsed.options {
            switch option.letter {
            case "N": flags.insert(.tryWithNul); flags.remove(.tryWithoutNul)
            case "n": flags.insert(.tryWithoutNul); flags.remove(.tryWithNul)
            case "b": bodyKeys = true
            case "c": configDir = option.argument
            case "d":
                if sequence || query != nil || deleteKey != nil { tool.fatal("specify only one of -s -q or -d") }
                deleteKey = option.argument
            case "f": flags.remove(.foldFixed)
            case "F": flags.insert(.sourceValueIsFile)
            case "h": headerKeys = true
            case "i": incremental = true
            case "m": mimeKeys = true
            case "o": asOwner = false
            case "p": saveMode = false
            case "q":
                if sequence || query != nil || deleteKey != nil { tool.fatal("specify only one of -s -q or -d") }
                query = option.argument
            case "r": flags.setDuplicatePolicy(.replace)
            case "s":
                if query != nil || deleteKey != nil { tool.fatal("specify only one of -s or -q or -d") }
                sequence = true
            case "u": flags.remove(.utf8Request)
            case "U": forceUTF8 = true
            case "v": tool.verbose += 1
            case "w": flags.setDuplicatePolicy(.ignore)
            default: tool.fatal(usage)
            }
        }
        let config = tool.loadConfig(directory: configDir)
        let settings = tool.settings(from: config)
        let defaultType = config.value("default_database_type") ?? "hash"
        let anyKeyMode = bodyKeys || headerKeys || mimeKeys
        if anyKeyMode, query != "-" { tool.fatal("specify -b -h or -m only with \"-q -\"") }
        if mimeKeys, !bodyKeys, !headerKeys { tool.warning("ignoring -m option without -b or -h") }
        if (bodyKeys || headerKeys), !forceUTF8 { flags.remove(.utf8Request) }
        if bodyKeys || headerKeys {
            tool.fatal("header and body query modes (-b, -h) are not supported for these table types yet")
        }
        if flags.contains(.sourceValueIsFile) {
            tool.fatal("-F (values are file names) is not supported yet")
        }

        let specs = parsed.operands.map { MapSpec(parsing: $0, defaultType: defaultType) }
        let lookupFlags = flags.union(.lock)

        if let deleteKey {
            guard !specs.isEmpty else { tool.fatal(usage) }
            if deleteKey == "-" { return tool.deleteStream(specs: specs, flags: lookupFlags, settings: settings) }
            return tool.deleteSingle(Array(deleteKey.utf8), specs: specs, flags: lookupFlags, settings: settings)
        }
        if let query {
            guard !specs.isEmpty else { tool.fatal(usage) }
            if query == "-" {
                return tool.queryStream(specs: specs, flags: lookupFlags, settings: settings, separator: [0x09])
            }
            return tool.querySingle(Array(query.utf8), specs: specs, flags: lookupFlags, settings: settings)
        }
        if sequence {
            guard let first = specs.first else { return 1 }
            tool.sequence(first, flags: lookupFlags, settings: settings, separator: [0x09])
            return 0
        }
        guard !specs.isEmpty else { tool.fatal(usage) }
        for spec in specs {
            let source = incremental ? tool.standardInputSource() : tool.openSource(spec.name)
            tool.adoptSourceIdentity(source.status, saveMode: saveMode, asOwner: asOwner)
            let utf8Active = settings.utf8Enabled && flags.contains(.utf8Request)
            let parse = { (lines: LogicalLineReader, store: StoreRecord) throws(MapError) in
                try storeRecords(lines, store: store, utf8Active: utf8Active, tool: tool)
            }
            if incremental {
                tool.incrementalUpdate(spec, source: source, flags: flags, settings: settings, parse: parse)
            } else {
                tool.bulkBuild(spec, source: source, flags: flags, settings: settings, parse: parse)
                close(source.reader.fd)
            }
        }
        return 0
    }

    /// Postmap's source format: one `key whitespace value` record per logical line.
    static func storeRecords(_ lines: LogicalLineReader, store: StoreRecord, utf8Active: Bool, tool: Tool) throws(MapError) {
        let path = lines.path
        while let line = lines.next() {
            let text = KeyCodec.cString(line.text)
            if utf8Active, !CaseFolding.isASCII(text), !CaseFolding.isValidUTF8(text) {
                tool.warning("\(path), line \(line.lineNumber): non-UTF-8 input \"\(ByteText.string(text))\" -- ignoring this line")
                continue
            }
            switch SourceRecord.split(text) {
            case .failure(.unbalancedQuote):
                tool.warning("\(path), line \(line.lineNumber): unbalanced '\"' in '\(ByteText.string(text))' -- ignoring this line")
            case .failure(.expectedKeyValue):
                tool.warning("\(path), line \(line.lineNumber): expected format: key whitespace value")
            case .success(let record):
                if record.key.last == 0x3A {
                    tool.warning("\(path), line \(line.lineNumber): record is in \"key: value\" format; is this an alias file?")
                }
                try store(record.key, record.value, .standard)
            }
        }
    }
}
