import ToolSupport
import PostfixConfig
import PostfixText
import Maps
#if canImport(Glibc)
import Glibc
#endif

/// The state of one postconf run: main.cf (`CONFIG_DICT`), master.cf, the table of valid names, and the
/// lookups, expansions and registrations of Postfix's postconf, in Postfix's order.
final class PostconfSession {
    var mode: PostconfMode
    let messages: MessageWriter
    let out: OutputBuffer
    /// `-c`, else `MAIL_CONFIG` (Postfix passes `-c` through the environment).
    let configOverride: String?
    /// `process_name`: the program's base name.
    let processName: [UInt8]
    let processID: Int32

    /// `var_config_dir`, once set.
    private(set) var configDirectory: String?
    /// main.cf settings and `-o` overrides.
    let mainTable = ParameterDictionary()
    let registry = ParameterRegistry()
    /// master.cf entries (empty until read).
    private(set) var master: [MasterEntry] = []
    /// Per-`service/type` `-o` tables (entries with the same name space share one, as in Postfix).
    private var nameSpaces: [[UInt8]: ParameterDictionary] = [:]
    /// Names listed in main.cf's `smtpd_restriction_classes`.
    private var restrictionClasses: Set<[UInt8]> = []
    /// Database client files already checked.
    private var checkedClientFiles: Set<[UInt8]> = []

    private var checkedHostname: [UInt8]?
    private var myhostname: [UInt8]?
    private var checkedDomain: [UInt8]?
    private var networks: [UInt8]?
    /// `-v`: flush each line as it is printed.
    var verbose = false
    /// What the release postconf follows does differently (`PostconfRules`).
    let rules: PostconfRules
    /// Warn about unused and deprecated parameters (Postfix's `PCF_WARN_UNUSED_DEPRECATED`; `-q` clears
    /// it from 3.9 on).
    var warnUnusedDeprecated = true
    /// For `--check`: a host default that cannot be computed (a bad `inet_protocols`, say) becomes
    /// empty after a warning, instead of ending the run.
    var lenientHostDefaults = false
    /// For `--check`: `$name` expansion stops at its first syntax error (one finding) instead of
    /// repeating Postfix's warning for every later reference.
    var expansionStopsAtError = false
    private var expansionOptions: MacroExpander.Options { expansionStopsAtError ? [.recurse, .stopAtError] : .recurse }

    init(mode: PostconfMode, messages: MessageWriter, out: OutputBuffer, configOverride: String?,
         processName: [UInt8], processID: Int32, rules: PostconfRules = .current) {
        self.rules = rules
        self.mode = mode
        self.messages = messages
        self.out = out
        self.configOverride = configOverride
        self.processName = processName
        self.processID = processID
    }

    // MARK: files

    /// `pcf_set_config_dir`: the directory from `-c`/`MAIL_CONFIG` (then also `config_directory` in
    /// main.cf's table), else `/etc/postfix`.
    func setConfigDirectory() {
        if let dir = configOverride {
            configDirectory = dir
            mainTable.set(Array(text: "config_directory"), Array(text: dir))
        } else {
            configDirectory = "/etc/postfix"
        }
    }

    var directory: String { configDirectory ?? "/etc/postfix" }
    var mainPath: String { directory + "/main.cf" }
    var masterPath: String { directory + "/master.cf" }

    /// `pcf_read_parameters`: main.cf into the table; a missing file is fatal.
    func readParameters() throws(Fatal) {
        setConfigDirectory()
        do {
            try ConfigFileReader.load(mainPath, into: mainTable, warn: messages.warning, rereadHotFile: true)
        } catch {
            switch error {
            case .open(let e): throw Fatal("open \(mainPath): \(systemErrorText(e))")
            case .fatal(let f): throw f
            }
        }
    }

