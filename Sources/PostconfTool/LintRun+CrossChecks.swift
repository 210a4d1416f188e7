import PostfixConfig
import PostfixText
import Maps
#if canImport(Glibc)
import Glibc
#endif

/// Mistakes that involve several parameters, files named by TLS settings, and deprecated parameters.
extension LintRun {
    /// The parameters that Postfix 3.9 and later warn about as deprecated (`postconf_unused.c`), with
    /// the alternatives those releases print, and the legacy names that this lint adds. Under a release
    /// that warns itself (`DeprecatedParameters`), its own words win.
    static let deprecatedParameters: [String: String] = [
        "disable_dns_lookups": "specify \"smtp_dns_support_level\"",
        "lmtp_use_tls": "specify \"lmtp_tls_security_level\"",
        "postscreen_use_tls": "specify \"postscreen_tls_security_level\"",
        "smtp_use_tls": "specify \"smtp_tls_security_level\"",
        "smtpd_use_tls": "specify \"smtpd_tls_security_level\"",
        "tlsproxy_client_use_tls": "specify \"tlsproxy_client_security_level\"",
        "tlsproxy_use_tls": "specify \"tlsproxy_tls_security_level\"",
        "lmtp_enforce_tls": "specify \"lmtp_tls_security_level\"",
        "postscreen_enforce_tls": "specify \"postscreen_tls_security_level\"",
        "smtp_enforce_tls": "specify \"smtp_tls_security_level\"",
        "smtpd_enforce_tls": "specify \"smtpd_tls_security_level\"",
        "tlsproxy_client_enforce_tls": "specify \"tlsproxy_client_security_level\"",
        "tlsproxy_enforce_tls": "specify \"tlsproxy_tls_security_level\"",
        "lmtp_tls_per_site": "specify \"lmtp_tls_policy_maps\"",
        "smtp_tls_per_site": "specify \"smtp_tls_policy_maps\"",
        "tlsproxy_client_per_site": "specify \"tlsproxy_client_policy_maps\"",
        "smtpd_tls_dh1024_param_file": "do not specify (leave at default)",
        "smtpd_tls_eecdh_grade": "do not specify (leave at default)",
        "authorized_verp_clients": "specify \"smtpd_authorized_verp_clients\"",
        "fallback_relay": "specify \"smtp_fallback_relay\"",
        "lmtp_per_record_deadline": "specify \"lmtp_per_request_deadline\"",
        "lmtp_tls_enforce_peername": "specify \"lmtp_tls_security_level\"",
        "postscreen_blacklist_action": "specify \"postscreen_denylist_action\"",
        "postscreen_dnsbl_ttl": "specify \"postscreen_dnsbl_max_ttl\"",
        "postscreen_dnsbl_whitelist_threshold": "specify \"postscreen_dnsbl_allowlist_threshold\"",
        "postscreen_whitelist_interfaces": "specify \"postscreen_allowlist_interfaces\"",
        "smtpd_client_connection_limit_exceptions": "specify \"smtpd_client_event_limit_exceptions\"",
        "smtpd_per_record_deadline": "specify \"smtpd_per_request_deadline\"",
        "smtp_per_record_deadline": "specify \"smtp_per_request_deadline\"",
        "smtp_tls_enforce_peername": "specify \"smtp_tls_security_level\"",
        "tlsproxy_client_level": "specify \"tlsproxy_client_security_level\"",
        "tlsproxy_client_policy": "specify \"tlsproxy_client_policy_maps\"",
        "virtual_maps": "specify \"virtual_alias_maps\"",
        "lmtp_cname_overrides_servername": "do not specify",
        "smtp_cname_overrides_servername": "do not specify",
    ]

    func checkCrossParameters() {
        checkDeprecated()
        checkDomainOverlap()
        checkAliasTables()
        checkRelayhost()
        checkTransports()
        checkTLSFiles()
    }

    private func checkDeprecated() {
        for (name, _) in session.mainTable.entries {
            let text = ConfigText.text(name)
            guard let alternative = DeprecatedParameters.advice(for: name, release: PostfixRelease.current)
                    ?? Self.deprecatedParameters[text], session.registry.contains(name) else { continue }
            add(.warning, mainPath, mainLines[name], name,
                "support for parameter \"\(text)\" will be removed; instead, \(alternative)")
        }
        for entry in session.master {
            guard let table = entry.parameters else { continue }
            for (name, _) in table.entries {
                let text = ConfigText.text(name)
                guard let alternative = DeprecatedParameters.advice(for: name, release: PostfixRelease.current)
                    ?? Self.deprecatedParameters[text], session.registry.contains(name) else { continue }
                add(.warning, masterPath, masterLines[ObjectIdentifier(entry)], name,
                    "support for parameter \"\(text)\" will be removed; instead, \(alternative)")
            }
        }
    }

