import PostfixText
import CLDAP
import Maps
import PostfixConfig
#if canImport(Glibc)
import Glibc
#endif

/// Postfix's `ldap` table (`ldap_table(5)`): each lookup is an LDAP search built from the key, and the
/// result is the values of the result attributes, formatted and joined with commas. Entries whose
/// special attributes hold DNs or LDAP URLs (groups) are expanded recursively.
///
/// A server that cannot be reached, refuses the bind, answers with an error or is slower than `timeout`
/// makes the lookup fail with a temporary error, never "not found". A lost connection is reopened once
/// per lookup; `server_host` may list several servers, tried in order.
final class LDAPTable: LookupTable {
    let type = "ldap"
    let name: String
    private var settings: LDAPSettings
    private let connection: SharedConnection
    private let diagnostics: Diagnostics
    private let attributeList: CStringList
    private let fold: Bool
    private let utf8Active: Bool
    /// The session used by the current lookup (Postfix's `dict_ldap->ld`).
    private var ld: OpaquePointer?
    /// Set when the current lookup has failed (Postfix's `dict.error`).
    private var failed = false
    private var recursion = 0
    private var expansion = 0
    /// Searches sent ahead by `prefetch`, by search base and filter, oldest first, and the handle
    /// generation they were sent on.
    private var pipeline: [[UInt8]: [Int32]] = [:]
    private var pipelineGeneration = -1
    private var pipelineDepth = 0
    /// The errno the first lookup starts from: what Postfix's `dict_ldap_open` leaves behind (see init).
    private var errnoAfterOpen: Int32 = 0

    /// The integer settings Postfix reads with `cfg_get_int`, whose `strtol` starts from `errno = 0`.
    private static let integerSettings = ["server_port", "version", "timeout", "cache_expiry", "cache_size",
                                          "recursion_limit", "expansion_limit", "size_limit", "dereference",
                                          "debuglevel"]

    init(name: String, request: OpenRequest) throws(MapError) {
        if request.mode != .readOnly {
            throw .usage("ldap:\(name) map requires O_RDONLY access mode")
        }
        self.name = name
        try LDAPLibrary.load(table: name)
        diagnostics = request.diagnostics
        let warn = request.diagnostics.warning
        // Postfix's dict_ldap_open first asks the library for its version, which makes the library read
        // its own configuration (ldap.conf, ldaprc) and leaves the errno of the last file it did not find;
        // then each integer setting that is present is read with errno reset to 0. A lookup that fails
        // without a system error of its own (a server name that does not resolve) prints that errno as
        // its `%m`: "Application error" when it is 0.
        var protocolVersion: Int32 = 0
        _ = ldap_get_option(nil, LDAP_OPT_PROTOCOL_VERSION, &protocolVersion)
        let afterLibraryStart = cldap_errno()
        let parameters = try TableParameters(name: name, mainParameter: request.settings.mainParameter, warn: { warn($0) })
        settings = try LDAPSettings(parameters, request: request)
        var integers = Self.integerSettings
        if settings.bind == .sasl { integers.append("sasl_minssf") }
        errnoAfterOpen = integers.contains(where: parameters.isSet) ? 0 : afterLibraryStart
        attributeList = CStringList(settings.attributes)
        fold = request.flags.contains(.foldFixed)
        utf8Active = request.utf8Active
        connection = ConnectionPool.acquire(settings.connectionKey)
    }

    func close() {
        settings.domains?.close()
        ConnectionPool.release(connection)
    }

    // MARK: Lookup

    /// Every lookup and prefetch takes its turn on the shared session (and so on this table's state).
    var concurrentLookups: Bool { true }

    var sourceFiles: [String] { name.hasPrefix("/") || name.hasPrefix(".") ? [name] : [] }

    func lookup(_ key: [UInt8]) throws(MapError) -> [UInt8]? {
        try connection.turn.withLock { () throws(MapError) -> [UInt8]? in try lookupInTurn(key) }
    }

