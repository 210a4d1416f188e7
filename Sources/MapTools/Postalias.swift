import ToolSupport
import PostfixText
import Maps
import PostfixConfig
#if canImport(Glibc)
import Glibc
#endif

/// `postalias`: build, update, query, dump and delete from Postfix alias databases.
public enum Postalias {
    static let usage = "usage: postalias [-Nfinoprsuvw] [-c config_dir] [-d key] [-q key] [map_type:]file..."

    /// Run postalias with `arguments` (argv[0] first); returns the exit status.
    public static func main(_ arguments: [String]) -> Int32 {
        let tool = Tool(argv0: arguments.first ?? "postalias")
        return tool.run { () throws(Fatal) in try run(arguments, tool: tool) }
    }

    static func run(_ arguments: [String], tool: Tool) throws(Fatal) -> Int32 {
        umask(0o022)
        let line = try MapCommandLine.parse(Array(arguments.dropFirst()), spec: MapCommands.postalias.getopt, usage: usage, tool: tool)
        if line.version { return ToolVersion.write(program: "postalias") }
        let config = try tool.loadConfig(directory: line.configDirectory)
        let settings = try tool.settings(from: config)
        let defaultType = config.value("default_database_type") ?? "hash"
        let specs = line.operands.map { MapSpec(parsing: $0, defaultType: defaultType) }
        if let status = try tool.runLookupMode(line, specs: specs, settings: settings, usage: usage, separator: [0x3A, 0x09]) {
            return status
        }
        for spec in specs {
            try build(spec, tool: tool, config: config, settings: settings, flags: line.flags, incremental: line.incremental,
                  saveMode: line.saveMode, asOwner: line.asOwner)
        }
        return 0
    }

    /// Build or update one alias database from its source (or stdin with `-i`).
    static func build(_ spec: MapSpec, tool: Tool, config: MainConfig, settings: MapSettings, flags: DictFlags,
                      incremental: Bool, saveMode: Bool, asOwner: Bool) throws(Fatal) {
        if !incremental, spec.type == "proxy" { throw Fatal("can't create maps via the proxy service") }
        let source = incremental ? try tool.standardInputSource() : try tool.openSource(spec.name)
        try tool.adoptSourceIdentity(source.status, saveMode: saveMode, asOwner: asOwner)
        let utf8Active = settings.utf8Enabled && flags.contains(.utf8Request)
        let hostname = config.value("myhostname") ?? ""
        let parse = { (lines: LogicalLineReader, store: StoreRecord) throws(MapError) in
            try storeAliases(lines, store: store, utf8Active: utf8Active, tool: tool)
            // Sendmail's "database complete" marker and the NIS records, written as Postfix 3.7 on Linux
            // writes them: the NIS ones unfolded and without a trailing NUL. Updates replace them.
            let policy: DuplicatePolicy? = incremental ? .replace : nil
            try store(Array("@".utf8), Array("@".utf8), RecordOptions(duplicatePolicy: policy))
            var now = time(nil)
            if now < 0 { now = 0 }
            let stamp = String(now)
            let padded = String(repeating: "0", count: max(0, 10 - stamp.count)) + stamp
            let nis = RecordOptions(fold: false, trailingNul: false, duplicatePolicy: policy)
            try store(Array("YP_LAST_MODIFIED".utf8), Array(padded.utf8), nis)
            try store(Array("YP_MASTER_NAME".utf8), Array(hostname.utf8), nis)
        }
        if incremental {
            try tool.incrementalUpdate(spec, source: source, flags: flags, settings: settings, parse: parse)
        } else {
            try tool.bulkBuild(spec, source: source, flags: flags, settings: settings, parse: parse)
            close(source.reader.fd)
        }
    }

    /// The aliases(5) records of a source.
    static func storeAliases(_ lines: LogicalLineReader, store: StoreRecord, utf8Active: Bool, tool: Tool) throws(MapError) {
        let path = lines.path
        while let line = lines.next() {
            if utf8Active, !CaseFolding.isASCII(line.text), !CaseFolding.isValidUTF8(line.text) {
                tool.warning("\(path), line \(line.lineNumber): non-UTF-8 input \"\(ByteText.string(KeyCodec.cString(line.text)))\" -- ignoring this line")
                continue
            }
            switch AliasLineParser.parse(line.text) {
            case .failure(.needNameValuePair):
                tool.warning("\(path), line \(line.lineNumber): need name:value pair")
            case .failure(.nameMustBeLocal):
                tool.warning("\(path), line \(line.lineNumber): \(PostfixRelease.current.clients.aliasNameNotLocal)")
            case .success(let record):
                try store(record.key, record.value, .standard)
            }
        }
    }
}
