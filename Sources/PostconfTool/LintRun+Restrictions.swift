import PostfixConfig
import PostfixText
import Maps
#if canImport(Glibc)
import Glibc
#endif

/// smtpd restriction lists: names, stages, arguments, access-table values, unreachable entries and the
/// relay check, in main.cf and in every master.cf `-o` override. Postfix's own texts where smtpd has one.
extension LintRun {
    /// The Postfix release the lint checks against (`PostfixRelease.current`).
    var release: PostfixRelease { PostfixRelease.current }

    /// The restrictions of that release (`SMTPDRestrictions.byName(for:)`).
    var restrictionTable: [String: SMTPDRestrictions.Restriction] { SMTPDRestrictions.byName(for: release) }

    /// `name`'s value in `scope` (master.cf `-o`, then main.cf, then the default), `$name` expanded;
    /// nil when it cannot be expanded (that is reported elsewhere).
    func effective(_ name: String, scope: MasterEntry?) -> [UInt8]? {
        let bytes = Array(name.utf8)
        defer { messages.clear() }
        guard let raw = try? session.lookup(bytes, mode: [], scope: scope) else { return nil }
        if let node = session.registry[bytes], node.flags.contains(.raw) { return raw }
        return try? session.expand(raw, mode: [], scope: scope)
    }

    /// Whether `name` is set explicitly in `scope` itself (a master.cf `-o`) or, without a scope, in main.cf.
    func isSet(_ name: String, scope: MasterEntry?) -> Bool {
        let bytes = Array(name.utf8)
        if let scope { return scope.parameters?[bytes] != nil }
        return session.mainTable[bytes] != nil
    }

    /// The file and line where `name` is set for `scope`.
    func place(_ name: String, scope: MasterEntry?) -> (file: String, line: Int?) {
        let bytes = Array(name.utf8)
        if let scope, scope.parameters?[bytes] != nil { return (masterPath, masterLines[ObjectIdentifier(scope)]) }
        return (mainPath, mainLines[bytes])
    }

    func boolean(_ name: String, scope: MasterEntry?) -> Bool {
        guard let v = effective(name, scope: scope) else { return false }
        return ConfigText.text(v).lowercased() == "yes"
    }

    static func words(_ value: [UInt8]) -> [String] {
        ConfigText.quotedTokens(value, ConfigText.isCommaOrBlank).map(ConfigText.text)
    }

    /// The master.cf services that run smtpd; none: main.cf alone.
    var smtpdScopes: [MasterEntry?] {
        let services = session.master.filter { entry in
            entry.argv.count > MasterEntry.commandField
                && ConfigText.text(entry.argv[MasterEntry.commandField]).split(separator: "/").last == "smtpd"
        }
        return services.isEmpty ? [nil] : services
    }

    /// The restriction classes of `scope` and their lists (case-sensitive names, as smtpd stores them).
    func restrictionClasses(scope: MasterEntry?) -> [String: [String]] {
        // smtpd's built-in class reject_sender_login_mismatch is in the restriction table.
        var classes: [String: [String]] = [:]
        guard let value = effective("smtpd_restriction_classes", scope: scope) else { return classes }
        for name in ConfigText.tokens(value, ConfigText.isCommaOrBlank).map(ConfigText.text) {
            classes[name] = effective(name, scope: scope).map(Self.words) ?? []
        }
        return classes
    }

    // MARK: the lists