    private func lookupInTurn(_ key: [UInt8]) throws(MapError) -> [UInt8]? {
        failed = false
        cldap_set_errno(errnoAfterOpen)
        errnoAfterOpen = 0
        guard let name = searchKey(key) else { return nil }
        if let domains = settings.domains {
            do {
                if try !inDomains(name, domains) { return nil }
            } catch {
                throw .temporary("ldap:\(self.name): domain check failed", errno: cldap_errno())
            }
        }
        ld = connection.handle
        if ld == nil {
            guard connect() else { throw failure() }
        }
        guard let ld else { throw failure() }
        if !applySizeLimit(ld) {
            diagnostics.warning("dict_ldap_lookup: \(self.name): Unable to set query result size limit to \(settings.sizeLimit).")
            throw failure()
        }
        guard let (base, filter) = searchTerms(name, diagnostics: diagnostics) else { return nil }

        var res: OpaquePointer?
        var rc: Int32
        if let msgid = takePrefetched(base, filter) {
            rc = awaitSearch(msgid, result: &res)
        } else {
            rc = search(base, scope: settings.scope, filter: filter, attributes: attributeList.pointer, result: &res)
        }
        if rc == LDAP_SERVER_DOWN {
            if let res { ldap_msgfree(res) }
            res = nil
            connection.drop()
            self.ld = nil
            guard connect() else { throw failure() }
            rc = search(base, scope: settings.scope, filter: filter, attributes: attributeList.pointer, result: &res)
        }
        defer { if let res { ldap_msgfree(res) } }
        var result: [UInt8] = []
        switch rc {
        case LDAP_SUCCESS:
            if let res { collectValues(res, into: &result, key: name) }
            if let current = self.ld {
                let code = cldap_result_code(current)
                if code != LDAP_SUCCESS && code != LDAP_DECODING_ERROR {
                    diagnostics.warning("dict_ldap_lookup: Had some trouble with entries returned by search: \(LDAPSettings.errorText(code))")
                }
            }
        case LDAP_NO_SUCH_OBJECT where settings.dynamicBase:
            // A key-dependent search base that does not exist: the key is not there.
            break
        case LDAP_NO_SUCH_OBJECT:
            diagnostics.warning("dict_ldap_lookup: \(self.name): Search base '\(ByteText.string(Array(base.dropLast())))' not found: \(rc): \(LDAPSettings.errorText(rc))")
            failed = true
        default:
            diagnostics.warning("dict_ldap_lookup: Search error \(rc): \(LDAPSettings.errorText(rc)) ")
            // Start from scratch on the next lookup.
            connection.drop()
            self.ld = nil
            failed = true
        }
        if failed { throw failure() }
        return result.isEmpty ? nil : result
    }

    // MARK: Pipelining

    /// Send the searches for keys about to be looked up, on an established connection, so their round
    /// trips overlap. Each key gets exactly the search `lookup` would send; a key that `lookup` would
    /// skip or warn about is left alone, and nothing is printed here. `lookup` then waits for the answer
    /// it finds waiting, with the same timeout and the same handling as a search of its own.
    func prefetch(_ keys: [[UInt8]]) {
        connection.turn.withLock { prefetchInTurn(keys) }
    }

    private func prefetchInTurn(_ keys: [[UInt8]]) {
        guard let ld = connection.handle, !connection.untried, keys.count > 1 else { return }
        if let domains = settings.domains, !domains.isLiteral { return }
        if pipelineGeneration != connection.generation {
            pipeline.removeAll()
            pipelineDepth = 0
            pipelineGeneration = connection.generation
        }
        guard applySizeLimit(ld) else { return }
        let saved = cldap_errno()
        defer { cldap_set_errno(saved) }
        for key in keys where pipelineDepth < 64 {
            guard let name = searchKey(key) else { continue }
            if let domains = settings.domains, (try? inDomains(name, domains)) != true { continue }
            guard let (base, filter) = searchTerms(name, diagnostics: .silent) else { continue }
            var msgid: Int32 = 0
            let rc = withCStrings(base, filter) { b, f in
                cldap_search(ld, b, settings.scope, f, attributeList.pointer, settings.timeout, &msgid)
            }
            guard rc == LDAP_SUCCESS else { break }
            pipeline[base + filter, default: []].append(msgid)
            pipelineDepth += 1
        }
    }

