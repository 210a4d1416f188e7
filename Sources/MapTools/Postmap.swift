import ToolSupport
import PostfixText
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
        return tool.run { () throws(Fatal) in try run(arguments, tool: tool) }
    }

    static func run(_ arguments: [String], tool: Tool) throws(Fatal) -> Int32 {
        umask(0o022)
        var line = try MapCommandLine.parse(Array(arguments.dropFirst()), spec: MapCommands.postmap.getopt, usage: usage, tool: tool)
        if line.version { return ToolVersion.write(program: "postmap") }
        var config = try tool.loadConfig(directory: line.configDirectory)
        let settings = try tool.settings(from: config)
        let defaultType = config.value("default_database_type") ?? "hash"
        var limits = MessageKeys.Limits()
        // postmap defines these three after the global parameters, in this order: until then a reference
        // to one of them expands to nothing.
        config.hideDefaults(["header_size_limit", "mime_nesting_limit", "mime_boundary_length_limit"])
        limits.headerSize = try tool.mailInt(&config, "header_size_limit", default: limits.headerSize, min: 1)
        limits.nestingDepth = try tool.mailInt(&config, "mime_nesting_limit", default: limits.nestingDepth, min: 1)
        limits.boundaryLength = try tool.mailInt(&config, "mime_boundary_length_limit", default: limits.boundaryLength, min: 1)
        let bodyKeys = line.extra.contains("b"), headerKeys = line.extra.contains("h"), mimeKeys = line.extra.contains("m")
        if bodyKeys || headerKeys || mimeKeys, line.query != "-" { throw Fatal("specify -b -h or -m only with \"-q -\"") }
        if mimeKeys, !bodyKeys, !headerKeys { tool.warning("ignoring -m option without -b or -h") }
        if bodyKeys || headerKeys, !line.extra.contains("U") { line.flags.remove(.utf8Request) }

        let specs = line.operands.map { MapSpec(parsing: $0, defaultType: defaultType) }
        if bodyKeys || headerKeys {
            // -b and -h come only with "-q -" (checked above): the message on stdin gives the keys.
            guard !specs.isEmpty else { throw Fatal(usage) }
            let mode = MessageKeys.Mode(headers: headerKeys, body: bodyKeys, mime: mimeKeys)
            return try tool.queryStream(specs: specs, flags: line.flags.union(.lock), settings: settings, separator: [0x09],
                                    message: MessageKeys(mode: mode, limits: limits))
        }
        if let status = try tool.runLookupMode(line, specs: specs, settings: settings, usage: usage, separator: [0x09]) {
            return status
        }
        let utf8Active = settings.utf8Enabled && line.flags.contains(.utf8Request)
        for spec in specs {
            if !line.incremental, spec.type == "proxy" { throw Fatal("can't create maps via the proxy service") }
            let source = line.incremental ? try tool.standardInputSource() : try tool.openSource(spec.name)
            try tool.adoptSourceIdentity(source.status, saveMode: line.saveMode, asOwner: line.asOwner)
            let parse = { (lines: LogicalLineReader, store: StoreRecord) throws(MapError) in
                try storeRecords(lines, store: store, utf8Active: utf8Active,
                                 fileValues: line.flags.contains(.sourceValueIsFile), tool: tool)
            }
            if line.incremental {
                try tool.incrementalUpdate(spec, source: source, flags: line.flags, settings: settings, parse: parse)
            } else {
                try tool.bulkBuild(spec, source: source, flags: line.flags, settings: settings, parse: parse)
                close(source.reader.fd)
            }
        }
        return 0
    }

    /// Postmap's source format: one `key whitespace value` record per logical line. With `fileValues`
    /// (`-F`) each value names files, and their contents are stored base64-encoded.
    static func storeRecords(_ lines: LogicalLineReader, store: StoreRecord, utf8Active: Bool, fileValues: Bool = false,
                             tool: Tool) throws(MapError) {
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
                var value = record.value
                if fileValues {
                    switch ValueFiles.encodedContents(of: value) {
                    case .failure(let failure):
                        tool.warning("\(path), line \(line.lineNumber): \(failure.message): skipping this entry")
                        continue
                    case .success(let encoded):
                        value = encoded
                    }
                }
                try store(record.key, value, .standard)
            }
        }
    }
}