    func checkRestrictions() {
        var scopes: [MasterEntry?] = [nil]
        scopes += session.master.filter { $0.parameters != nil }.map { Optional($0) }
        for scope in scopes {
            let classes = restrictionClasses(scope: scope)
            let delay = boolean("smtpd_delay_reject", scope: scope)
            let sasl = boolean("smtpd_sasl_auth_enable", scope: scope)
            if isSet("smtpd_restriction_classes", scope: scope),
               let value = effective("smtpd_restriction_classes", scope: scope) {
                let (file, line) = place("smtpd_restriction_classes", scope: scope)
                for name in ConfigText.tokens(value, ConfigText.isCommaOrBlank).map(ConfigText.text) {
                    guard let definition = effective(name, scope: scope), !definition.isEmpty else {
                        add(.error, file, line, Array("smtpd_restriction_classes".utf8),
                            "restriction class `\(name)' needs a definition")
                        continue
                    }
                    let (cfile, cline) = place(name, scope: scope)
                    checkList(name, Self.words(definition), stage: nil, implicit: "check_recipient_access",
                              classes: classes, delay: true, sasl: sasl, file: cfile, line: cline)
                }
            }
            for list in SMTPDRestrictions.lists where isSet(list.name, scope: scope) {
                guard let value = effective(list.name, scope: scope) else { continue }
                let (file, line) = place(list.name, scope: scope)
                checkList(list.name, Self.words(value), stage: list.stage, implicit: list.implicit,
                          classes: classes, delay: delay, sasl: sasl, file: file, line: line)
            }
        }
        checkRelay()
    }

    /// One restriction list, as `generic_checks` walks it.
    // swiftlint:disable:next cyclomatic_complexity function_body_length function_parameter_count
    private func checkList(_ listName: String, _ words: [String], stage: SMTPDRestrictions.Stage?, implicit: String?,
                           classes: [String: [String]], delay: Bool, sasl: Bool, file: String, line: Int?) {
        let parameter = Array(listName.utf8)
        func report(_ severity: LintFinding.Severity, _ text: String, suggestions: [String] = []) {
            add(severity, file, line, parameter, text, suggestions: suggestions)
        }
        let relayList = listName == "smtpd_relay_restrictions" || listName == "smtpd_recipient_restrictions"
        var finalName: String?
        var warnIfReject = false
        var i = 0
        while i < words.count {
            let word = words[i]
            let lower = word.lowercased()
            if let final = finalName {
                var text = "restriction `\(word)' after `\(final)' is ignored"
                if relayList, final == "permit", words[i...].contains(where: { SMTPDRestrictions.relayRequired.contains($0.lowercased()) }) {
                    text += ": mail for any destination is accepted before the relay check"
                }
                report(.warning, text)
                return
            }
            i += 1
            if word.contains(":") {
                guard let implicit else {
                    let name = listName == "smtpd_data_restrictions" ? "Data command" : "End-of-data"
                    report(.error, "specify one of (check_client_access, check_reverse_client_hostname_access, "
                        + "check_helo_access, check_sender_access, check_recipient_access, check_etrn_access) "
                        + "before \(name) restriction \"\(word)\"")
                    continue
                }
                checkAccessValues(implicit, word, classes: classes, file: file, line: line, parameter: parameter)
                continue
            }
            if classes[word] != nil {
                warnIfReject = false
                continue
            }
            guard let restriction = restrictionTable[lower] else {
                var near = restrictionSuggestions(word, classes: classes)
                if session.mainTable[Array(word.utf8)] != nil {
                    near = []
                    report(.error, "unknown smtpd restriction: \"\(word)\" (main.cf defines \(word): list it in "
                        + "smtpd_restriction_classes to use it as a restriction class)")
                } else {
                    report(.error, "unknown smtpd restriction: \"\(word)\"", suggestions: near)
                }
                continue
            }
            if let deprecation = restriction.deprecation {
                // Removed in this release: smtpd answers 451 4.3.5 Server configuration error.
                report(restriction.isRemoved ? .error : .warning, "restriction \(lower): \(deprecation.note)")
            }
            if restriction.needsSASL && !sasl {
                report(.warning, "restriction `\(word)' ignored: no SASL support")
            }
            if let stage { checkStage(lower, restriction, list: listName, listStage: stage, delay: delay, report: report) }
            switch restriction.argument {
            case .none:
                break
            case .table:
                if i < words.count, words[i].contains(":") {
                    checkAccessValues(lower, words[i], classes: classes, file: file, line: line, parameter: parameter)
                    i += 1
                } else {
                    let argument = i < words.count ? words[i] : word
                    if i < words.count { i += 1 }
                    report(.error, "restriction \(lower): bad argument \"\(argument)\": need maptype:mapname")
                }
            case .domain:
                if i >= words.count {
                    report(.warning, "restriction \(word) requires domain name argument")
                } else {
                    if restrictionTable[words[i].lowercased()] != nil {
                        report(.warning, "restriction \(word) takes \"\(words[i])\" as its DNS list domain")
                    }
                    i += 1
                }
            case .policy:
                if i < words.count, words[i].contains(":") {
                    i += 1
                } else {
                    report(.error, "restriction check_policy_service must be followed by transport:server")
                }
            case .number:
                if i < words.count, !words[i].isEmpty, words[i].allSatisfy({ $0.isASCII && $0.isNumber }) {
                    i += 1
                } else {
                    report(.error, "restriction sleep must be followed by number")
                    // smtpd stops at the error; a word meant as the number is not a restriction of its own.
                    if i < words.count, restrictionTable[words[i].lowercased()] == nil, classes[words[i]] == nil { i += 1 }
                }
            }
            if restriction.final && (lower == "permit" || !warnIfReject) { finalName = lower }
            warnIfReject = lower == "warn_if_reject"
        }
    }

