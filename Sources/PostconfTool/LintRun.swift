import ToolSupport
import PostfixConfig
import PostfixText
import Maps
#if canImport(Glibc)
import Glibc
#endif

/// The state of one `postconf --check` run.
final class LintRun {
    let directoryOverride: String?
    let messages: MessageWriter
    let session: PostconfSession
    private(set) var findings: [LintFinding] = []
    /// main.cf names and the line of their last definition.
    private(set) var mainLines: [[UInt8]: Int] = [:]
    private(set) var masterLines: [ObjectIdentifier: Int] = [:]
    private var mainRead = false

    init(directory: String?, program: String) {
        directoryOverride = directory
        messages = MessageWriter(program: program, collect: true)
        session = PostconfSession(mode: [], messages: messages, out: OutputBuffer(capture: true),
                                  configOverride: directory, processName: Array(text: "postconf"),
                                  processID: getpid())
        session.lenientHostDefaults = true
        session.expansionStopsAtError = true
    }

    /// Table specs already checked (a table used by several parameters is reported once).
    var checkedTables: Set<String> = []
    /// Whether the Berkeley DB note was given: once per configuration, at the first hash: or btree: table.
    var berkeleyDBNoted = false
    /// The aliases(5) sources already read with postalias's parser.
    var checkedAliasSources: Set<String> = []
    /// Access tables whose values were checked.
    var checkedAccessTables: Set<String> = []
    /// Listed entries of tables, by `type:name` (nil: the type cannot be listed here).
    var entryCache: [String: [(key: String, value: String, file: String?, line: Int?)]?] = [:]

    var mainPath: String { session.mainPath }
    var masterPath: String { session.masterPath }

