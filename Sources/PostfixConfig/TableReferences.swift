import Maps
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

    /// Every table type Postfix 3.7 can have (Debian's `postconf -m` and the types of other builds).
    static let postfixTypes: Set<String> = [
        "btree", "cdb", "cidr", "dbm", "environ", "fail", "hash", "inline", "internal", "ldap", "lmdb",
        "memcache", "mysql", "netinfo", "nis", "nisplus", "pcre", "pgsql", "pipemap", "proxy", "randmap",
        "regexp", "sdbm", "socketmap", "sqlite", "static", "tcp", "texthash", "unionmap", "unix",
    ]
    private static let indexed: [String: String] = ["hash": ".db", "btree": ".db", "lmdb": ".lmdb", "cdb": ".cdb"]
    private static let ruleFiles: Set<String> = ["regexp", "pcre", "cidr", "texthash"]
    private static let clientFiles: Set<String> = ["ldap", "mysql", "pgsql", "sqlite", "memcache"]

    private var name: String { ConfigText.text(parameter) }

    /// Parameters whose `word:...` values name services, not tables.
    private var namesServices: Bool {
        name.hasSuffix("_milters") || name.hasSuffix("_milter") || name == "content_filter"
            || name.hasSuffix("_transport") || name.hasSuffix("relayhost") || name.hasSuffix("_sasl_path")
            || name.hasSuffix("_service") || name.hasSuffix("_server")
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
            guard Self.postfixTypes.contains(type) else {
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
        guard run.checkedTables.insert(type + ":" + ConfigText.text(rest)).inserted else { return }
        if !SupportedMapTypes.names.contains(type) {
            report(.warning, "\(spec): table type \(type) is not supported by this toolkit")
        }
        if type == "unionmap" || type == "pipemap" {
            if rest.first == 0x7B { walk(ConfigText.extractBraces(rest, strip: true).text) }
            return
        }
        let path = ConfigText.text(rest)
        if type == "hash" || type == "btree" {
            report(.warning, "\(spec): \(type) tables are Berkeley DB files, which newer distributions no longer "
                + "support (Debian 13's Postfix drops them); consider lmdb:\(path) or cdb:\(path)")
        }
        if let suffix = Self.indexed[type] {
            guard !rest.isEmpty else { return }
            let database = path + suffix
            var db = stat(), source = stat()
            guard stat(database, &db) == 0 else {
                report(.error, "\(spec): open database \(database): \(systemErrorText(errno))")
                return
            }
            if stat(path, &source) == 0, db.st_mtim.tv_sec < source.st_mtim.tv_sec {
                report(.warning, "\(spec): database \(database) is older than source file \(path)")
            }
            return
        }
        if Self.ruleFiles.contains(type) {
            checkRules(type, rest, spec: spec)
            return
        }
        if type == "ldap" {
            let run = self.run, parameter = self.parameter
            let sink: (LintFinding.Severity, String, Int?, String, [String]) -> Void = { severity, file, line, message, near in
                run.report(severity, file, line, parameter, message, suggestions: near)
            }
            if TableParameters.isFileName(path) {
                LDAPClientCheck.checkFile(path, spec: spec, report: sink)
            } else {
                LDAPClientCheck.checkMain(path, spec: spec, main: run.mainFile, values: run.mainSettings(), report: sink)
            }
            return
        }
        if Self.clientFiles.contains(type), rest.first == 0x2F {
            var st = stat()
            if stat(path, &st) != 0 {
                report(.error, "\(spec): open \"\(type)\" configuration \"\(path)\": \(systemErrorText(errno))")
            }
        }
    }

    private func checkRules(_ type: String, _ rest: [UInt8], spec: String) {
        let name = ConfigText.text(rest)
        var lines: [LogicalLine] = []
        let reader: ByteReader
        var fd: Int32 = -1
        if rest.first == 0x7B {
            switch BraceText.inlineRules(name) {
            case .failure(let e):
                report(.error, "\(spec): \(e.message)")
                return
            case .success(let text):
                reader = ByteReader(bytes: text, path: name)
            }
        } else {
            fd = open(name, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else {
                report(.error, "\(spec): open \(name): \(systemErrorText(errno))")
                return
            }
            reader = ByteReader(fd: fd, path: name)
        }
        defer { if fd >= 0 { close(fd) } }
        var warnings: [String] = []
        let logical = LogicalLineReader(reader, warning: { warnings.append($0) })
        while let l = logical.next() { lines.append(l) }
        for w in warnings { report(.warning, w, file: name) }
        if type == "texthash" { return }
        for problem in RuleFileChecker.check(type: type, name: name, lines: lines) {
            report(.error, problem, file: fd >= 0 ? name : nil)
        }
    }
}
