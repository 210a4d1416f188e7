import ToolSupport
import PostfixConfig
import PostfixText
import Maps

/// `postconf -e`, `-X`, `-#` on main.cf and `-Me`, `-MX`, `-M#`, `-Fe`, `-Pe`, `-PX` on master.cf
/// (Postfix's `postconf_edit.c`): comments, blank lines and the order of entries are kept, every matching
/// entry is replaced with its continuation lines, and the result replaces the file through `EditFile`.
extension PostconfSession {
    /// Where the content of a line starts (`pcf_find_cf_info`), or `nil` for a comment or blank line.
    private static func contentStart(_ line: [UInt8]) -> Int? {
        var i = 0
        while i < line.count, ConfigText.isSpace(line[i]) { i += 1 }
        if i == line.count || line[i] == 0x23 { return nil }
        return i
    }

    /// The request operands shared by both files: reject multi-line and comment input.
    private static func checkEditOperand(_ text: String, options: String, verb: String) throws(Fatal) -> [UInt8] {
        let bytes = Array(text: text)
        if bytes.contains(0x0A) { throw Fatal("\(options) \(verb) no multi-line input") }
        var i = 0
        while i < bytes.count, ConfigText.isSpace(bytes[i]) { i += 1 }
        if i < bytes.count, bytes[i] == 0x23 { throw Fatal("\(options) \(verb) no comment input") }
        return Array(bytes[i...])
    }

    /// Trailing blanks removed (`trimblanks`).
    private static func trimTrailing(_ s: [UInt8]) -> [UInt8] {
        var end = s.count
        while end > 0, ConfigText.isSpace(s[end - 1]) { end -= 1 }
        return Array(s[..<end])
    }

    /// The lines of the file being edited as the release reads them: from 3.9 a last line without a
    /// newline gets one (`pcf_next_cf_line`), so that an appended entry starts a line of its own.
    private func editInput(_ lines: [[UInt8]]) -> [[UInt8]] {
        guard rules.editTerminatesLines, let last = lines.last, last.last != 0x0A else { return lines }
        return lines.dropLast() + [last + [0x0A]]
    }

    // MARK: main.cf

    /// `pcf_edit_main`.
    func editMain(_ operands: [String]) throws(Fatal) {
        var requests: [[UInt8]: (value: [UInt8]?, found: Int)] = [:]
        var order: [[UInt8]] = []
        let editing = mode.contains(.edit)
        for text in operands {
            let cp = try Self.checkEditOperand(text, options: "-e, -X, or -#", verb: "accepts")
            let name: [UInt8]
            let value: [UInt8]?
            if editing {
                switch ConfigText.splitNameValue(cp) {
                case .failure(let e): throw Fatal("\(e.text): \"\(ConfigText.text(cp))\"")
                case .success(let (n, v)): name = n; value = v
                }
            } else {
                if cp.isEmpty { throw Fatal("-X or -# requires non-blank parameter names") }
                if cp.contains(0x3D) { throw Fatal("-X or -# requires parameter names without value") }
                name = Self.trimTrailing(cp)
                value = nil
            }
            if let earlier = requests[name] {
                // Postfix 3.7 prints this also for -X/-# and crashes there on the missing value; we skip it.
                // From 3.9 only a different value is reported.
                if let old = earlier.value, !rules.editWarnsOnlyChangedRequest || value.map({ $0 != old }) == true {
                    messages.warning("ignoring earlier request: '\(ConfigText.text(name)) = \(ConfigText.text(old))'")
                }
                order.removeAll { $0 == name }
            }
            requests[name] = (value, 0)
            order.append(name)
        }

        setConfigDirectory()
        let path = mainPath
        let file = try EditFile(path: path)
        let lines = editInput(try file.readOriginal())
        var output: [UInt8] = []
        var interesting = false
        for line in lines {
            guard let start = Self.contentStart(line) else {
                output.append(contentsOf: line)
                continue
            }
            if start > 0 {
                if !interesting {
                    output.append(contentsOf: line)
                } else if mode.contains(.commentOut) {
                    output.append(0x23)
                    output.append(contentsOf: line)
                }
                continue
            }
            let key = Array(line.prefix { !ConfigText.isBlank($0) && $0 != 0x3D && $0 != 0 })
            guard var request = requests[key] else {
                interesting = false
                output.append(contentsOf: line)
                continue
            }
            interesting = true
            request.found += 1
            requests[key] = request
            if request.found == 2 {
                messages.warning("\(path): multiple entries for \"\(ConfigText.text(key))\"")
            }
            if editing, let value = request.value {
                output.append(contentsOf: key + Array(" = ".utf8) + value + [0x0A])
            } else if mode.contains(.commentOut) {
                output.append(0x23)
                output.append(contentsOf: line)
            }
        }
        if editing {
            // Postfix 3.7 appends new names in hash-table order (random per run); we sort them by name,
            // as Postfix 3.8 and later do.
            for name in order.sorted(by: { $0.lexicographicallyPrecedes($1) }) {
                guard let request = requests[name], request.found == 0, let value = request.value else { continue }
                output.append(contentsOf: name + Array(" = ".utf8) + value + [0x0A])
            }
        }
        try file.commit(output)
    }