    // MARK: The search a key makes

    /// The key as the search sees it, or nil for a key that is not searched (not UTF-8 while the UTF-8
    /// layer is off): lowercased unless `-f`.
    private func searchKey(_ key: [UInt8]) -> [UInt8]? {
        if !utf8Active && !CaseFolding.isASCII(key) && !CaseFolding.isValidUTF8(key) { return nil }
        return fold ? CaseFolding.asciiLowercased(key) : key
    }

    /// Whether the key's domain is on the `domain` list; a key without a local part or domain is not.
    private func inDomains(_ name: [UInt8], _ domains: DomainList) throws(MapError) -> Bool {
        guard let at = name.lastIndex(of: 0x40), at > 0 else { return false }
        return try domains.contains(Array(name[(at + 1)...]))
    }

    /// Postfix sets the size limit on the shared session before each search (another table may have
    /// changed it).
    private func applySizeLimit(_ ld: OpaquePointer) -> Bool {
        let sizeLimit = Int32(clamping: settings.sizeLimit)
        return cldap_set_int(ld, LDAP_OPT_SIZELIMIT, sizeLimit != 0 ? sizeLimit : LDAP_NO_LIMIT) == LDAP_OPT_SUCCESS
    }

    /// The search base and filter for a key, each NUL-terminated; nil when a template skips the key.
    private func searchTerms(_ name: [UInt8], diagnostics: Diagnostics) -> (base: [UInt8], filter: [UInt8])? {
        var base: [UInt8] = []
        guard settings.templates.expand(settings.searchBase, value: name, key: nil, into: &base,
                                        quote: QueryTemplates.quoteDN, diagnostics: diagnostics) else { return nil }
        var filter: [UInt8] = []
        guard settings.templates.expand(settings.queryFilter, value: name, key: nil, into: &filter,
                                        quote: QueryTemplates.quoteFilter, diagnostics: diagnostics) else { return nil }
        return (base + [0], filter + [0])
    }

    /// The message id of a search for `base` and `filter` sent ahead on the current handle, if any.
    private func takePrefetched(_ base: [UInt8], _ filter: [UInt8]) -> Int32? {
        guard pipelineDepth > 0 else { return nil }
        guard pipelineGeneration == connection.generation, ld == connection.handle else {
            pipeline.removeAll()
            pipelineDepth = 0
            return nil
        }
        let key = base + filter
        guard var ids = pipeline[key], !ids.isEmpty else { return nil }
        let msgid = ids.removeFirst()
        pipeline[key] = ids.isEmpty ? nil : ids
        pipelineDepth -= 1
        return msgid
    }

    /// The temporary error of a failed lookup, with the errno the client library left (Postfix's `%m`).
    private func failure() -> MapError {
        .temporary("ldap:\(name): lookup failed", errno: cldap_errno())
    }

    // MARK: Connecting

