import PostfixText

/// One master.cf service entry as postconf sees it: the eight fields and the command arguments in
/// canonical form (`-oname=value` split into `-o` `name=value`, `{...}` groups unwrapped), its
/// `service/type` name space, its `-o` settings and the read-only `process_name`/`service_name`.
public final class MasterEntry {
    /// The fields: service, type, private, unprivileged, chroot, wakeup, process_limit, command, arguments...
    public internal(set) var argv: [[UInt8]]
    /// `service/type`.
    public let nameSpace: [UInt8]
    /// `process_name` and `service_name` for `$name` in this entry's `-o` values.
    public let readOnly = ParameterDictionary()
    /// The `-o name=value` settings (shared by entries with the same `service/type`, as in Postfix), or
    /// `nil` when the entry has none.
    public var parameters: ParameterDictionary?
    /// Names that are valid in this name space because something refers to them.
    public var validNames: Set<[UInt8]> = []

    /// The names of the eight fixed fields, in order (`-F` output).
    public static let fieldNames: [[UInt8]] = ["service", "type", "private", "unprivileged", "chroot", "wakeup",
                                               "process_limit", "command"].map { Array($0.utf8) }
    public static let commandField = 7
    public static let minimumFields = 8
    private static let validTypes: [[UInt8]] = ["unix", "fifo", "inet", "pass", "unix-dgram"].map { Array($0.utf8) }

    /// A parse failure that is not fatal by itself (`bad field count`).
    public struct ParseFailure: Error { var message: String }

    /// Parse one logical line (Postfix's `pcf_parse_master_entry`). Field syntax errors are fatal;
    /// `{}` problems are warnings.
    public init(line: [UInt8], warn: (String) -> Void) throws(PostconfFailure) {
        var fields = ConfigText.quotedTokens(line, ConfigText.isBlank)
        if fields.count < Self.minimumFields { throw .parse("bad field count") }
        try Self.check(fields, rawText: line)
        Self.normalize(&fields, warn: warn)
        argv = fields
        nameSpace = fields[0] + [0x2F] + fields[1]
        let processName = ConfigText.basename(fields[Self.commandField])
        readOnly.set(Array(text: "process_name"), processName)
        readOnly.set(Array(text: "service_name"), processName != fields[0] ? fields[0] : processName)
    }

    /// Either a fatal error or a parse failure the caller reports with its own context.
    public enum PostconfFailure: Error {
        case fatal(Fatal)
        case parse(String)
    }