    /// Restrictions that test what a list's stage does not know yet.
    private func checkStage(_ name: String, _ restriction: SMTPDRestrictions.Restriction, list: String,
                            listStage: SMTPDRestrictions.Stage, delay: Bool,
                            report: (LintFinding.Severity, String, [String]) -> Void) {
        guard !restriction.hasEffect(in: listStage, delayReject: delay) else { return }
        let needs = restriction.stage
        if needs == .etrn {
            report(.warning, "restriction \(name) has no effect in \(list): it applies only to ETRN "
                + "(smtpd_etrn_restrictions)", [])
        } else if listStage == .etrn {
            report(.warning, "restriction \(name) has no effect in \(list): ETRN has no \(needs == .sender ? "sender" : "recipient") address", [])
        } else {
            report(.warning, "restriction \(name) has no effect in \(list) with smtpd_delay_reject = no: "
                + "\(needs.subject) is not known at that stage", [])
        }
    }

    /// Restriction names and classes near a misspelled one.
    private func restrictionSuggestions(_ word: String, classes: [String: [String]]) -> [String] {
        let bytes = Array(word.lowercased().utf8)
        let limit = bytes.count >= 12 ? 3 : (bytes.count >= 5 ? 2 : 1)
        var scored: [(Int, String)] = []
        for name in Array(restrictionTable.keys) + Array(classes.keys) {
            let candidate = Array(name.utf8)
            guard abs(candidate.count - bytes.count) <= limit else { continue }
            let d = Self.distance(bytes, candidate, limit: limit)
            if d <= limit { scored.append((d, name)) }
        }
        scored.sort { $0.0 != $1.0 ? $0.0 < $1.0 : $0.1 < $1.1 }
        return scored.prefix(3).map(\.1)
    }

    // MARK: access tables

    /// The entries of an access table, where its type can be listed: the source file of an indexed or
    /// texthash table (with postmap's parser, so each entry has its file and line), or the records of an
    /// in-memory table (`inline:`) through the table itself. Nil when the entries cannot be read here.
    func tableEntries(_ token: String) -> [(key: String, value: String, file: String?, line: Int?)]? {
        var spec = token
        if spec.hasPrefix("{") {
            let inner = ConfigText.extractBraces(Array(spec.utf8), strip: true).text
            guard let first = ConfigText.quotedTokens(inner, ConfigText.isCommaOrBlank).first else { return nil }
            spec = ConfigText.text(first)
        }
        while spec.hasPrefix("proxy:") { spec = String(spec.dropFirst(6)) }
        guard let colon = spec.firstIndex(of: ":") else { return nil }
        let type = String(spec[..<colon]), name = String(spec[spec.index(after: colon)...])
        if let cached = entryCache[spec] { return cached }
        var out: [(key: String, value: String, file: String?, line: Int?)]?
        guard let entry = MapCatalog.entry(named: type) else { return nil }
        switch entry.files {
        case .indexed where !name.isEmpty, .rules where type == "texthash" && name.hasPrefix("/"):
            out = SourceFileEntries.read(name)
        case .inName:
            if let table = try? TableReferences.registry.open(MapSpec(type: type, name: name), OpenRequest()) {
                var records: [(key: String, value: String, file: String?, line: Int?)] = []
                if (try? table.forEach({ k, v in records.append((ConfigText.text(k), ConfigText.text(v), nil, nil)) })) != nil {
                    out = records
                }
                table.close()
            }
        default:
            out = nil
        }
        entryCache[spec] = out
        return out
    }