    /// The literal domain names of a domain list (not tables, files or negations), lowercase.
    private func literalDomains(_ name: String) -> [String] {
        guard let value = effective(name, scope: nil) else { return [] }
        return Self.words(value).filter { !$0.contains(":") && !$0.hasPrefix("/") && !$0.hasPrefix("!") && !$0.isEmpty }
            .map { $0.lowercased() }
    }

    /// trivial-rewrite: `do not list domain X in BOTH mydestination and virtual_..._domains`.
    private func checkDomainOverlap() {
        let local = Set(literalDomains("mydestination"))
        for virtual in ["virtual_alias_domains", "virtual_mailbox_domains"] {
            guard isSet(virtual, scope: nil) || isSet("mydestination", scope: nil) else { continue }
            var seen: Set<String> = []
            for domain in literalDomains(virtual) where local.contains(domain) && seen.insert(domain).inserted {
                let at = isSet(virtual, scope: nil) ? virtual : "mydestination"
                add(.warning, mainPath, mainLines[Array(at.utf8)], Array(at.utf8),
                    "do not list domain \(domain) in BOTH mydestination and \(virtual)")
            }
        }
    }

    /// The `type:name` tables of a list value, `proxy:` removed.
    private func tables(_ name: String) -> [String] {
        guard let value = effective(name, scope: nil) else { return [] }
        return Self.words(value).filter { $0.contains(":") }.map { word in
            var w = word
            while w.hasPrefix("proxy:") { w = String(w.dropFirst(6)) }
            return w
        }
    }

    /// newaliases builds `alias_database`; local(8) reads `alias_maps`.
    private func checkAliasTables() {
        guard isSet("alias_maps", scope: nil) || isSet("alias_database", scope: nil) else { return }
        let maps = tables("alias_maps"), database = tables("alias_database")
        for table in database where !maps.contains(table) {
            add(.warning, mainPath, mainLines[Array("alias_database".utf8)], Array("alias_database".utf8),
                "alias_database lists \(table), which alias_maps does not use: newaliases builds a table that "
                + "local(8) never reads")
        }
        for table in maps where !database.contains(table) {
            guard let colon = table.firstIndex(of: ":"), MapCatalog.entry(named: String(table[..<colon]))?.buildable == true
            else { continue }
            add(.warning, mainPath, mainLines[Array("alias_maps".utf8)], Array("alias_maps".utf8),
                "alias_maps uses \(table), which alias_database does not list: newaliases never rebuilds it")
        }
    }

    /// `relayhost`: `host`, `host:port`, `[host]` or `[host]:port`, several separated by commas or space.
    private func checkRelayhost() {
        for scope in [nil] + session.master.map({ Optional($0) }) where isSet("relayhost", scope: scope) {
            guard let value = effective("relayhost", scope: scope) else { continue }
            let (file, line) = place("relayhost", scope: scope)
            for word in Self.words(value) {
                if let problem = Self.destinationProblem(word) {
                    add(.error, file, line, Array("relayhost".utf8), "malformed relayhost destination \"\(word)\": \(problem)")
                }
            }
        }
    }