    /// `pcf_check_master_entry`: the type, the y/n/- fields, wakeup and process_limit.
    public static func check(_ argv: [[UInt8]], rawText: [UInt8]) throws(PostconfFailure) {
        func fail(_ what: String, _ value: [UInt8]) -> PostconfFailure {
            // pcf_fix_fatal: newlines become spaces.
            let text = "invalid \(what) field \"\(ConfigText.text(value))\" in \"\(ConfigText.text(rawText))\""
            return .fatal(Fatal(String(text.map { $0 == "\n" ? " " : $0 })))
        }
        if !validTypes.contains(argv[1]) { throw fail("type", argv[1]) }
        for field in 2...4 {
            let v = argv[field]
            if v.count != 1 || !(v[0] == 0x79 || v[0] == 0x6E || v[0] == 0x2D) {
                throw fail(String(decoding: fieldNames[field], as: UTF8.self), v)
            }
        }
        let wakeup = argv[5]
        var len = wakeup.count
        if len > 0, wakeup[len - 1] == 0x3F { len -= 1 }
        let digits = wakeup.prefix(while: { $0 >= 0x30 && $0 <= 0x39 }).count
        if !(wakeup.first == 0x2D && len == 1) && digits != len { throw fail("wakeup", wakeup) }
        let limit = argv[6]
        if limit != [0x2D], !limit.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) { throw fail("process_limit", limit) }
    }

    /// Whether a daemon option takes a value (only `-o`).
    public static func takesValue(_ option: UInt8) -> Bool { option == 0x6F }

    /// An option word (`-x`) rather than an argument; `--` ends the options.
    public static func isOption(_ arg: [UInt8]) -> Bool { arg.first == 0x2D && arg != [0x2D, 0x2D] }

    /// `pcf_normalize_daemon_args`: split `-vozz` into `-v` `-ozz`, `-oname=value` into `-o`
    /// `name=value`, unwrap `{...}` groups (warning about bad ones) and normalize `-o { name = value }`.
    public static func normalize(_ argv: inout [[UInt8]], warn: (String) -> Void) {
        var field = minimumFields
        while field < argv.count {
            var arg = argv[field]
            if !isOption(arg) { break }
            if arg.count > 2, let at = arg[2...].firstIndex(where: takesValue) {
                argv.insert([0x2D] + arg[at...], at: field + 1)
                arg = Array(arg[..<at])
                argv[field] = arg
            }
            // A lone "-" looks like an option that expects a value to Postfix (strchr(s, '\0')).
            let option: UInt8 = arg.count > 1 ? arg[1] : 0
            if option != 0, !takesValue(option) {
                field += 1
                continue
            }
            let extract: Bool
            if arg.count > 2 {
                argv.insert(Array(arg[2...]), at: field + 1)
                argv[field] = Array(arg[..<2])
                field += 1
                extract = argv[field].first == 0x7B
            } else if field + 1 < argv.count {
                field += 1
                extract = argv[field].first == 0x7B
            } else {
                extract = false
            }
            if extract {
                extractField(&argv, field, warn: warn)
                if argv[field - 1].count > 1, argv[field - 1][1] == 0x6F {
                    normalizeNameValue(&argv, field, warn: warn)
                }
            }
            field += 1
        }
        while field < argv.count {
            if argv[field].first == 0x7B { extractField(&argv, field, warn: warn) }
            field += 1
        }
    }

    private static func extractField(_ argv: inout [[UInt8]], _ field: Int, warn: (String) -> Void) {
        let (text, error) = ConfigText.extractBraces(argv[field], strip: true)
        if let error { warn("master.cf: \(error)") }
        argv[field] = text
    }

    private static func normalizeNameValue(_ argv: inout [[UInt8]], _ field: Int, warn: (String) -> Void) {
        switch ConfigText.splitNameValue(argv[field]) {
        case .failure(let e):
            warn("master.cf: \(e.text): \"\(ConfigText.text(argv[field]))\"")
        case .success(let (name, value)):
            argv[field] = name + [0x3D] + value
        }
    }

    /// The `-o name=value` pairs in order, as Postfix collects them into the name space.
    public var optionSettings: [([UInt8], [UInt8])] {
        var out: [([UInt8], [UInt8])] = []
        var field = Self.minimumFields
        while field < argv.count {
            let arg = argv[field]
            if !Self.isOption(arg) { break }
            let option: UInt8 = arg.count > 1 ? arg[1] : 0
            guard option == 0 || Self.takesValue(option), field + 1 < argv.count else {
                field += 1
                continue
            }
            if arg == [0x2D, 0x6F], case .success(let (name, value)) = ConfigText.splitNameValue(argv[field + 1]) {
                out.append((name, value))
            }
            field += 2
        }
        return out
    }

    // MARK: printing

    private static let columns = [0, 11, 17, 25, 33, 41, 49, 57]
    public static let lineLimit = 80
    public static let indent = 4

    private static func needsBraces(_ s: [UInt8]) -> Bool { s.contains(where: ConfigText.isBlank) }

    /// `pcf_print_master_entry`: fields at their columns, then the command arguments, each `-o` on a line
    /// of its own; without `fold` everything stays on one line. `expand` resolves `$name` in `-o` values.
    public func format(fold: Bool, expand: (([UInt8]) throws(Fatal) -> [UInt8])?) throws(Fatal) -> [UInt8] {
        var out: [UInt8] = []
        var lineLength = 0
        func add(_ bytes: [UInt8]) { out.append(contentsOf: bytes); lineLength += bytes.count }
        for field in 0..<Self.minimumFields {
            if lineLength > 0 {
                repeat { add([0x20]) } while lineLength < Self.columns[field]
            }
            add(argv[field])
        }
        try appendArguments(from: Self.minimumFields, valueExtra: 3, fold: fold, out: &out, lineLength: &lineLength,
                            expand: expand)
        out.append(0x0A)
        return out
    }

    /// `pcf_print_master_field`: `service/type/field = value` (or parts of it), folded like `-M`.
    public func formatField(_ index: Int, hideName: Bool, hideValue: Bool, fold: Bool,
                     expand: (([UInt8]) throws(Fatal) -> [UInt8])?) throws(Fatal) -> [UInt8] {
        var out: [UInt8] = []
        var lineLength = 0
        func add(_ bytes: [UInt8]) { out.append(contentsOf: bytes); lineLength += bytes.count }
        if !hideName {
            add(argv[0]); add([0x2F]); add(argv[1]); add([0x2F]); add(Self.fieldNames[index])
        }
        if !hideName, !hideValue { add(Array(" = ".utf8)) }
        if !hideValue {
            if lineLength > 0, lineLength + argv[index].count > Self.lineLimit {
                out.append(contentsOf: [0x0A, 0x20, 0x20, 0x20, 0x20])
                lineLength = Self.indent
            }
            add(argv[index])
        }
        if index == Self.commandField, !hideValue {
            try appendArguments(from: index + 1, valueExtra: 1, fold: fold, out: &out, lineLength: &lineLength,
                                expand: expand)
        }
        out.append(0x0A)
        return out
    }

    /// Append the command's arguments from `field` on, as `pcf_print_master_entry` and
    /// `pcf_print_master_field` do: an option with a value forces a new line, values with blanks are
    /// braced, and with `fold` lines wrap at 80 columns. `valueExtra` is the room Postfix counts
    /// around an option's value (3 for -M, 1 for -F).
    private func appendArguments(from start: Int, valueExtra: Int, fold: Bool, out: inout [UInt8], lineLength: inout Int,
                                 expand: (([UInt8]) throws(Fatal) -> [UInt8])?) throws(Fatal) {
        func add(_ bytes: [UInt8]) { out.append(contentsOf: bytes); lineLength += bytes.count }
        var inOptions = true
        var field = start
        while field < argv.count {
            let arg = argv[field]
            var argLength = arg.count
            var value: [UInt8]?
            var braces = false
            if inOptions {
                if !Self.isOption(arg) {
                    // Postfix does not brace the first argument after the options.
                    inOptions = false
                } else if (arg.count > 1 ? Self.takesValue(arg[1]) : true), field + 1 < argv.count {
                    var v = argv[field + 1]
                    lineLength = Self.lineLimit
                    if arg == [0x2D, 0x6F], let expand { v = try expand(v) }
                    argLength += v.count + valueExtra
                    braces = Self.needsBraces(v)
                    if braces { argLength += 2 }
                    value = v
                }
            } else {
                braces = Self.needsBraces(arg)
            }
            if lineLength > Self.indent {
                if !fold || lineLength + 1 + argLength < Self.lineLimit {
                    add([0x20])
                } else {
                    out.append(contentsOf: [0x0A, 0x20, 0x20, 0x20, 0x20])
                    lineLength = Self.indent
                }
            }
            if !inOptions, braces { add([0x7B]) }
            add(arg)
            if !inOptions, braces { add([0x7D]) }
            if let value {
                add([0x20])
                if braces { add([0x7B]) }
                add(value)
                if braces { add([0x7D]) }
                field += 1
                lineLength = Self.lineLimit
            }
            field += 1
        }
    }

    // MARK: edits

    /// `pcf_edit_master_field`: replace one field; the command field takes the command and its arguments.
    public func editField(_ index: Int, _ value: [UInt8], warn: (String) -> Void) throws(PostconfFailure) {
        if index == Self.commandField {
            argv.removeSubrange(Self.commandField...)
            argv.append(contentsOf: ConfigText.quotedTokens(value, ConfigText.isBlank))
            Self.normalize(&argv, warn: warn)
        } else {
            argv[index] = value
        }
        try Self.check(argv, rawText: value)
    }

    /// `pcf_edit_master_param`: set (`value` non-nil) or delete `-o name=...`; a new setting goes after the
    /// last option.
    public func editParameter(_ name: [UInt8], _ value: [UInt8]?) {
        var matched = false
        var field = Self.minimumFields
        while field < argv.count {
            let arg = argv[field]
            if !Self.isOption(arg) { break }
            if (arg.count > 1 ? Self.takesValue(arg[1]) : true), field + 1 < argv.count {
                let current = argv[field + 1]
                if arg == [0x2D, 0x6F], current.count > name.count, current.starts(with: name), current[name.count] == 0x3D {
                    matched = true
                    if let value {
                        argv[field + 1] = name + [0x3D] + value
                        parameters?.set(name, value)
                    } else {
                        argv.removeSubrange(field...(field + 1))
                        parameters?.remove(name)
                        field -= 2
                    }
                }
                field += 1
            }
            field += 1
        }
        if let value, !matched {
            argv.insert([0x2D, 0x6F], at: field)
            argv.insert(name + [0x3D] + value, at: field + 1)
            parameters?.set(name, value)
        }
    }
}
