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
        if entry.library == .berkeleyDB, !run.berkeleyDBNoted {
            // Once per configuration: the note is the same for every such table.
            run.berkeleyDBNoted = true
            // Debian 12 and 13 both build Postfix with Berkeley DB (hash and btree are in postconf -m, and
            // Debian 13's stock alias_maps is hash:/etc/aliases): this is advice, not a failure.
            report(.warning, "\(spec): \(type) tables are Berkeley DB files; Debian 12 and 13 support them, but "
                + "some distributions build Postfix without Berkeley DB; consider lmdb:\(path) or cdb:\(path) (said once for all hash: and btree: tables; "
                + "postmap-migrate converts them)")
        }
        switch entry.files {
        case .members:
            if rest.first == 0x7B { walk(ConfigText.extractBraces(rest, strip: true).text) }
        case .indexed(let suffix):
            guard !rest.isEmpty else { return }
            let database = path + suffix
            var db = stat(), source = stat()
            guard stat(database, &db) == 0 else {
                if name == "alias_maps" || name == "alias_database" { checkAliasSource(path) }
                // A cache (TLS sessions, address verification, postscreen) is created by its daemon.
                if errno == ENOENT, isCache { return }
                report(.error, "\(spec): open database \(database): \(systemErrorText(errno))")
                return
            }
            if stat(path, &source) == 0, db.st_mtim.tv_sec < source.st_mtim.tv_sec {
                report(.warning, "\(spec): database \(database) is older than source file \(path)")
            }
            if name == "alias_maps" || name == "alias_database" { checkAliasSource(path) }
        case .rules:
            checkRules(type, path, spec: spec)
        case .clientConfig:
            let run = self.run, parameter = self.parameter
            let sink: ClientConfigCheck.Report = { severity, file, line, message, near in
                run.report(severity, file, line, parameter, message, suggestions: near)
            }
            // A table that a client table names (memcache's backup) is checked as any table, at the place
            // that names the client table.
            let checked = ClientConfigCheck.check(entry: entry, name: path, spec: spec, mainFile: run.mainFile,
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

    /// An aliases(5) source read with postalias's own parser: the lines postalias (and newaliases) would
    /// drop, with file and line.
    private func checkAliasSource(_ path: String) {
        guard run.checkedAliasSources.insert(path).inserted else { return }
        var st = stat()
        guard stat(path, &st) == 0, st.st_mode & S_IFMT == S_IFREG else { return }
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return }
        defer { close(fd) }
        let lines = LogicalLineReader(ByteReader(fd: fd, path: path), warning: { _ in })
        while let line = lines.next() {
            switch AliasLineParser.parse(line.text) {
            case .failure(.needNameValuePair):
                report(.warning, "\(path), line \(line.lineNumber): need name:value pair: postalias drops this line", file: path, line: line.lineNumber)
            case .failure(.nameMustBeLocal):
                report(.warning, "\(path), line \(line.lineNumber): name must be local: postalias drops this line", file: path, line: line.lineNumber)
            case .success:
                break
            }
        }
    }

    /// PCRE syntax in a `regexp:` table (POSIX extended regular expressions, glibc's regcomp): `\d` and
    /// the like match a letter, lazy quantifiers are not lazy. Each is a warning with file and line.
    private func checkPCRESyntax(_ path: String) {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return }
        defer { close(fd) }
        let reader = ByteReader(fd: fd, path: path)
        var number = 0
        while var line = reader.nextLine() {
            number += 1
            if line.last == 0x0A { line.removeLast() }
            var l = line[...].drop(while: { $0 == 0x20 || $0 == 0x09 })
            if l.starts(with: Array("if".utf8)) || l.starts(with: Array("endif".utf8)) {
                if l.starts(with: Array("endif".utf8)) { continue }
                l = l.dropFirst(2).drop(while: { $0 == 0x20 || $0 == 0x09 })
                if l.first == 0x21 { l = l.dropFirst() }
            }
            guard let delimiter = l.first, delimiter != 0x23, delimiter > 0x20 else { continue }
            // The pattern: up to the next unescaped delimiter.
            var pattern: [UInt8] = []
            var i = l.index(after: l.startIndex), escaped = false
            while i < l.endIndex {
                let c = l[i]
                if !escaped && c == delimiter { break }
                escaped = !escaped && c == 0x5C
                pattern.append(c)
                i = l.index(after: i)
            }
            for problem in Self.pcreOnly(pattern) {
                report(.warning, "regexp map \(path), line \(number): \(problem)", file: path, line: number)
            }
        }
    }

    /// What in a POSIX extended regular expression is PCRE syntax that does not mean what it says.
    static func pcreOnly(_ pattern: [UInt8]) -> [String] {
        var out: [String] = []
        var i = 0, inBracket = false
        let letters: [UInt8: String] = [
            0x64: "\\d matches the letter d, not a digit: use [0-9]",
            0x44: "\\D matches the letter D, not a non-digit: use [^0-9]",
            0x68: "\\h matches the letter h, not a blank: use [[:blank:]]",
            0x41: "\\A matches the letter A, not the start: use ^",
            0x7A: "\\z matches the letter z, not the end: use $",
            0x5A: "\\Z matches the letter Z, not the end: use $",
            0x4B: "\\K matches the letter K: there is no match reset in POSIX regular expressions",
            0x70: "\\p matches the letter p: there are no Unicode properties in POSIX regular expressions",
        ]
        while i < pattern.count {
            let c = pattern[i]
            if inBracket {
                if c == 0x5D { inBracket = false }
                i += 1
                continue
            }
            if c == 0x5C, i + 1 < pattern.count {
                if let text = letters[pattern[i + 1]], !out.contains(text) { out.append(text) }
                i += 2
                continue
            }
            if c == 0x5B {
                inBracket = true
                // A ] right after [ or [^ is a member.
                if i + 1 < pattern.count, pattern[i + 1] == 0x5E { i += 1 }
                if i + 1 < pattern.count, pattern[i + 1] == 0x5D { i += 1 }
                i += 1
                continue
            }
            if (c == 0x2A || c == 0x2B || c == 0x3F || c == 0x7D), i + 1 < pattern.count, pattern[i + 1] == 0x3F {
                let text = "\(Character(Unicode.Scalar(c)))? is not a lazy quantifier in POSIX regular expressions: it makes the repetition optional"
                if !out.contains(text) { out.append(text) }
                i += 2
                continue
            }
            i += 1
        }
        return out
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
        if type == "regexp", !inline { checkPCRESyntax(name) }
        for warning in collected.warnings {
            let rule = warning.hasPrefix("\(type) map ")
            if type == "texthash" && !warning.contains("logical line must not start with whitespace") { continue }
            report(rule ? .error : .warning, warning, file: inline ? nil : name)
        }
    }
}