    /// Record a finding. The place is `file` and `line` only: a text that starts with Postfix's own
    /// `FILE, line N: ` or `FILE: ` prefix for the same place has it removed, so that each finding names
    /// its place once. The same finding twice (a table or list checked for several services) is kept once.
    func add(_ severity: LintFinding.Severity, _ file: String, _ line: Int?, _ parameter: [UInt8]?,
             _ message: String, suggestions: [String] = []) {
        var text = message
        var line = line
        // A table's own `TYPE map FILE, line N: ` (rule tables) or `TYPE:FILE: ` (client files) prefix.
        if let space = text.firstIndex(of: " "), text[space...].hasPrefix(" map \(file), line "),
           let comma = text.firstRange(of: ", line ") {
            let rest = text[comma.upperBound...]
            if let colon = rest.firstIndex(of: ":"), let n = Int(rest[..<colon]), line == nil || line == n {
                line = n
                text = String(rest[rest.index(after: colon)...].drop { $0 == " " })
            }
        } else if let colon = text.firstIndex(of: ":"), text[colon...].hasPrefix(":\(file): "),
                  text[..<colon].allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }) {
            text = String(text[colon...].dropFirst(file.count + 3))
        }
        if let line, text.hasPrefix("\(file), line \(line): ") {
            text = String(text.dropFirst("\(file), line \(line): ".count))
        } else if text.hasPrefix("\(file): ") {
            text = String(text.dropFirst(file.count + 2))
        }
        let finding = LintFinding(severity: severity, file: file, line: line,
                                  parameter: parameter.map(ConfigText.text), message: text,
                                  suggestions: suggestions)
        if findings.contains(where: { $0.file == file && $0.line == line && $0.message == text
            && $0.severity == severity }) { return }
        findings.append(finding)
    }

    /// Turn collected Postfix warnings into findings.
    private func drainMessages(_ file: String, line: Int? = nil, parameter: [UInt8]? = nil,
                               severity: LintFinding.Severity = .warning) {
        for text in messages.collected {
            let body = text.hasPrefix("warning: ") ? String(text.dropFirst(9)) : text
            // A missing database client file is reported as an error by the table check.
            if body.hasPrefix("open \""), body.contains("\" configuration \"") { continue }
            if let finding = clientFileFinding(body) {
                add(finding.severity, finding.file, finding.line, finding.parameter.map { Array($0.utf8) },
                    finding.message, suggestions: finding.suggestions)
                continue
            }
            var at = line
            let marker = Array(": undefined parameter: ".utf8), bytes = Array(body.utf8)
            if at == nil, let range = bytes.firstRange(of: marker) {
                let name = Array(bytes[range.upperBound...])
                at = lineReferring(to: String(decoding: name, as: UTF8.self))
                // A restriction class without a definition: the line that lists it.
                let classes = Array("smtpd_restriction_classes".utf8)
                if at == nil, let value = session.mainTable[classes],
                   ConfigText.tokens(value, ConfigText.isCommaOrBlank).contains(name) {
                    at = mainLines[classes]
                }
            }
            // 3.9's "#comment after other text": the line whose value holds the comment.
            let comment = Array("#comment after other text is not allowed: ".utf8)
            if at == nil, let range = bytes.firstRange(of: comment) {
                let token = Array(bytes[range.upperBound...].prefix { $0 != 0x20 })
                at = session.mainTable.entries.first { $0.1.firstRange(of: token) != nil }.flatMap { mainLines[$0.0] }
            }
            // The computed default of mynetworks failed: the place is the setting that made it fail.
            if at == nil, body.hasPrefix("cannot compute the default mynetworks") {
                at = ["inet_protocols", "inet_interfaces", "mynetworks_style"]
                    .first { body.contains($0) && mainLines[Array($0.utf8)] != nil }
                    .flatMap { mainLines[Array($0.utf8)] }
            }
            add(severity, file, at, parameter, body)
        }
        messages.clear()
    }

    /// Postfix's `TYPE:/file: unused parameter: name=value` about a database client file, as a finding
    /// in that file, at the line that sets the name, with the nearest names the type knows.
    private func clientFileFinding(_ body: String) -> LintFinding? {
        let bytes = Array(body.utf8)
        guard let marker = bytes.firstRange(of: Array(": unused parameter: ".utf8)),
              let colon = bytes[..<marker.lowerBound].firstIndex(of: 0x3A),
              bytes.count > colon + 1, bytes[colon + 1] == 0x2F else { return nil }
        let type = String(decoding: bytes[..<colon], as: UTF8.self)
        let path = String(decoding: bytes[(colon + 1)..<marker.lowerBound], as: UTF8.self)
        let rest = bytes[marker.upperBound...]
        let name = Array(rest[..<(rest.firstIndex(of: 0x3D) ?? rest.endIndex)])
        var line: Int?
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd >= 0 {
            defer { close(fd) }
            let reader = LogicalLineReader(ByteReader(fd: fd, path: path), warning: { _ in })
            while let l = reader.next() {
                if case .success(let (n, _)) = ConfigText.splitNameValue(ConfigText.cString(l.text)), n == name {
                    line = l.lineNumber
                }
            }
        }
        let near = (BuiltinParameters.clientParameterNames(type) ?? [])
            .filter { Self.distance(name, $0, limit: 2) <= 2 }
            .map(ConfigText.text)
        return LintFinding(severity: .warning, file: path, line: line, parameter: ConfigText.text(name),
                           message: body, suggestions: near)
    }

    /// The main.cf line of a value that refers to `$name`.
    private func lineReferring(to name: String) -> Int? {
        let forms = ["$" + name, "${" + name, "$(" + name].map { Array($0.utf8) }
        var best: Int?
        for (key, value) in session.mainTable.entries {
            guard let line = mainLines[key] else { continue }
            for form in forms where Self.contains(value, form) {
                let next = value.firstRange(of: form).map { $0.upperBound } ?? value.count
                if next < value.count, MacroExpander.isNameChar(value[next]) { continue }
                best = min(best ?? line, line)
            }
        }
        return best
    }

    private static func contains(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool {
        haystack.firstRange(of: needle) != nil
    }

    // MARK: the checks

    func check() {
        session.setConfigDirectory()
        readMain()
        readMaster()
        session.registerBuiltinParameters()
        session.registerServiceParameters()
        var namesReliable = true
        do {
            try session.registerUserParameters()
        } catch {
            drainMessages(mainPath)
            add(.error, mainPath, nil, nil, error.message)
            namesReliable = false
        }
        drainMessages(mainPath)
        if namesReliable { checkNames() }
        checkValues()
        checkLimits()
        checkRestrictions()
        checkMatchLists()
        checkCrossParameters()
        // Per file, in line order (files in the order they were first reported).
        var fileOrder: [String: Int] = [:]
        for f in findings where fileOrder[f.file] == nil { fileOrder[f.file] = fileOrder.count }
        findings = findings.enumerated().sorted { a, b in
            let fa = fileOrder[a.element.file] ?? 0, fb = fileOrder[b.element.file] ?? 0
            if fa != fb { return fa < fb }
            let la = a.element.line ?? 0, lb = b.element.line ?? 0
            if la != lb { return la < lb }
            return a.offset < b.offset
        }.map(\.element)
    }

    private func readMain() {
        let path = mainPath
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            add(.error, path, nil, nil, "open \(path): \(systemErrorText(errno))")
            return
        }
        defer { close(fd) }
        mainRead = true
        let reader = LogicalLineReader(ByteReader(fd: fd, path: path), warning: messages.warning)
        while let line = reader.next() {
            drainMessages(path)
            let text = ConfigText.cString(line.text)
            switch ConfigText.splitNameValue(text) {
            case .failure(let e):
                add(.error, path, line.lineNumber, nil,
                    "\(path), line \(line.lineNumber): \(e.text): \"\(ConfigText.text(text))\"")
            case .success(let (name, value)):
                if let old = session.mainTable[name], old != value {
                    add(.warning, path, line.lineNumber, name,
                        "\(path), line \(line.lineNumber): overriding earlier entry: \(ConfigText.text(name))=\(ConfigText.text(old))")
                }
                session.mainTable.set(name, value)
                mainLines[name] = line.lineNumber
            }
        }
        drainMessages(path)
    }

    private func readMaster() {
        let path = masterPath
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            add(.warning, path, nil, nil, "open \(path): \(systemErrorText(errno))")
            return
        }
        defer { close(fd) }
        let reader = LogicalLineReader(ByteReader(fd: fd, path: path), warning: messages.warning)
        while let line = reader.next() {
            drainMessages(path)
            do {
                let entry = try MasterEntry(line: ConfigText.cString(line.text), warn: messages.warning)
                session.addMasterEntry(entry)
                masterLines[ObjectIdentifier(entry)] = line.lineNumber
                drainMessages(path, line: line.lineNumber)
            } catch {
                drainMessages(path, line: line.lineNumber)
                switch error {
                case .fatal(let f): add(.error, path, line.lineNumber, nil, f.message)
                case .parse(let m): add(.error, path, line.lineNumber, nil, m)
                }
            }
        }
        drainMessages(path)
    }

    /// Unknown names (Postfix's "unused parameter"), with the nearest known names.
    private func checkNames() {
        for (name, value) in session.mainTable.entries where !session.registry.contains(name) {
            add(.warning, mainPath, mainLines[name], name,
                "\(mainPath): unused parameter: \(ConfigText.text(name))=\(ConfigText.text(value))",
                suggestions: suggestions(for: name))
        }
        for entry in session.master {
            guard let table = entry.parameters else { continue }
            for (name, value) in table.entries
            where !session.registry.contains(name) && !entry.validNames.contains(name) {
                add(.warning, masterPath, masterLines[ObjectIdentifier(entry)], name,
                    "\(masterPath): unused parameter: \(ConfigText.text(name))=\(ConfigText.text(value))",
                    suggestions: suggestions(for: name))
            }
        }
    }

    /// Known names within a small edit distance, nearest first.
    func suggestions(for name: [UInt8]) -> [String] {
        let limit = name.count >= 12 ? 3 : (name.count >= 5 ? 2 : 1)
        var scored: [(Int, [UInt8])] = []
        for candidate in session.registry.order {
            guard let node = session.registry[candidate], !node.flags.contains(.readOnly),
                  abs(candidate.count - name.count) <= limit else { continue }
            if node.source.isUser { continue }
            let d = Self.distance(name, candidate, limit: limit)
            if d <= limit { scored.append((d, candidate)) }
        }
        scored.sort { $0.0 != $1.0 ? $0.0 < $1.0 : $0.1.lexicographicallyPrecedes($1.1) }
        return scored.prefix(3).map { ConfigText.text($0.1) }
    }

    /// Optimal string alignment distance (adjacent transpositions count as one edit), capped.
    static func distance(_ a: [UInt8], _ b: [UInt8], limit: Int) -> Int {
        let n = a.count, m = b.count
        var previous2 = [Int](repeating: 0, count: m + 1)
        var previous = Array(0...m)
        var current = [Int](repeating: 0, count: m + 1)
        for i in 1...max(n, 1) where n > 0 {
            current[0] = i
            var rowMin = current[0]
            for j in 1...max(m, 1) where m > 0 {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                var v = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
                if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] { v = min(v, previous2[j - 2] + 1) }
                current[j] = v
                rowMin = min(rowMin, v)
            }
            if rowMin > limit { return limit + 1 }
            previous2 = previous
            previous = current
        }
        return n == 0 ? m : (m == 0 ? n : previous[m])
    }

    // MARK: values

    private func checkValues() {
        for (name, value) in session.mainTable.entries {
            guard let node = session.registry[name] else { continue }
            checkValue(name, value, node: node, scope: nil, file: mainPath, line: mainLines[name])
        }
        for entry in session.master {
            guard let table = entry.parameters else { continue }
            let line = masterLines[ObjectIdentifier(entry)]
            for (name, value) in table.entries {
                guard let node = session.registry[name] else { continue }
                checkValue(name, value, node: node, scope: entry, file: masterPath, line: line)
            }
        }
    }

    private func checkValue(_ name: [UInt8], _ raw: [UInt8], node: ParameterRegistry.Node, scope: MasterEntry?,
                            file: String, line: Int?) {
        var value = raw
        if !node.flags.contains(.raw) {
            do {
                value = try session.expand(raw, mode: [], scope: scope)
                drainMessages(file, line: line, parameter: name, severity: .error)
            } catch {
                drainMessages(file, line: line, parameter: name, severity: .error)
                add(.error, file, line, name, "\(ConfigText.text(name)) = \(ConfigText.text(raw)): \(error.message)")
                return
            }
        }
        if case .builtin(let index) = node.source {
            let p = BuiltinParameters.all[index]
            if let problem = ValueSyntax.check(p, value) { add(.error, file, line, name, problem) }
        }
        if let problem = ValueSyntax.checkEnumeration(name, value) { add(.error, file, line, name, problem) }
        if !node.flags.intersection([.builtin, .service]).isEmpty {
            TableReferences(run: self, file: file, line: line, parameter: name).check(value)
        }
    }

    /// A table check result, reported by `TableReferences`.
    func report(_ severity: LintFinding.Severity, _ file: String, _ line: Int?, _ parameter: [UInt8], _ message: String,
                suggestions: [String] = []) {
        add(severity, file, line, parameter, message, suggestions: suggestions)
    }

    /// main.cf's path, for findings about its lines.
    var mainFile: String { mainPath }

    /// main.cf's settings as written (not expanded), with the line of each.
    func mainSettings() -> [(name: String, value: String, line: Int?)] {
        session.mainTable.entries.map { (ConfigText.text($0.name), ConfigText.text($0.value), mainLines[$0.name]) }
    }

    /// local(8) and virtual(8) refuse to start when a mailbox may not hold one message.
    private func checkLimits() {
        func effective(_ name: String) -> Int? {
            let bytes = Array(text: name)
            guard let node = session.registry[bytes],
                  let v = try? session.lookup(bytes, mode: [], scope: nil, node: node),
                  let x = try? session.expand(v, mode: [], scope: nil) else { return nil }
            messages.clear()
            return Int(String(decoding: x, as: UTF8.self))
        }
        guard let message = effective("message_size_limit") else { return }
        for limit in ["mailbox_size_limit", "virtual_mailbox_limit"] {
            guard let value = effective(limit), value > 0 else { continue }
            let line = mainLines[Array(text: limit)] ?? mainLines[Array(text: "message_size_limit")]
            if message <= 0 {
                add(.error, mainPath, line, Array(text: limit),
                    "configuration error: \(limit) is limited but message_size_limit is unlimited")
            } else if value < message {
                add(.error, mainPath, line, Array(text: limit),
                    "configuration error: \(limit) is smaller than message_size_limit")
            }
        }
    }

    // MARK: output

    func text() -> String {
        var out = ""
        for f in findings {
            var location = f.file
            if let line = f.line { location += ":\(line)" }
            out += "\(location): \(f.severity.rawValue): \(f.message)"
            if !f.suggestions.isEmpty { out += " (did you mean \(f.suggestions.joined(separator: ", "))?)" }
            out += "\n"
        }
        let errors = findings.filter { $0.severity == .error }.count
        let warnings = findings.count - errors
        out += "postconf --check: \(session.directory): \(errors) error\(errors == 1 ? "" : "s"), "
            + "\(warnings) warning\(warnings == 1 ? "" : "s")\n"
        return out
    }

    func json() -> String {
        let errors = findings.filter { $0.severity == .error }.count
        var out = "{\"config_directory\":\(JSONText.quote(session.directory)),\"errors\":\(errors),"
            + "\"warnings\":\(findings.count - errors),\"findings\":["
        for (i, f) in findings.enumerated() {
            if i > 0 { out += "," }
            out += "{\"severity\":\"\(f.severity.rawValue)\",\"file\":\(JSONText.quote(f.file)),"
            out += "\"line\":\(f.line.map(String.init) ?? "null"),"
            out += "\"parameter\":\(f.parameter.map(JSONText.quote) ?? "null"),"
            out += "\"message\":\(JSONText.quote(f.message)),"
            out += "\"suggestions\":[\(f.suggestions.map(JSONText.quote).joined(separator: ","))]}"
        }
        out += "]}\n"
        return out
    }
}
