import Maps
import ToolSupport
import PostfixConfig
import PostfixText
/// postconf's displays: main.cf parameters (`pcf_show_parameters`), master.cf entries, fields and
/// parameters (`-M`, `-F`, `-P`), with Postfix's whitespace normalization and `-f` folding.
extension PostconfSession {
    static let lineLimit = 80

    /// `pcf_print_line`: words separated by single spaces (runs of blanks and newlines collapse); with
    /// `-f`, a line that would reach 80 columns continues on the next line after four spaces.
    func printLine(_ parts: [UInt8]...) {
        let fold = mode.contains(.fold)
        var lineLength = 0
        for part in parts {
            var i = 0
            let n = part.count
            while i < n {
                while i < n, ConfigText.isBlank(part[i]) { i += 1 }
                if i == n { break }
                let start = i
                while i < n, !ConfigText.isBlank(part[i]) { i += 1 }
                let wordLength = i - start
                if lineLength > 0 {
                    if !fold || lineLength + wordLength < Self.lineLimit {
                        out.write(byte: 0x20)
                        lineLength += 1
                    } else {
                        out.write([0x0A, 0x20, 0x20, 0x20, 0x20])
                        lineLength = 4
                    }
                }
                out.write(part[start..<i])
                lineLength += wordLength
            }
        }
        out.write(byte: 0x0A)
    }

    private static let equals: [UInt8] = [0x20, 0x3D, 0x20]

    /// `pcf_print_parameter`.
    private func printParameter(_ name: [UInt8], _ node: ParameterRegistry.Node) throws(Fatal) {
        guard var value = try lookup(name, mode: mode, scope: nil, node: node) else { return }
        if mode.contains(.hideValue) {
            printLine(name)
        } else {
            if mode.contains(.expand), !node.flags.contains(.raw) {
                value = try expand(value, mode: mode, scope: nil)
            }
            if mode.contains(.hideName) {
                printLine(value)
            } else {
                printLine(name, Self.equals, value)
            }
        }
    }

    /// `pcf_show_parameters`: all names of the selected classes in byte order, or the named ones.
    func showParameters(classes: ParameterRegistry.Flags, names: [String]) throws(Fatal) {
        if names.isEmpty {
            for name in registry.sortedNames {
                guard let node = registry[name], !node.flags.intersection(classes).isEmpty else { continue }
                try printParameter(name, node)
            }
            return
        }
        for text in names {
            let name = Array(text: text)
            guard let node = registry[name] else {
                messages.warning("\(text): unknown parameter")
                continue
            }
            try printParameter(name, node)
        }
    }

    // MARK: master.cf

    /// A `service[/type[/...]]` pattern (`pcf_parse_service_pattern`): `nil` when it has too few or too
    /// many parts or a `*` inside a word; missing parts become `*`.
    static func servicePattern(_ text: String, min: Int, max: Int) -> [[UInt8]]? {
        let bytes = Array(text: text)
        if bytes.first == 0x2F { return nil }
        var parts = ConfigText.tokens(bytes, { $0 == 0x2F })
        if parts.count < min || parts.count > max { return nil }
        for p in parts where p != [0x2A] && p.contains(0x2A) { return nil }
        while parts.count < max { parts.append([0x2A]) }
        return parts
    }

    static func matches(_ pattern: [[UInt8]], _ entry: MasterEntry) -> Bool {
        (pattern[0] == [0x2A] || pattern[0] == entry.argv[0]) && (pattern[1] == [0x2A] || pattern[1] == entry.argv[1])
    }

    private func expander(for entry: MasterEntry) -> (([UInt8]) throws(Fatal) -> [UInt8])? {
        guard mode.contains(.expand) else { return nil }
        let currentMode = mode
        return { (value: [UInt8]) throws(Fatal) -> [UInt8] in
            try self.expand(value, mode: currentMode, scope: entry)
        }
    }