    /// Open, configure and bind a new session; on failure warn as Postfix does, leave no session and
    /// return false.
    private func connect() -> Bool {
        let s = settings
        let connectName = "dict_ldap_connect"
        var level = s.debugLevel
        if s.debugLevel > 0 {
            LDAPDebugLog.sink.withLock { $0 = diagnostics }
            if ber_set_option(nil, LBER_OPT_LOG_PRINT_FN, unsafeBitCast(LDAPDebugLog.printer, to: UnsafeRawPointer.self)) != LBER_OPT_SUCCESS {
                diagnostics.warning("\(connectName): Unable to set ber logprint function.")
            }
        }
        if ber_set_option(nil, LBER_OPT_DEBUG_LEVEL, &level) != LBER_OPT_SUCCESS {
            diagnostics.warning("\(connectName): Unable to set BER debug level.")
        }
        if ldap_set_option(nil, LDAP_OPT_DEBUG_LEVEL, &level) != LDAP_OPT_SUCCESS {
            diagnostics.warning("\(connectName): Unable to set LDAP debug level.")
        }

        var handle: OpaquePointer?
        _ = s.serverURLs.withCString { ldap_initialize(&handle, $0) }
        guard let ld = handle else {
            diagnostics.warning("\(connectName): Unable to init LDAP server \(s.serverURLs)")
            return false
        }
        // Connection set-up is bounded by the timeout too: a server that accepts the connection and then
        // stops answering cannot hold a TLS handshake (ldaps://) longer than that.
        let watchdog = cldap_guard_new(s.timeout)
        if let watchdog { _ = cldap_guard_install(ld, watchdog) }
        // Close the session. `%m` later shows the errno after the unbind, as in Postfix; after a failed
        // StartTLS, Postfix does not unbind, so it shows the errno of the StartTLS.
        func giveUp(keepingErrno: Bool = false) -> Bool {
            let before = cldap_errno()
            _ = ldap_unbind_ext(ld, nil, nil)
            let saved = keepingErrno ? before : cldap_errno()
            cldap_guard_free(watchdog)
            cldap_set_errno(saved)
            return false
        }
        let timeout = s.timeout
        if cldap_set_timeout(ld, LDAP_OPT_NETWORK_TIMEOUT, timeout) != LDAP_OPT_SUCCESS {
            diagnostics.warning("\(connectName): Unable to set network timeout.")
            return giveUp()
        }
        // Postfix bounds STARTTLS with an alarm; the library's own API timeout bounds it here, and every
        // other synchronous exchange (TLS handshakes, SASL) with it.
        _ = cldap_set_timeout(ld, LDAP_OPT_TIMEOUT, timeout)
        if cldap_set_int(ld, LDAP_OPT_PROTOCOL_VERSION, s.version) != LDAP_OPT_SUCCESS {
            diagnostics.warning("\(connectName): Unable to set LDAP protocol version")
            return giveUp()
        }
        if s.sizeLimit != 0, cldap_set_int(ld, LDAP_OPT_SIZELIMIT, Int32(clamping: s.sizeLimit)) != LDAP_OPT_SUCCESS {
            diagnostics.warning("\(connectName): \(name): Unable to set query result size limit to \(s.sizeLimit).")
            return giveUp()
        }
        if cldap_set_int(ld, LDAP_OPT_DEREF, s.dereference) != LDAP_OPT_SUCCESS {
            diagnostics.warning("\(connectName): Unable to set dereference option.")
        }
        if cldap_set_flag(ld, LDAP_OPT_REFERRALS, s.chaseReferrals ? 1 : 0) != LDAP_OPT_SUCCESS {
            diagnostics.warning("\(connectName): Unable to set Referral chasing.")
            return giveUp()
        }
        if !setTLSOptions(ld) { return giveUp() }
        if s.startTLS {
            cldap_guard_arm(watchdog, 1)
            let rc = ldap_start_tls_s(ld, nil, nil)
            cldap_guard_disarm(watchdog)
            if rc != LDAP_SUCCESS {
                diagnostics.error("\(connectName): Unable to set STARTTLS: \(rc): \(LDAPSettings.errorText(rc))")
                return giveUp(keepingErrno: true)
            }
        }
        if s.bind != .none {
            cldap_guard_arm(watchdog, 1)
            let rc = s.bind == .sasl ? bindSASL(ld) : bindSimple(ld)
            cldap_guard_disarm(watchdog)
            if rc != LDAP_SUCCESS {
                let dn = s.bindDN.isEmpty ? "empty or implicit" : s.bindDN
                diagnostics.warning("\(connectName): Unable to bind to server \(s.serverURLs) with dn \(dn): \(rc) (\(LDAPSettings.errorText(rc)))")
                return giveUp()
            }
        }
        connection.handle = ld
        connection.generation += 1
        connection.watchdog = watchdog
        connection.untried = s.bind == .none && !s.startTLS
        self.ld = ld
        return true
    }