    /// `pcf_set_parameters`: `-o name=value` overrides.
    func setParameters(_ overrides: [String]) throws(Fatal) {
        for text in overrides {
            switch ConfigText.splitNameValue(ConfigText.cString(Array(text: text))) {
            case .failure(let e): throw Fatal("invalid parameter override: \(text): \(e.text)")
            case .success(let (name, value)): mainTable.set(name, value)
            }
        }
    }

    /// `pcf_read_master`: master.cf entries; a missing file is a warning or fatal.
    func readMaster(failOnOpenError: Bool) throws(Fatal) {
        if configDirectory == nil { setConfigDirectory() }
        let path = masterPath
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            let text = "open \(path): \(systemErrorText(errno))"
            if failOnOpenError { throw Fatal(text) }
            messages.warning(text)
            return
        }
        defer { close(fd) }
        let reader = LogicalLineReader(ByteReader(fd: fd, path: path), warning: messages.warning)
        while let line = reader.next() {
            do {
                master.append(try MasterEntry(line: ConfigText.cString(line.text), warn: messages.warning))
            } catch {
                switch error {
                case .fatal(let f): throw f
                case .parse(let text): throw Fatal("file \(path): line \(line.lineNumber): \(text)")
                }
            }
        }
    }

    /// Add a parsed master.cf entry (`postconf --check` reads master.cf itself to keep going after errors).
    func addMasterEntry(_ entry: MasterEntry) { master.append(entry) }

    // MARK: registration

    /// `pcf_register_builtin_parameters`.
    func registerBuiltinParameters() {
        for (i, p) in BuiltinParameters.all.enumerated() {
            let flags: ParameterRegistry.Flags
            switch p.kind {
            case .raw: flags = [.builtin, .raw]
            case .legacy: flags = .legacy
            case .adhoc: flags = [.builtin, .readOnly]
            default: flags = .builtin
            }
            registry.enter(p.name, .init(flags: flags, source: .builtin(i)))
        }
    }

    private static let deliveryParameters: [(String, String)] = [
        ("_recipient_limit", "default_recipient_limit"),
        ("_extra_recipient_limit", "default_extra_recipient_limit"),
        ("_recipient_refill_limit", "default_recipient_refill_limit"),
        ("_recipient_refill_delay", "default_recipient_refill_delay"),
        ("_delivery_slot_cost", "default_delivery_slot_cost"),
        ("_delivery_slot_loan", "default_delivery_slot_loan"),
        ("_delivery_slot_discount", "default_delivery_slot_discount"),
        ("_minimum_delivery_slots", "default_minimum_delivery_slots"),
        ("_initial_destination_concurrency", "initial_destination_concurrency"),
        ("_destination_concurrency_limit", "default_destination_concurrency_limit"),
        ("_destination_recipient_limit", "default_destination_recipient_limit"),
        ("_destination_concurrency_positive_feedback", "default_destination_concurrency_positive_feedback"),
        ("_destination_concurrency_negative_feedback", "default_destination_concurrency_negative_feedback"),
        ("_destination_concurrency_failed_cohort_limit", "default_destination_concurrency_failed_cohort_limit"),
        ("_destination_rate_delay", "default_destination_rate_delay"),
        ("_transport_rate_delay", "default_transport_rate_delay"),
    ]
    private static let timeLimit = [("_time_limit", "command_time_limit")]

    /// The per-service parameters that a master.cf command defines (`pcf_register_service_parameters`).
    static func serviceParameters(command: [UInt8]) -> [(String, String)]? {
        switch String(decoding: command, as: UTF8.self) {
        case "local", "error", "virtual", "smtp", "lmtp": return deliveryParameters
        case "pipe": return timeLimit + deliveryParameters
        case "spawn": return timeLimit
        default: return nil
        }
    }

    /// `pcf_register_service_parameters`.
    func registerServiceParameters() {
        for entry in master {
            guard let params = Self.serviceParameters(command: entry.argv[MasterEntry.commandField]) else { continue }
            for (suffix, defaultName) in params {
                let name = entry.argv[0] + Array(suffix.utf8)
                if registry.contains(name) {
                    registry.overrideClass(name, .service)
                } else {
                    registry.enter(name, .init(flags: .service, source: .service(Array(defaultName.utf8))))
                }
            }
        }
    }

    // MARK: defaults

    /// The default value of a registered name (`pcf_convert_param_node`).
    func defaultValue(_ name: [UInt8], _ node: ParameterRegistry.Node) throws(Fatal) -> [UInt8] {
        switch node.source {
        case .service(let base): return [0x24] + base
        case .user: return []
        case .builtin(let i):
            let p = BuiltinParameters.all[i]
            switch p.kind {
            case .hostDependent:
                switch String(decoding: p.name, as: UTF8.self) {
                case "myhostname": return try checkMyhostname()
                case "mydomain": return try checkMydomain()
                default: return try mynetworks()
                }
            case .adhoc:
                switch String(decoding: p.name, as: UTF8.self) {
                case "process_name": return processName
                case "process_id": return Array(String(processID).utf8)
                default: return []
                }
            default:
                return p.defaultValue
            }
        }
    }

    /// `mail_conf_lookup_eval`: a main.cf value expanded against main.cf only.
    func mainLookupEval(_ name: String) throws(Fatal) -> [UInt8]? {
        guard let value = mainTable[Array(text: name)] else { return nil }
        return try evalInTable(mainTable, value, tableName: "mail_dict")
    }

    /// `dict_eval(name, value, RECURSIVE)`: expand with the names of one table only.
    func evalInTable(_ table: ParameterDictionary, _ value: [UInt8], tableName: String) throws(Fatal) -> [UInt8] {
        let outcome = MacroExpander.expand(value, options: expansionOptions, lookup: { name, _ in table[name] },
                                           warn: messages.warning)
        if let f = outcome.fatal { throw Fatal(f) }
        if outcome.status.contains(.error) { throw Fatal("dictionary \(tableName): macro processing error") }
        return outcome.text
    }

    private func checkMyhostname() throws(Fatal) -> [UInt8] {
        if let checkedHostname { return checkedHostname }
        var name = try HostNetworks.hostname()
        if !name.contains(0x2E) {
            let domain = try mainLookupEval("mydomain") ?? Array(text: "localdomain")
            name += [0x2E] + domain
        }
        checkedHostname = name
        return name
    }

    private func checkMydomain() throws(Fatal) -> [UInt8] {
        if let checkedDomain { return checkedDomain }
        if myhostname == nil {
            if let explicit = try mainLookupEval("myhostname") {
                myhostname = explicit
            } else {
                myhostname = try checkMyhostname()
            }
        }
        let host = myhostname ?? []
        let domain = host.firstIndex(of: 0x2E).map { Array(host[($0 + 1)...]) } ?? Array(text: "localdomain")
        checkedDomain = domain
        return domain
    }

    private func mynetworksInput(_ name: String) throws(Fatal) -> [UInt8] {
        if !mode.contains(.showDefaults), let value = try mainLookupEval(name) { return value }
        let fallback = BuiltinParameters.lookup(Array(text: name))?.defaultValue ?? []
        return try expand(fallback, mode: mode, scope: nil)
    }

    private func mynetworks() throws(Fatal) -> [UInt8] {
        if let networks { return networks }
        let interfaces = try mynetworksInput("inet_interfaces")
        let style = try mynetworksInput("mynetworks_style")
        let protocols = try mynetworksInput("inet_protocols")
        let value: [UInt8]
        do throws(Fatal) {
            value = try HostNetworks.networks(style: style, inetInterfaces: interfaces, protocols: protocols,
                                              warn: messages.warning)
        } catch {
            guard lenientHostDefaults else { throw error }
            messages.warning("cannot compute the default mynetworks: \(error.message)")
            value = []
        }
        networks = value
        return value
    }

    // MARK: lookup and expansion

    /// `pcf_lookup_parameter_value`: master.cf scope, then main.cf, then the default (unless `-n`).
    func lookup(_ name: [UInt8], mode: PostconfMode, scope: MasterEntry?,
                node: ParameterRegistry.Node? = nil) throws(Fatal) -> [UInt8]? {
        if !mode.contains(.showDefaults) {
            var value: [UInt8]?
            if let scope { value = scope.readOnly[name] ?? scope.parameters?[name] }
            if value == nil { value = mainTable[name] }
            if value != nil || mode.contains(.showNondefault) { return value }
        }
        guard let n = node ?? registry[name] else { return nil }
        return try defaultValue(name, n)
    }

    /// `pcf_expand_parameter_value`: `$name` expanded recursively; a syntax error is fatal.
    func expand(_ value: [UInt8], mode: PostconfMode, scope: MasterEntry?) throws(Fatal) -> [UInt8] {
        let lookupMode = mode.subtracting(.showNondefault)
        var failure: Fatal?
        let outcome = MacroExpander.expand(value, options: expansionOptions, lookup: { name, _ in
            if failure != nil { return nil }
            do throws(Fatal) {
                return try self.lookup(name, mode: lookupMode, scope: scope)
            } catch {
                failure = error
                return nil
            }
        }, warn: messages.warning)
        if let failure { throw failure }
        if let f = outcome.fatal { throw Fatal(f) }
        if outcome.status.contains(MacroExpander.Status.error) { throw Fatal("macro processing error") }
        return outcome.text
    }

    // MARK: user-defined parameters

    /// `pcf_flag_user_parameter`: a `$name` (or restriction class, or database parameter) makes `name`
    /// valid where it has a value; without any value or default it is undefined.
    func flagUserParameter(_ name: [UInt8], class cls: ParameterRegistry.Flags, scope: MasterEntry?) {
        let source = scope == nil ? "main.cf" : "master.cf"
        var supplied = false
        if let scope, scope.parameters?[name] != nil {
            supplied = true
            scope.validNames.insert(name)
        } else if mainTable[name] != nil {
            supplied = true
            if !registry.contains(name) { registry.enter(name, .init(flags: cls, source: .user)) }
        }
        if scope == nil {
            for entry in master where entry.parameters?[name] != nil {
                supplied = true
                entry.validNames.insert(name)
            }
        }
        if !supplied, !cls.contains(.dbms), !registry.contains(name) {
            messages.warning("\(directory)/\(source): undefined parameter: \(ConfigText.text(name))")
        }
    }

    /// Visit the `$name`s of a value (`MAC_EXP_FLAG_SCAN`), flagging each.
    func scanValue(_ value: [UInt8], class cls: ParameterRegistry.Flags, scope: MasterEntry?) {
        _ = MacroExpander.expand(value, options: .scan, lookup: { name, _ in
            self.flagUserParameter(name, class: cls, scope: scope)
            return nil
        }, warn: messages.warning)
    }

    /// `pcf_scan_user_parameter_namespace`.
    private func scanNameSpace(_ table: ParameterDictionary, tableName: String, scope: MasterEntry?) throws(Fatal) {
        let source = scope == nil ? "main.cf" : "master.cf"
        if let list = table[Array(text: "smtpd_restriction_classes")] {
            let classes = try evalInTable(table, list, tableName: tableName)
            for name in ConfigText.tokens(classes, ConfigText.isCommaOrBlank) {
                if scope == nil { restrictionClasses.insert(name) }
                flagUserParameter(name, class: .user, scope: scope)
            }
        }
        for (name, value) in table.entries {
            if let scope, !scope.validNames.contains(name), restrictionClasses.contains(name) {
                scope.validNames.insert(name)
            }
            let node = registry[name]
            if let node {
                if node.flags.contains(.readOnly) {
                    messages.warning("\(directory)/\(source): read-only parameter assignment: \(ConfigText.text(name))=\(ConfigText.text(value))")
                    table.remove(name)
                    continue
                }
                if node.flags.contains(.legacy) { registry.overrideClass(name, .user) }
                if node.flags.contains(.raw) { continue }
            }
            scanValue(value, class: .user, scope: scope)
            if let node, !node.flags.intersection([.builtin, .service]).isEmpty {
                try registerDatabaseParameters(value, scope: scope)
            }
        }
    }

    /// `pcf_register_user_parameters`.
    func registerUserParameters() throws(Fatal) {
        for entry in master {
            let settings = entry.optionSettings
            if !settings.isEmpty || nameSpaces[entry.nameSpace] != nil {
                let table: ParameterDictionary
                if let shared = nameSpaces[entry.nameSpace] {
                    table = shared
                } else {
                    table = ParameterDictionary()
                    nameSpaces[entry.nameSpace] = table
                }
                for (name, value) in settings { table.set(name, value) }
                entry.parameters = table
            }
        }
        for entry in master {
            if let table = entry.parameters {
                try scanNameSpace(table, tableName: ConfigText.text(entry.nameSpace), scope: entry)
            }
        }
        // Defaults can mention obsolete names for compatibility: those are used, not unused.
        for name in registry.order {
            guard let node = registry[name] else { continue }
            if node.flags.contains(.raw) || mainTable[name] != nil { continue }
            scanValue(try defaultValue(name, node), class: .user, scope: nil)
        }
        try scanNameSpace(mainTable, tableName: "mail_dict", scope: nil)
    }

    // MARK: legacy database parameters

    /// The types whose name is a client configuration file or a main.cf prefix.
    private static let databaseTypes = Set(MapCatalog.names { $0.files == .clientConfig })

    /// `pcf_register_dbms_parameters`: `ldap:foo` in a value makes `foo_server_host` etc. valid;
    /// `ldap:/path` has its client file checked for unknown names.
    private func registerDatabaseParameters(_ value: [UInt8], scope: MasterEntry?) throws(Fatal) {
        let expanded = try expand(value, mode: .expand, scope: scope)
        try registerDatabaseHelper(expanded, scope: scope, recurse: true)
    }

    private func braceWarning(_ error: String, scope: MasterEntry?) {
        if let scope {
            let file = rules.bracesWarningFullPath ? masterPath : "master.cf"
            messages.warning("\(file):\(ConfigText.text(scope.nameSpace)): \(error)")
        } else {
            messages.warning("\(rules.bracesWarningFullPath ? mainPath : "main.cf"): \(error)")
        }
    }

    /// `pcf_register_dbms_helper`. `recurse` is false inside the inline text of a pattern type (3.9 on).
    private func registerDatabaseHelper(_ text: [UInt8], scope: MasterEntry?, recurse: Bool) throws(Fatal) {
        for range in ConfigText.quotedTokenRanges(text, ConfigText.isCommaOrBlank) {
            let token = Array(text[range])
            if rules.warnsCommentAfterText, token.first == 0x23 {
                // mystrtokq_cw: the token, then at most 20 bytes of what follows its separator.
                let rest = text[min(range.upperBound + 1, text.count)...].prefix(20)
                messages.warning("\(scope == nil ? mainPath : masterPath): #comment after other text is not allowed: "
                                 + "\(ConfigText.text(token)) \(ConfigText.text(Array(rest)))...")
                return
            }
            if token.first == 0x7B {
                let (inner, error) = ConfigText.extractBraces(token, strip: false)
                if let error { braceWarning(error, scope: scope) }
                if recurse { try registerDatabaseHelper(inner, scope: scope, recurse: recurse) }
                continue
            }
            var type = token[...]
            var prefix: ArraySlice<UInt8>?
            while let colon = type.firstIndex(of: 0x3A) {
                prefix = type[(colon + 1)...]
                let head = type[..<colon]
                if Array(head) == Array("proxy".utf8), let p = prefix {
                    type = p
                    prefix = nil
                    continue
                }
                type = head
                break
            }
            guard let prefix else { continue }
            let typeName = String(decoding: type, as: UTF8.self)
            let isPatternType = rules.patternTypes.contains(typeName)
            if prefix.first == 0x2F {
                if !isPatternType, Self.databaseTypes.contains(typeName) || BuiltinParameters.dbmsSuffixes[typeName] != nil {
                    try checkClientFile(type: typeName, path: Array(prefix))
                }
                continue
            }
            if prefix.first == 0x2E { continue }
            if prefix.first == 0x7B {
                let (inner, error) = ConfigText.extractBraces(Array(prefix), strip: false)
                if let error { braceWarning(error, scope: scope) }
                try registerDatabaseHelper(inner, scope: scope, recurse: recurse && !isPatternType)
                continue
            }
            if isPatternType { continue }
            guard let suffixes = BuiltinParameters.clientParameterNames(typeName) else { continue }
            for suffix in suffixes {
                flagUserParameter(Array(prefix) + [0x5F] + suffix, class: [.dbms, .user], scope: scope)
            }
        }
    }

    /// `pcf_check_dbms_client`: warn about names in a database client file that its type does not know.
    private func checkClientFile(type: String, path: [UInt8]) throws(Fatal) {
        let spec = Array(type.utf8) + [0x3A] + path
        guard checkedClientFiles.insert(spec).inserted else { return }
        let pathText = ConfigText.text(path)
        let fd = open(pathText, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            if errno != EACCES {
                messages.warning("open \"\(type)\" configuration \"\(pathText)\": \(systemErrorText(errno))")
            }
            return
        }
        defer { close(fd) }
        var st = stat()
        if fstat(fd, &st) == 0, st.st_mode & S_IFMT != S_IFREG {
            messages.warning("open \"\(type)\" configuration \"\(pathText)\": not a regular file")
            return
        }
        let table = ParameterDictionary()
        let reader = ByteReader(fd: fd, path: pathText)
        try ConfigFileReader.loadLines(LogicalLineReader(reader, warning: messages.warning), path: pathText,
                                       into: table, warn: messages.warning)
        if reader.readError != 0 {
            messages.warning("read \"\(type)\" configuration \"\(pathText)\": \(systemErrorText(reader.readError))")
            return
        }
        guard warnUnusedDeprecated else { return }
        for suffix in BuiltinParameters.clientParameterNames(type) ?? [] { table.remove(suffix) }
        for (name, value) in table.entries {
            messages.warning("\(ConfigText.text(spec)): unused parameter: \(ConfigText.text(name))=\(ConfigText.text(value))")
        }
    }

    // MARK: unused parameters

    /// `pcf_flag_unused_main_parameters` (nothing with `-q`).
    func flagUnusedMainParameters() {
        guard warnUnusedDeprecated else { return }
        for (name, value) in mainTable.entries {
            flagUnused(name, value, file: "main.cf", used: registry.contains(name))
        }
    }

    /// `pcf_flag_unused_master_parameters` (nothing with `-q`).
    func flagUnusedMasterParameters() {
        guard warnUnusedDeprecated else { return }
        for entry in master {
            guard let table = entry.parameters else { continue }
            for (name, value) in table.entries {
                flagUnused(name, value, file: "master.cf", used: registry.contains(name) || entry.validNames.contains(name))
            }
        }
    }

    /// `pcf_flag_unused_parameters` for one name: unused (or removed, when the release lists it as
    /// deprecated), or used but deprecated.
    private func flagUnused(_ name: [UInt8], _ value: [UInt8], file: String, used: Bool) {
        let advice = DeprecatedParameters.advice(for: name, release: rules.release)
        if !used {
            out.flush()
            if let advice {
                messages.warning("\(directory)/\(file): support for parameter \(ConfigText.text(name)) has been removed; instead, \(advice)")
            } else {
                messages.warning("\(directory)/\(file): unused parameter: \(ConfigText.text(name))=\(ConfigText.text(value))")
            }
        } else if let advice {
            out.flush()
            messages.warning("\(directory)/\(file): support for parameter \"\(ConfigText.text(name))\" will be removed; instead, \(advice)")
        }
    }
}