    /// `pcf_show_master_entries` (`-M`).
    func showMasterEntries(_ operands: [String]) throws(Fatal) {
        var requests: [(text: String, pattern: [[UInt8]], count: Int)] = []
        for text in operands {
            guard let pattern = Self.servicePattern(text, min: 1, max: 2) else {
                throw Fatal("-M option requires service_name[/type]")
            }
            requests.append((text, pattern, 0))
        }
        let fold = mode.contains(.fold)
        for entry in master {
            if requests.isEmpty {
                out.write(try entry.format(fold: fold, expand: expander(for: entry)))
                continue
            }
            for i in requests.indices where Self.matches(requests[i].pattern, entry) {
                requests[i].count += 1
                out.write(try entry.format(fold: fold, expand: expander(for: entry)))
            }
        }
        for r in requests where r.count == 0 { messages.warning("unmatched request: \"\(r.text)\"") }
    }

    private static func fieldIndex(_ name: [UInt8]) throws(Fatal) -> Int? {
        if name == [0x2A] { return nil }
        guard let i = MasterEntry.fieldNames.firstIndex(of: name) else {
            throw Fatal("invalid service attribute name: \"\(ConfigText.text(name))\"")
        }
        return i
    }

    /// `pcf_show_master_fields` (`-F`).
    func showMasterFields(_ operands: [String]) throws(Fatal) {
        var requests: [(text: String, pattern: [[UInt8]], field: Int?, count: Int)] = []
        for text in operands {
            guard let pattern = Self.servicePattern(text, min: 1, max: 3) else {
                throw Fatal("-F option requires service_name[/type[/field]]")
            }
            requests.append((text, pattern, try Self.fieldIndex(pattern[2]), 0))
        }
        let fold = mode.contains(.fold), hideName = mode.contains(.hideName), hideValue = mode.contains(.hideValue)
        func show(_ entry: MasterEntry, _ field: Int?) throws(Fatal) {
            for f in field.map({ [$0] }) ?? Array(0...MasterEntry.commandField) {
                out.write(try entry.formatField(f, hideName: hideName, hideValue: hideValue, fold: fold,
                                                expand: expander(for: entry)))
            }
        }
        for entry in master {
            if requests.isEmpty {
                try show(entry, nil)
                continue
            }
            for i in requests.indices where Self.matches(requests[i].pattern, entry) {
                requests[i].count += 1
                try show(entry, requests[i].field)
            }
        }
        for r in requests where r.count == 0 { messages.warning("unmatched request: \"\(r.text)\"") }
    }

    /// `pcf_print_master_param`.
    private func printMasterParameter(_ entry: MasterEntry, _ name: [UInt8], _ value: [UInt8]) throws(Fatal) {
        let prefix = entry.nameSpace + [0x2F] + name
        if mode.contains(.hideValue) {
            printLine(prefix)
            return
        }
        var v = value
        if mode.contains(.expand) { v = try expand(v, mode: mode, scope: entry) }
        if mode.contains(.hideName) {
            printLine(v)
        } else {
            printLine(prefix, Self.equals, v)
        }
    }

    private func showAllMasterParameters(_ entry: MasterEntry, _ table: ParameterDictionary) throws(Fatal) {
        let names = table.entries.map(\.name).sorted { $0.lexicographicallyPrecedes($1) }
        for name in names {
            if let value = table[name] { try printMasterParameter(entry, name, value) }
        }
    }

    /// `pcf_show_master_params` (`-P`).
    func showMasterParameters(_ operands: [String]) throws(Fatal) {
        var requests: [(text: String, pattern: [[UInt8]], count: Int)] = []
        for text in operands {
            guard let pattern = Self.servicePattern(text, min: 1, max: 3) else {
                throw Fatal("-P option requires service_name[/type[/parameter]]")
            }
            requests.append((text, pattern, 0))
        }
        for entry in master {
            guard let table = entry.parameters else { continue }
            if requests.isEmpty {
                try showAllMasterParameters(entry, table)
                continue
            }
            for i in requests.indices where Self.matches(requests[i].pattern, entry) {
                let name = requests[i].pattern[2]
                if name == [0x2A] {
                    try showAllMasterParameters(entry, table)
                    requests[i].count += 1
                } else if let value = table[name] {
                    try printMasterParameter(entry, name, value)
                    requests[i].count += 1
                }
            }
        }
        for r in requests where r.count == 0 { messages.warning("unmatched request: \"\(r.text)\"") }
    }
}