    private func setTLSOptions(_ ld: OpaquePointer) -> Bool {
        let s = settings
        guard s.usesTLS else { return true }
        let name = "dict_ldap_set_tls_options"
        let strings: [(String, Int32, String)] = [
            ("tls_random_file", LDAP_OPT_X_TLS_RANDOM_FILE, s.tlsRandomFile),
            ("tls_ca_cert_file", LDAP_OPT_X_TLS_CACERTFILE, s.tlsCACertFile),
            ("tls_ca_cert_dir", LDAP_OPT_X_TLS_CACERTDIR, s.tlsCACertDir),
            ("tls_cert", LDAP_OPT_X_TLS_CERTFILE, s.tlsCert),
            ("tls_key", LDAP_OPT_X_TLS_KEYFILE, s.tlsKey),
            ("tls_cipher_suite", LDAP_OPT_X_TLS_CIPHER_SUITE, s.tlsCipherSuite),
        ]
        for (parameter, option, value) in strings where !value.isEmpty {
            let rc = value.withCString { cldap_set_string(ld, option, $0) }
            if rc != LDAP_SUCCESS {
                diagnostics.warning("\(name): Unable to set \(parameter) to \(value): \(rc): \(LDAPSettings.errorText(rc))")
                return false
            }
        }
        let require = s.tlsRequireCert ? LDAP_OPT_X_TLS_DEMAND : LDAP_OPT_X_TLS_NEVER
        var rc = cldap_set_int(ld, LDAP_OPT_X_TLS_REQUIRE_CERT, require)
        if rc != LDAP_SUCCESS {
            diagnostics.warning("\(name): Unable to set tls_require_cert to \(require): \(rc): \(LDAPSettings.errorText(rc))")
            return false
        }
        rc = cldap_set_int(ld, LDAP_OPT_X_TLS_NEWCTX, 0)
        if rc != LDAP_SUCCESS {
            diagnostics.warning("\(name): Unable to allocate new TLS context \(rc): \(LDAPSettings.errorText(rc))")
            return false
        }
        return true
    }

    /// Wait for the answer to `msgid` for at most `timeout` seconds; a timeout abandons the request.
    private func awaitResult(_ ld: OpaquePointer, _ msgid: Int32, _ result: inout OpaquePointer?) -> Int32 {
        // The session's result code is read below as Postfix reads it; when the answer was already
        // received (a search sent ahead), nothing resets it, so it must not carry an earlier result.
        _ = cldap_set_result_code(ld, LDAP_SUCCESS)
        if cldap_result(ld, msgid, 1, settings.timeout, &result) == -1 {
            return cldap_result_code(ld)
        }
        let code = cldap_result_code(ld)
        if code != LDAP_SUCCESS {
            if code == LDAP_TIMEOUT {
                _ = ldap_abandon_ext(ld, msgid, nil, nil)
                return cldap_set_result_code(ld, LDAP_TIMEOUT)
            }
            return code
        }
        return result == nil ? cldap_set_result_code(ld, LDAP_TIMEOUT) : LDAP_SUCCESS
    }

