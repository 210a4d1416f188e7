import PostfixConfig
import PostfixText
import Maps
#if canImport(Glibc)
import Glibc
#endif

/// Host, address and domain lists (Postfix's `match_list`): what `namadr_list` and `domain_list` would
/// refuse or never match, with the texts of `match_list.c` and `cidr_match.c`.
extension LintRun {
    /// Lists of host names and network addresses (`namadr_list_init`): their networks go through
    /// `cidr_match_parse`.
    static let addressLists: Set<String> = [
        "mynetworks", "debug_peer_list", "smtpd_sasl_exceptions_networks", "permit_mx_backup_networks",
        "smtpd_client_event_limit_exceptions", "smtpd_authorized_xclient_hosts", "smtpd_authorized_xforward_hosts",
        "smtpd_authorized_verp_clients", "qmqpd_authorized_clients", "authorized_verp_clients",
        "smtpd_client_connection_limit_exceptions", "smtpd_log_access_permit_actions_never",
    ]

    /// Lists of domain names (`domain_list_init`).
    static let domainLists: Set<String> = [
        "mydestination", "relay_domains", "virtual_alias_domains", "virtual_mailbox_domains",
        "fast_flush_domains", "smtp_connection_cache_destinations", "lmtp_connection_cache_destinations",
    ]

    func checkMatchLists() {
        var scopes: [MasterEntry?] = [nil]
        scopes += session.master.filter { $0.parameters != nil }.map { Optional($0) }
        for scope in scopes {
            for name in Self.addressLists.union(Self.domainLists).sorted() where isSet(name, scope: scope) {
                guard let value = effective(name, scope: scope) else { continue }
                let (file, line) = place(name, scope: scope)
                checkMatchList(name, value, addresses: Self.addressLists.contains(name), file: file, line: line, depth: 0)
            }
        }
    }

    private func checkMatchList(_ name: String, _ value: [UInt8], addresses: Bool, file: String, line: Int?, depth: Int) {
        let parameter = Array(name.utf8)
        func report(_ severity: LintFinding.Severity, _ text: String) {
            add(severity, file, line, parameter, text)
        }
        let tokens = ConfigText.quotedTokens(value, ConfigText.isCommaOrBlank).map(ConfigText.text)
        for (n, token) in tokens.enumerated() {
            if token.hasPrefix("#") {
                // Postfix 3.10's postconf has said it already for this line ("#comment after other text
                // is not allowed"): one finding, in its words.
                let said = findings.contains { $0.file == file && $0.line == line
                    && $0.message.contains("#comment after other text is not allowed") }
                if !said {
                    report(.warning, "\(name): comment at end of line is not supported: \(tokens[n...].joined(separator: " "))")
                }
                return
            }
            let item = String(token.drop { $0 == "!" })
            if item.isEmpty {
                report(.error, "\(name): no pattern after '!'")
                continue
            }
            if item.hasPrefix("/") {
                checkListFile(name, item, addresses: addresses, file: file, line: line, depth: depth)
            } else if !item.hasPrefix("["), let colon = item.firstIndex(of: ":") {
                let type = String(item[..<colon])
                if MapCatalog.entry(named: type) == nil {
                    var text = "\(name): unsupported dictionary type: \(type)"
                    if addresses, type.allSatisfy(\.isHexDigit) {
                        let parts = item.split(separator: "/", maxSplits: 1)
                        let bracketed = "[\(parts.first ?? "")]" + (parts.count > 1 ? "/\(parts[1])" : "")
                        text += " (an IPv6 address or network must be written in brackets: \(bracketed))"
                    }
                    report(.error, text)
                }
            } else if addresses {
                checkNetwork(name, item, report: report)
            }
        }
    }

    /// A `/file` in a list: its lines are list entries (a `#` line is a comment).
    private func checkListFile(_ name: String, _ path: String, addresses: Bool, file: String, line: Int?, depth: Int) {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            add(.error, file, line, Array(name.utf8), "\(name): open file \(path): \(systemErrorText(errno))")
            return
        }
        defer { close(fd) }
        guard depth < 10 else { return }
        let reader = ByteReader(fd: fd, path: path)
        var number = 0
        while let raw = reader.nextLine() {
            number += 1
            var text = raw
            if text.last == 0x0A { text.removeLast() }
            if text.first == 0x23 { continue }
            checkMatchList(name, text, addresses: addresses, file: path, line: number, depth: depth + 1)
        }
    }

    /// A network in an address list, as `match_hostaddr` treats it: only patterns that look like an
    /// address with `/` or `:` are parsed, with `cidr_match_parse`'s texts.
    private func checkNetwork(_ name: String, _ pattern: String, report: (LintFinding.Severity, String) -> Void) {
        let v4: Set<Character> = Set("01234567890.")
        let v6 = v4.union("abcdefABCDEF:")
        guard pattern.contains(where: { $0 == ":" || $0 == "/" }), !pattern.allSatisfy({ v4.contains($0) }) else { return }
        guard pattern.allSatisfy({ v6.contains($0) || $0 == "[" || $0 == "]" || $0 == "/" }) else {
            if pattern.contains("/"), pattern.first.map({ v6.contains($0) || $0 == "[" }) == true {
                report(.warning, "\(name): \"\(pattern)\" is not a network address; it never matches a client")
            }
            return
        }
        switch CIDRPattern.parse(Array(pattern.utf8)) {
        case .failure(let e):
            report(.error, "\(name): \(e.message)")
        case .success(let network):
            guard name == "mynetworks" else { return }
            let widest = network.family == .ipv4 ? 8 : 16
            if network.length == 0 {
                report(.warning, "mynetworks: \"\(pattern)\" covers every \(network.family == .ipv4 ? "IPv4" : "IPv6") "
                    + "address: permit_mynetworks lets any client relay mail (an open relay)")
            } else if network.length < widest {
                report(.warning, "mynetworks: \"\(pattern)\" is wider than a /\(widest): every client in it may "
                    + "relay mail through this server")
            }
        }
    }
}

