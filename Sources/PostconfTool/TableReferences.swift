import ToolSupport
import PostfixConfig
import PostfixText
import Maps
import MapsPCRE2
#if canImport(Glibc)
import Glibc
#endif

/// Finds the `type:name` tables in a parameter value and checks each for `postconf --check`: the type
/// is known and supported here, the files exist, an indexed file is not older than its source, and
/// regexp/pcre/cidr rules compile. `hash:` and `btree:` are flagged as Berkeley DB.
struct TableReferences {
    let run: LintRun
    let file: String
    let line: Int?
    let parameter: [UInt8]

    /// The openers lint uses to read rule tables with the tables' own parsers: every built-in type and
    /// pcre (postconf links PCRE2, not the other backends).
    static let registry = MapRegistry(catalog: MapCatalog.entries, backends: [PCRE2Maps.pcre])

    private var name: String { ConfigText.text(parameter) }

    /// Parameters whose `word:...` values name services, not tables.
    private var namesServices: Bool {
        name.hasSuffix("_milters") || name.hasSuffix("_milter") || name == "content_filter"
            || name.hasSuffix("_transport") || name.hasSuffix("relayhost") || name.hasSuffix("_sasl_path")
            || name.hasSuffix("_service") || name.hasSuffix("_server")
    }

    /// Parameters that name a cache, which the daemon that uses it creates.
    private var isCache: Bool {
        name.hasSuffix("_cache_database") || name.hasSuffix("_cache_map") || name == "address_verify_map"
    }

    /// Parameters where every `x:y` word must be a table.
    private var tablesOnly: Bool {
        name.hasSuffix("_maps") || name.hasSuffix("_checks") || name == "alias_database"
    }

    func check(_ value: [UInt8]) {
        if namesServices { return }
        walk(value)
    }

    private func walk(_ value: [UInt8]) {
        var skipNext = false
        for token in ConfigText.quotedTokens(value, ConfigText.isCommaOrBlank) {
            if skipNext { skipNext = false; continue }
            let word = ConfigText.text(token)
            if word == "check_policy_service" { skipNext = true; continue }
            if token.first == 0x7B {
                walk(ConfigText.extractBraces(token, strip: true).text)
                continue
            }
            guard let colon = token.firstIndex(of: 0x3A) else { continue }
            var type = String(decoding: token[..<colon], as: UTF8.self)
            var rest = Array(token[(colon + 1)...])
            while type == "proxy", let c = rest.firstIndex(of: 0x3A) {
                type = String(decoding: rest[..<c], as: UTF8.self)
                rest = Array(rest[(c + 1)...])
            }
            guard MapCatalog.entry(named: type) != nil else {
                if tablesOnly, !type.isEmpty, type.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }) {
                    report(.error, "unsupported dictionary type: \(type)")
                }
                continue
            }
            table(type, rest, spec: word)
        }
    }

    private func report(_ severity: LintFinding.Severity, _ message: String, file other: String? = nil, line otherLine: Int? = nil) {
        run.report(severity, other ?? file, other == nil ? line : otherLine, parameter, message)
    }

    private func table(_ type: String, _ rest: [UInt8], spec: String) {
        guard run.checkedTables.insert(type + ":" + ConfigText.text(rest)).inserted,
              let entry = MapCatalog.entry(named: type) else { return }
        if !entry.isImplemented {
            report(.warning, "\(spec): table type \(type) is not supported by this toolkit")
        }
        let path = ConfigText.text(rest)
        if entry.library == .berkeleyDB {
            report(.warning, "\(spec): \(type) tables are Berkeley DB files, which newer distributions no longer "
                + "support (Debian 13's Postfix drops them); consider lmdb:\(path) or cdb:\(path)")
        }
        switch entry.files {
        case .members:
            if rest.first == 0x7B { walk(ConfigText.extractBraces(rest, strip: true).text) }
        case .indexed(let suffix):
            guard !rest.isEmpty else { return }
            let database = path + suffix
            var db = stat(), source = stat()
            guard stat(database, &db) == 0 else {
                // A cache (TLS sessions, address verification, postscreen) is created by its daemon.
                if errno == ENOENT, isCache { return }
                report(.error, "\(spec): open database \(database): \(systemErrorText(errno))")
                return
            }
            if stat(path, &source) == 0, db.st_mtim.tv_sec < source.st_mtim.tv_sec {
                report(.warning, "\(spec): database \(database) is older than source file \(path)")
            }
        case .rules:
            checkRules(type, path, spec: spec)
        case .clientConfig:
            let run = self.run, parameter = self.parameter
            let sink: ClientConfigCheck.Report = { severity, file, line, message, near in
                run.report(severity, file, line, parameter, message, suggestions: near)
            }
            // A table that a client table names (memcache's backup) is checked as any table, at the place
            // that names the client table.
            let checked = ClientConfigCheck.check(type: type, name: path, spec: spec, mainFile: run.mainFile,
                                                  mainValues: { run.mainSettings() }, report: sink,
                                                  atReference: { report(.error, $0) }, otherTable: { walk(Array($0.utf8)) })
            if !checked, rest.first == 0x2F {
                var st = stat()
                if stat(path, &st) != 0 {
                    report(.error, "\(spec): open \"\(type)\" configuration \"\(path)\": \(systemErrorText(errno))")
                }
            }
        case .none, .inName, .service:
            break
        }
    }

    /// Open a rule table (regexp, pcre, cidr, texthash) with its own loader, as Postfix's daemons would,
    /// and report what the loader warns about: a skipped or broken rule is an error (the table does not
    /// do what it says), the line reader's complaints are warnings.
    private func checkRules(_ type: String, _ name: String, spec: String) {
        final class Collected: @unchecked Sendable {
            // Proof: only this function's synchronous table open writes it, on this thread.
            var warnings: [String] = []
        }
        let collected = Collected()
        let diagnostics = Diagnostics(warning: { collected.warnings.append($0) }, error: { collected.warnings.append($0) },
                                      info: { _ in })
        let request = OpenRequest(mode: .readOnly, flags: .commandLineDefault, diagnostics: diagnostics)
        let inline = name.hasPrefix("{")
        do {
            let table = try Self.registry.open(MapSpec(type: type, name: name), request)
            table.close()
        } catch {
            report(.error, "\(spec): \(error.message)")
        }
        for warning in collected.warnings {
            let rule = warning.hasPrefix("\(type) map ")
            if type == "texthash" && !warning.contains("logical line must not start with whitespace") { continue }
            report(rule ? .error : .warning, warning, file: inline ? nil : name)
        }
    }
}