    private func bindSimple(_ ld: OpaquePointer) -> Int32 {
        var msgid: Int32 = 0
        var rc = cldap_simple_bind(ld, settings.bindDN, settings.bindPassword, &msgid)
        guard rc == LDAP_SUCCESS else { return rc }
        var res: OpaquePointer?
        rc = awaitResult(ld, msgid, &res)
        guard rc == LDAP_SUCCESS, let res else { return rc }
        var err: Int32 = LDAP_SUCCESS
        rc = ldap_parse_result(ld, res, &err, nil, nil, nil, nil, 1)
        return rc == LDAP_SUCCESS ? err : rc
    }

    private func bindSASL(_ ld: OpaquePointer) -> Int32 {
        let s = settings
        return s.saslMechanisms.withCString { mechs in
            s.bindDN.withCString { authcid in
                s.bindPassword.withCString { password in
                    s.saslRealm.withCString { realm in
                        s.saslAuthzID.withCString { authz in
                            cldap_sasl_bind(ld, mechs, authcid, password, realm, authz, Int32(clamping: s.saslMinSSF))
                        }
                    }
                }
            }
        }
    }

    // MARK: Searching

    /// Postfix's `search_st`: search with the table's time limit and wait for all entries.
    private func search(_ base: UnsafePointer<CChar>?, scope: Int32, filter: UnsafePointer<CChar>?,
                        attributes: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>,
                        result: inout OpaquePointer?) -> Int32 {
        guard let ld else { return LDAP_SERVER_DOWN }
        var msgid: Int32 = 0
        // Without a bind, the first search is what connects: bound it like a bind.
        let first = connection.untried
        if first { cldap_guard_arm(connection.watchdog, 1) }
        let rc = cldap_search(ld, base, scope, filter, attributes, settings.timeout, &msgid)
        if first {
            cldap_guard_disarm(connection.watchdog)
            connection.untried = false
        }
        guard rc == LDAP_SUCCESS else { return rc }
        return awaitSearch(msgid, result: &result)
    }

    /// Wait for the entries and the result of search `msgid`; the result code, as `search` returns it.
    private func awaitSearch(_ msgid: Int32, result: inout OpaquePointer?) -> Int32 {
        guard let ld else { return LDAP_SERVER_DOWN }
        var rc = awaitResult(ld, msgid, &result)
        guard rc == LDAP_SUCCESS, let res = result else { return rc }
        var err: Int32 = LDAP_SUCCESS
        rc = ldap_parse_result(ld, res, &err, nil, nil, nil, nil, 0)
        return err != LDAP_SUCCESS ? err : rc
    }

    private func search(_ base: [UInt8], scope: Int32, filter: [UInt8],
                        attributes: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>,
                        result: inout OpaquePointer?) -> Int32 {
        withCStrings(base, filter) { b, f in
            search(b, scope: scope, filter: f, attributes: attributes, result: &result)
        }
    }

    /// The values of one attribute of an entry, each cut at its first NUL as Postfix reads them; nil
    /// when the entry has no such attribute.
    private func values(_ ld: OpaquePointer, _ entry: OpaquePointer, _ attribute: UnsafePointer<CChar>) -> [[UInt8]]? {
        guard let vals = ldap_get_values_len(ld, entry, attribute) else { return nil }
        defer { ldap_value_free_len(vals) }
        let count = Int(ldap_count_values_len(vals))
        var out: [[UInt8]] = []
        out.reserveCapacity(count)
        for i in 0..<count {
            guard let bv = vals[i] else { continue }
            let length = Int(bv.pointee.bv_len)
            guard let start = bv.pointee.bv_val, length > 0 else { out.append([]); continue }
            let bytes = UnsafeRawBufferPointer(start: start, count: length)
            let end = bytes.firstIndex(of: 0) ?? length
            out.append(Array(bytes[..<end]))
        }
        return out
    }