    static func destinationProblem(_ word: String) -> String? {
        var host = Substring(word), port: Substring?
        if word.hasPrefix("[") {
            guard let close = word.firstIndex(of: "]") else { return "missing \"]\"" }
            host = word[word.index(after: word.startIndex)..<close]
            let after = word[word.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { return "garbage after \"]\"" }
                port = after.dropFirst()
            }
        } else {
            if let colon = word.firstIndex(of: ":") {
                host = word[..<colon]
                port = word[word.index(after: colon)...]
            }
            if host.contains("[") || host.contains("]") { return "misplaced bracket" }
            if !host.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "." || $0 == "-" || $0 == "_") }) {
                return "invalid host name"
            }
        }
        if host.isEmpty { return "empty host" }
        if let port {
            if port.isEmpty { return "empty port" }
            if port.allSatisfy({ $0.isASCII && $0.isNumber }) {
                guard let n = Int(port), n > 0, n < 65536 else { return "bad port number" }
            } else if !(port.first?.isLetter ?? false) || !port.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") }) {
                return "bad port or service name"
            }
        }
        return nil
    }

    /// Transports named by main.cf and `transport_maps` that master.cf does not define: qmgr cannot deliver
    /// to them and the mail stays in the queue.
    private func checkTransports() {
        let services = Set(session.master.filter { $0.argv.count > 1 && ConfigText.text($0.argv[1]) == "unix" }
            .map { ConfigText.text($0.argv[0]) })
        guard !services.isEmpty else { return }
        func transport(_ value: String) -> String {
            String(value.prefix { $0 != ":" })
        }
        for name in ["default_transport", "relay_transport", "local_transport", "virtual_transport"]
        where isSet(name, scope: nil) {
            guard let value = effective(name, scope: nil) else { continue }
            let t = transport(ConfigText.text(value).trimmingBlanks)
            if !t.isEmpty, !services.contains(t) {
                add(.error, mainPath, mainLines[Array(name.utf8)], Array(name.utf8),
                    "\(name): transport \"\(t)\" is not defined in master.cf; mail for it stays in the queue")
            }
        }
        guard isSet("transport_maps", scope: nil) else { return }
        for table in tables("transport_maps") {
            guard let entries = tableEntries(table) else { continue }
            for e in entries {
                let t = transport(e.value)
                if !t.isEmpty, !services.contains(t) {
                    add(.error, e.file ?? mainPath, e.file == nil ? mainLines[Array("transport_maps".utf8)] : e.line,
                        Array("transport_maps".utf8),
                        "\(e.key) \(e.value): transport \"\(t)\" is not defined in master.cf; mail for it stays in the queue")
                }
            }
        }
    }

    // MARK: TLS

    private func tlsLevel(_ prefix: String, scope: MasterEntry?) -> String {
        let level = effective("\(prefix)_tls_security_level", scope: scope).map { ConfigText.text($0).lowercased() } ?? ""
        if !level.isEmpty { return level }
        if boolean("\(prefix)_enforce_tls", scope: scope) { return "encrypt" }
        if boolean("\(prefix)_use_tls", scope: scope) { return "may" }
        return "none"
    }

    /// Certificate, key and CA files of the TLS sides that are enabled: smtpd cannot start TLS (and the
    /// smtp client cannot present or verify certificates) when one is missing or unreadable.
    private func checkTLSFiles() {
        for scope in [nil] + session.master.filter({ $0.parameters != nil }).map({ Optional($0) }) {
            for prefix in ["smtpd", "smtp", "lmtp"] {
                let level = tlsLevel(prefix, scope: scope)
                // An invalid level is reported by the value check.
                let levels: Set<String> = ["may", "encrypt", "dane", "dane-only", "fingerprint", "verify", "secure"]
                guard levels.contains(level) else { continue }
                var certificates = 0
                for suffix in ["cert_file", "key_file", "dcert_file", "dkey_file", "eccert_file", "eckey_file",
                               "chain_files", "CAfile", "CApath", "dh1024_param_file", "dh512_param_file"] {
                    let name = "\(prefix)_tls_\(suffix)"
                    guard session.registry[Array(name.utf8)] != nil,
                          let value = effective(name, scope: scope), !value.isEmpty else { continue }
                    if ["cert_file", "dcert_file", "eccert_file", "chain_files"].contains(suffix) { certificates += 1 }
                    // The key file defaults to the certificate file: report only what is set.
                    guard isSet(name, scope: scope) || (scope != nil && isSet(name, scope: nil)) else { continue }
                    let (file, line) = place(name, scope: scope)
                    for path in Self.words(value) {
                        checkReadable(path, directory: suffix == "CApath", parameter: name, file: file, line: line)
                    }
                }
                if prefix == "smtpd", certificates == 0, isSet("\(prefix)_tls_security_level", scope: scope)
                    || isSet("\(prefix)_use_tls", scope: scope) || isSet("\(prefix)_enforce_tls", scope: scope) {
                    let name = ["smtpd_tls_security_level", "smtpd_enforce_tls", "smtpd_use_tls"].first { isSet($0, scope: scope) }
                        ?? "smtpd_tls_security_level"
                    let (file, line) = place(name, scope: scope)
                    add(level == "encrypt" ? .error : .warning, file, line, Array(name.utf8),
                        "No server certs available. TLS won't be enabled (set smtpd_tls_chain_files or smtpd_tls_cert_file)")
                }
            }
        }
    }

    private func checkReadable(_ path: String, directory: Bool, parameter: String, file: String, line: Int?) {
        var st = stat()
        guard stat(path, &st) == 0 else {
            add(.error, file, line, Array(parameter.utf8), "\(parameter) \(path): \(systemErrorText(errno))")
            return
        }
        let isDirectory = (st.st_mode & S_IFMT) == S_IFDIR
        if directory != isDirectory {
            add(.error, file, line, Array(parameter.utf8),
                "\(parameter) \(path): \(directory ? "Not a directory" : "Is a directory")")
        } else if access(path, R_OK) != 0 {
            add(.warning, file, line, Array(parameter.utf8),
                "\(parameter) \(path): \(systemErrorText(errno)) (for this user; Postfix reads it as root)")
        }
    }
}

extension String {
    /// Without leading and trailing blanks.
    fileprivate var trimmingBlanks: String {
        String(self.drop { $0 == " " || $0 == "\t" }.reversed().drop { $0 == " " || $0 == "\t" }.reversed())
    }
}