    /// Values of an access table that smtpd cannot act on: it answers `451 4.3.5` when one matches.
    private func checkAccessValues(_ restriction: String, _ table: String, classes: [String: [String]],
                                   file: String, line: Int?, parameter: [UInt8]) {
        guard checkedAccessTables.insert(table).inserted, let entries = tableEntries(table) else { return }
        for e in entries {
            guard let problem = Self.accessValueProblem(e.value, classes: classes) else { continue }
            add(.error, e.file ?? file, e.file == nil ? line : e.line, parameter,
                "\(e.key) \(e.value): \(problem); smtpd answers 451 4.3.5 when this entry matches")
        }
    }

    /// Why smtpd cannot use an access(5) value, as `check_table_result` reads it; nil when it can.
    static func accessValueProblem(_ value: String, classes: [String: [String]]) -> String? {
        let first = value.prefix { $0 != " " && $0 != "\t" }
        let rest = value.dropFirst(first.count).drop { $0 == " " || $0 == "\t" }
        if SMTPDRestrictions.accessActions.contains(first.lowercased()) { return nil }
        if !value.isEmpty, value.allSatisfy({ $0.isASCII && $0.isNumber }) { return nil }
        if first.count == 3, !rest.isEmpty, first.first == "4" || first.first == "5",
           first.allSatisfy({ $0.isASCII && $0.isNumber }) { return nil }
        if value.contains(":") { return "an access table value must not name a lookup table" }
        let words = Self.words(Array(value.utf8))
        var i = 0
        while i < words.count {
            let word = words[i]
            i += 1
            if classes[word] != nil { continue }
            guard let r = SMTPDRestrictions.byName(for: PostfixRelease.current)[word.lowercased()] else {
                return "\"\(word)\" is neither an access(5) action nor a restriction or restriction class"
            }
            if r.argument != .none { i += 1 }
        }
        return nil
    }

    /// Whether a `check_*_access` table has an entry that answers OK (or RELAY, or a number).
    func canAnswerOK(_ table: String) -> (key: String, file: String?, line: Int?)? {
        guard let entries = tableEntries(table) else { return nil }
        for e in entries {
            let first = e.value.prefix { $0 != " " && $0 != "\t" }.lowercased()
            if first == "ok" || first == "relay" || (!e.value.isEmpty && e.value.allSatisfy({ $0.isASCII && $0.isNumber })) {
                return (e.key, e.file, e.line)
            }
        }
        return nil
    }

    // MARK: relay

    /// Postfix's `has_required`: a working relay check in the list or a class it names.
    private func hasRequired(_ words: [String], classes: [String: [String]], depth: Int = 0) -> Bool {
        guard depth < 100 else { return false }
        var i = 0
        while i < words.count {
            let w = words[i]
            if w.lowercased() == "warn_if_reject", i + 1 < words.count {
                i += 2
                continue
            }
            if w.lowercased() == "permit" { return false }
            if SMTPDRestrictions.relayRequired.contains(w.lowercased()) { return true }
            if let expansion = classes[w], hasRequired(expansion, classes: classes, depth: depth + 1) { return true }
            i += 1
        }
        return false
    }