    /// RFC 2251 §4.1.4: 1 when `a2` is `a1` or a subtype of it (`a1;option`), -1 when `a1` is a subtype of
    /// `a2`, 0 for different attributes. Names compare without regard to case.
    static func subtype(_ a1: [UInt8], _ a2: [UInt8]) -> Int {
        var i = 0
        while i < a1.count, i < a2.count, CaseFolding.asciiLowercased([a1[i]]) == CaseFolding.asciiLowercased([a2[i]]) { i += 1 }
        if i == a1.count && (i == a2.count || a2[i] == 0x3B) { return 1 }
        if i == a2.count && i < a1.count && a1[i] == 0x3B { return -1 }
        return 0
    }

    /// Postfix's `dict_ldap_get_values`: collect the formatted values of every entry in `res`, and expand
    /// the DNs and URLs of special attributes by searching again, up to `recursion_limit` deep.
    private func collectValues(_ res: OpaquePointer, into result: inout [UInt8], key: [UInt8]) {
        guard let ld else { return }
        recursion += 1
        defer { recursion -= 1 }
        if recursion == 1 { expansion = 0 }
        let s = settings
        let level = recursion
        var entries = 0
        // Like Postfix, these carry over from one entry to the next when an entry has none of the
        // attributes that would decide them.
        var isLeaf = true
        var isTerminal = false
        let attributeBytes = s.attributes.map { Array($0.utf8) }

        var entry = ldap_first_entry(ld, res)
        while let current = entry {
            defer { entry = ldap_next_entry(ld, current) }
            if !failed && s.sizeLimit != 0 {
                entries += 1
                if entries > s.sizeLimit {
                    diagnostics.warning("dict_ldap_get_values[\(level)]: \(name): Query size limit (\(s.sizeLimit)) exceeded")
                    failed = true
                }
            }
            if s.terminalCount > 0 {
                for i in 0..<s.terminalCount {
                    guard let vals = attributeList.pointer[i].flatMap({ values(ld, current, $0) }) else { continue }
                    isTerminal = !vals.isEmpty
                    if isTerminal { break }
                }
            }
            if !isTerminal && s.leafCount > 0 {
                for i in s.ordinaryEnd..<s.attributes.count {
                    guard let vals = attributeList.pointer[i].flatMap({ values(ld, current, $0) }) else { continue }
                    isLeaf = vals.isEmpty
                    if !isLeaf { break }
                }
            }
            var ber: OpaquePointer?
            var attribute = ldap_first_attribute(ld, current, &ber)
            while let attr = attribute {
                defer {
                    ldap_memfree(attr)
                    attribute = ldap_next_attribute(ld, current, ber)
                }
                guard let vals = values(ld, current, attr) else { continue }
                if failed || vals.isEmpty { continue }
                let attrName = Array(UnsafeRawBufferPointer(start: attr, count: strlen(attr)))
                let index = attributeBytes.firstIndex(where: { Self.subtype($0, attrName) > 0 }) ?? attributeBytes.count
                if index < s.ordinaryEnd || isTerminal {
                    if (isTerminal && index >= s.terminalCount) || (!isLeaf && index < s.terminalCount + s.leafCount) {
                        continue
                    }
                    for value in vals {
                        if s.templates.expand(s.resultFormat, value: value, key: key, into: &result, quote: nil,
                                              diagnostics: diagnostics),
                           s.expansionLimit > 0 {
                            expansion += 1
                            if expansion > s.expansionLimit {
                                diagnostics.warning("dict_ldap_get_values[\(level)]: \(name): Expansion limit exceeded for key: '\(ByteText.string(key))'")
                                failed = true
                                break
                            }
                        }
                    }
                } else if index < s.attributes.count && level < s.recursionLimit {
                    expandSpecial(vals, into: &result, key: key)
                } else if index < s.attributes.count {
                    diagnostics.warning("dict_ldap_get_values[\(level)]: \(name): Recursion limit exceeded for special attribute \(String(cString: attr))=\(ByteText.string(vals[0]))")
                    failed = true
                }
            }
            if let ber { ber_free(ber, 0) }
        }
    }