    // MARK: master.cf

    private struct MasterEditRequest {
        var count = 0
        let raw: String
        let pattern: [[UInt8]]
        var field = 0
        var parameter: [UInt8] = []
        let value: [UInt8]?
    }

    /// `pcf_edit_master`.
    func editMaster(_ operands: [String]) throws(Fatal) {
        let options = "-Me, -Fe, -Pe, -X, or -#"
        let editing = mode.contains(.edit)
        var requests: [MasterEditRequest] = []
        for raw in operands {
            let cp = try Self.checkEditOperand(raw, options: options, verb: "accept")
            let patternText: [UInt8]
            var value: [UInt8]?
            if editing {
                switch ConfigText.splitNameValue(cp) {
                case .failure(let e): throw Fatal("\(e.text): \"\(raw)\"")
                case .success(let (n, v)): patternText = n; value = v
                }
            } else {
                if cp.contains(0x3D) { throw Fatal("-X or -# requires names without value") }
                patternText = Self.trimTrailing(cp)
                value = nil
            }
            let text = ConfigText.text(patternText)
            if mode.contains(.masterEntry) {
                guard let pattern = Self.servicePattern(text, min: 2, max: 2) else {
                    throw Fatal("-Me, -MX or -M# requires service_name/type")
                }
                requests.append(MasterEditRequest(raw: raw, pattern: pattern, value: value))
            } else if mode.contains(.masterField) {
                guard let pattern = Self.servicePattern(text, min: 3, max: 3) else {
                    throw Fatal("-Fe or -FX requires service_name/type/field_name")
                }
                var request = MasterEditRequest(raw: raw, pattern: pattern, value: value)
                guard pattern[2] != [0x2A] else { throw Fatal("-Fe does not accept wild-card field name") }
                guard let index = MasterEntry.fieldNames.firstIndex(of: pattern[2]) else {
                    throw Fatal("invalid service attribute name: \"\(ConfigText.text(pattern[2]))\"")
                }
                request.field = index
                if editing, index < MasterEntry.commandField, let value, value.contains(where: ConfigText.isBlank) {
                    throw Fatal("-Fe does not accept whitespace in non-command field")
                }
                requests.append(request)
            } else {
                guard let pattern = Self.servicePattern(text, min: 3, max: 3) else {
                    throw Fatal("-Pe or -PX requires service_name/type/parameter")
                }
                var request = MasterEditRequest(raw: raw, pattern: pattern, value: value)
                request.parameter = pattern[2]
                if pattern[2] == [0x2A] { throw Fatal("-Pe does not accept wild-card parameter name") }
                if editing, let value, value.contains(where: ConfigText.isBlank) {
                    throw Fatal("-Pe does not accept whitespace in parameter value")
                }
                requests.append(request)
            }
        }

        setConfigDirectory()
        let path = masterPath
        let file = try EditFile(path: path)
        let lines = editInput(try file.readOriginal())
        var output: [UInt8] = []
        var matched = false
        var lineNumber = 0
        var index = 0
        func parseEntry(_ text: [UInt8], context: (String) -> String) throws(Fatal) -> MasterEntry {
            do {
                return try MasterEntry(line: text, warn: messages.warning)
            } catch {
                switch error {
                case .fatal(let f): throw f
                case .parse(let message): throw Fatal(context(message))
                }
            }
        }
        while index < lines.count {
            let line = lines[index]
            index += 1
            lineNumber += 1
            guard let start = Self.contentStart(line) else {
                output.append(contentsOf: line)
                continue
            }
            if start > 0 {
                if !matched {
                    output.append(contentsOf: line)
                } else if mode.contains(.commentOut) {
                    output.append(0x23)
                    output.append(contentsOf: line)
                }
                continue
            }
            matched = false
            let words = ConfigText.tokens(line, ConfigText.isBlank)
            guard words.count >= 2 else {
                throw Fatal("file \(path): line \(lineNumber): specify service name and type on the same line")
            }
            let name = words[0], type = words[1]
            if name.contains(0x3D) {
                throw Fatal("file \(path): line \(lineNumber): service name syntax \"\(ConfigText.text(name))\" is unsupported with \(options)")
            }
            if type.contains(where: { $0 == 0x3D || $0 == 0x2F }) {
                throw Fatal("file \(path): line \(lineNumber): service type syntax \"\(ConfigText.text(type))\" is unsupported with \(options)")
            }
            var replacement: MasterEntry?
            for r in requests.indices {
                var tentative: MasterEntry?
                var useTentative = false
                if mode.contains(.masterEntry), editing, let value = requests[r].value {
                    let raw = requests[r].raw
                    tentative = try parseEntry(value) { "\($0): \"\(raw)\"" }
                }
                let pattern = requests[r].pattern
                let hit = (pattern[0] == [0x2A] || pattern[0] == name) && (pattern[1] == [0x2A] || pattern[1] == type)
                if hit {
                    matched = true
                    requests[r].count += 1
                    if editing || (mode.contains(.masterParameter) && mode.contains(.exclude)) {
                        if mode.contains(.masterField) || mode.contains(.masterParameter) {
                            if replacement == nil {
                                // Take in the continuation lines; comments among them pass through.
                                var full = line
                                while index < lines.count, let first = lines[index].first,
                                      first == 0x23 || ConfigText.isSpace(first) {
                                    let next = lines[index]
                                    index += 1
                                    if Self.contentStart(next) != nil {
                                        full.append(contentsOf: next)
                                    } else {
                                        output.append(contentsOf: next)
                                    }
                                }
                                let n = lineNumber
                                replacement = try parseEntry(full) { "file \(path): line \(n): \($0)" }
                            }
                            if let entry = replacement {
                                if mode.contains(.masterField) {
                                    do {
                                        try entry.editField(requests[r].field, requests[r].value ?? [], warn: messages.warning)
                                    } catch {
                                        switch error {
                                        case .fatal(let f): throw f
                                        case .parse(let m): throw Fatal(m)
                                        }
                                    }
                                } else {
                                    entry.editParameter(requests[r].parameter, editing ? requests[r].value : nil)
                                }
                            }
                        } else if requests[r].count == 1 {
                            useTentative = true
                        }
                    }
                } else if let t = tentative, t.argv[0] == name, t.argv[1] == type {
                    matched = true
                    requests[r].count += 1
                    if requests[r].count == 1 { useTentative = true }
                }
                if let t = tentative, useTentative { replacement = t }
            }
            if let entry = replacement {
                output.append(contentsOf: try entry.format(fold: true, expand: nil))
            } else if !matched {
                output.append(contentsOf: line)
            } else if mode.contains(.commentOut) {
                output.append(0x23)
                output.append(contentsOf: line)
            }
        }
        for r in requests where r.count == 0 {
            if mode.contains(.masterEntry), editing, let value = r.value {
                let raw = r.raw
                let entry = try parseEntry(value) { "\($0): \"\(raw)\"" }
                output.append(contentsOf: try entry.format(fold: true, expand: nil))
            } else if !mode.contains(.masterEntry) {
                messages.warning("unmatched service_name/type: \"\(r.raw)\"")
            }
        }
        try file.commit(output)
    }
}