    /// smtpd refuses to start without a relay check; a table that can answer OK before the check relays
    /// for whoever matches it.
    private func checkRelay() {
        for scope in smtpdScopes {
            let classes = restrictionClasses(scope: scope)
            let relay = effective("smtpd_relay_restrictions", scope: scope).map(Self.words) ?? []
            let rcpt = effective("smtpd_recipient_restrictions", scope: scope).map(Self.words) ?? []
            if !hasRequired(relay, classes: classes) && !hasRequired(rcpt, classes: classes) {
                let name = isSet("smtpd_relay_restrictions", scope: scope) || !isSet("smtpd_recipient_restrictions", scope: scope)
                    ? "smtpd_relay_restrictions" : "smtpd_recipient_restrictions"
                var (file, line) = place(name, scope: scope)
                if let scope, scope.parameters?[Array(name.utf8)] == nil,
                   isSet(name == "smtpd_relay_restrictions" ? "smtpd_recipient_restrictions" : "smtpd_relay_restrictions", scope: scope) {
                    (file, line) = (masterPath, masterLines[ObjectIdentifier(scope)])
                }
                add(.error, file, line, Array(name.utf8),
                    "in parameter smtpd_relay_restrictions or smtpd_recipient_restrictions, specify at least one "
                    + "working instance of: \(SMTPDRestrictions.relayRequiredText) (smtpd refuses to start; "
                    + "without it mail would be relayed for anyone)")
                continue
            }
            let lists = [("smtpd_relay_restrictions", relay), ("smtpd_recipient_restrictions", rcpt)]
            let checks = lists.flatMap { $0.1 }.map { $0.lowercased() }.filter { SMTPDRestrictions.relayRequired.contains($0) }
            if checks.allSatisfy({ $0 == "check_relay_domains" }),
               let holder = lists.first(where: { $0.1.contains { $0.lowercased() == "check_relay_domains" } }) {
                let (file, line) = place(holder.0, scope: scope)
                if restrictionTable["check_relay_domains"]?.isRemoved == true {
                    add(.error, file, line, Array(holder.0.utf8),
                        "check_relay_domains is the only relay check, and Postfix \(release) no longer implements it "
                        + "(every recipient gets 451 4.3.5 Server configuration error): use reject_unauth_destination")
                } else {
                    add(.warning, file, line, Array(holder.0.utf8),
                        "check_relay_domains is the only relay check, and Postfix will remove it: add reject_unauth_destination")
                }
            }
            for (name, words) in lists where isSet(name, scope: scope) || isSet(name, scope: nil) {
                guard let check = words.firstIndex(where: { SMTPDRestrictions.relayRequired.contains($0.lowercased()) })
                else { continue }
                var i = 0
                while i < check {
                    let w = words[i].lowercased()
                    var table: String?
                    if restrictionTable[w]?.argument == .table, i + 1 < check {
                        table = words[i + 1]
                        i += 1
                    } else if w.contains(":") {
                        table = words[i]
                    }
                    i += 1
                    guard let table, let hit = canAnswerOK(table) else { continue }
                    let (file, line) = place(name, scope: scope)
                    let at = hit.file.map { f in hit.line.map { "\(f), line \($0)" } ?? f } ?? table
                    add(.warning, file, line, Array(name.utf8),
                        "\(table) can answer OK (\"\(hit.key)\" in \(at)) before `\(words[check])': mail that "
                        + "matches is relayed to any destination")
                }
            }
        }
    }
}

/// A postmap source file's records with their lines, read with postmap's own parser (the logical line
/// reader and the `key whitespace value` split); lines postmap would skip are skipped.
enum SourceFileEntries {
    static func read(_ path: String) -> [(key: String, value: String, file: String?, line: Int?)]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        let lines = LogicalLineReader(ByteReader(fd: fd, path: path), warning: { _ in })
        var out: [(key: String, value: String, file: String?, line: Int?)] = []
        while let line = lines.next() {
            guard case .success(let record) = SourceRecord.split(line.text) else { continue }
            out.append((ConfigText.text(record.key), ConfigText.text(record.value), path, line.lineNumber))
        }
        return out
    }
}