    /// Search for each DN or LDAP URL value of a special attribute and collect what the entries found
    /// hold.
    private func expandSpecial(_ vals: [[UInt8]], into result: inout [UInt8], key: [UInt8]) {
        let level = recursion
        for value in vals {
            let text = ByteText.string(value)
            var resloop: OpaquePointer?
            var rc: Int32
            if value.withCString({ ldap_is_ldap_url($0) }) != 0 {
                var url: UnsafeMutablePointer<LDAPURLDesc>?
                rc = value.withCString { ldap_url_parse($0, &url) }
                guard rc == 0, let url else {
                    diagnostics.warning("dict_ldap_get_values[\(level)]: malformed URL \(text): \(LDAPSettings.errorText(rc))(\(rc))")
                    failed = true
                    break
                }
                let wanted = urlAttributes(url)
                if let wanted {
                    rc = search(url.pointee.lud_dn, scope: url.pointee.lud_scope, filter: url.pointee.lud_filter,
                                attributes: wanted.pointer, result: &resloop)
                }
                ldap_free_urldesc(url)
                if wanted == nil { continue }
            } else {
                rc = value.withCString { dn in
                    "objectclass=*".withCString { filter in
                        search(dn, scope: LDAP_SCOPE_BASE, filter: filter, attributes: attributeList.pointer, result: &resloop)
                    }
                }
            }
            switch rc {
            case LDAP_SUCCESS:
                if let resloop { collectValues(resloop, into: &result, key: key) }
            case LDAP_NO_SUCH_OBJECT:
                // Treat as a DN that exists but has no result attributes.
                diagnostics.warning("dict_ldap_get_values[\(level)]: DN \(text) not found, skipping ")
            default:
                diagnostics.warning("dict_ldap_get_values[\(level)]: search error \(rc): \(LDAPSettings.errorText(rc)) ")
                failed = true
            }
            if let resloop { ldap_msgfree(resloop) }
            if failed { break }
        }
    }

    /// The attributes to ask for in a URL's search: all result attributes when the URL names none,
    /// else the ones it names that are result attributes (the more specific name when they differ only
    /// in options); nil when none is.
    private func urlAttributes(_ url: UnsafeMutablePointer<LDAPURLDesc>) -> CStringList? {
        guard let listed = url.pointee.lud_attrs, listed[0] != nil else {
            return CStringList(settings.attributes)
        }
        var wanted: [String] = []
        var i = 0
        while let a1 = listed[i] {
            let first = String(cString: a1)
            for a2 in settings.attributes {
                switch Self.subtype(Array(first.utf8), Array(a2.utf8)) {
                case 1: wanted.append(a2)
                case -1: wanted.append(first)
                default: break
                }
            }
            i += 1
        }
        return wanted.isEmpty ? nil : CStringList(wanted)
    }
}

extension Array where Element == UInt8 {
    /// Run `body` with the bytes as a NUL-terminated C string (cut at an embedded NUL).
    func withCString<R>(_ body: (UnsafePointer<CChar>) -> R) -> R {
        var bytes = self
        bytes.append(0)
        return bytes.withUnsafeBufferPointer { b in
            b.withMemoryRebound(to: CChar.self) { c in
                guard let base = c.baseAddress else { return "".withCString(body) }
                return body(base)
            }
        }
    }
}

/// Run `body` with two NUL-terminated byte arrays as C strings.
private func withCStrings<R>(_ a: [UInt8], _ b: [UInt8],
                             _ body: (UnsafePointer<CChar>?, UnsafePointer<CChar>?) -> R) -> R {
    a.withUnsafeBufferPointer { pa in
        b.withUnsafeBufferPointer { pb in
            pa.withMemoryRebound(to: CChar.self) { ca in
                pb.withMemoryRebound(to: CChar.self) { cb in body(ca.baseAddress, cb.baseAddress) }
            }
        }
    }
}
