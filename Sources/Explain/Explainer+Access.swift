import Maps
import PostfixConfig
import PostfixText

/// The access(5) searches of smtpd_check.c: host names with parent domains, addresses with their
/// octets or IPv6 prefixes, mail addresses.
extension Explainer {
    /// A search's answer and its record.
    struct AccessOutcome {
        var result: ProbeResult
        /// The key that answered (the `datum` of Postfix's messages).
        var nodes: [ExplainNode]
    }

    private func ask(_ list: MapList, _ key: [UInt8], partial: Bool, why: String, _ nodes: inout [ExplainNode]) -> ProbeResult {
        let box = Box<[ExplainNode]>([])
        let r = probe(list, into: box)(AddressQuery(key: key, partial: partial, why: why))
        nodes += box.value
        return r
    }

    /// `check_domain_access()`: the name, then its parent domains (`example.com`, or `.example.com`
    /// unless `smtpd_access_maps` is in parent_domain_matches_subdomains); a numeric name only as is.
    func domainAccess(_ list: MapList, _ domain: [UInt8], full: Bool) -> AccessOutcome {
        var nodes: [ExplainNode] = []
        let parent = context.parentMatchesSubdomains("smtpd_access_maps")
        var start = 0
        var partial = !full
        let numeric = CIDRPattern.address(domain) != nil
        var first = true
        // Each parent domain is a suffix of the name: listing them all would make the trace grow with
        // the square of the name's length. The first few are shown; the rest, when none is found, are
        // counted (a found or failed one is always shown).
        var shown = 0, unshown = 0
        var unshownFirst: [UInt8] = []
        func flush() {
            guard unshown > 0 else { return }
            nodes.append(ExplainNode(.note, "\(unshown) more parent domain(s) tried, from \(ExplainRenderer.show(unshownFirst)) to the last label: not found"))
            unshown = 0
        }
        while start < domain.count {
            let key = Array(domain[start...])
            var asked: [ExplainNode] = []
            let why = first ? "name" : shown == 0 && unshown == 0 ? "parent domain (\(Self.parentNote("smtpd_access_maps", listed: parent)))" : "parent domain"
            let r = ask(list, key, partial: partial, why: why, &asked)
            if r.isFound || r.isFailure {
                flush()
                nodes += asked
                return AccessOutcome(result: r, nodes: nodes)
            }
            if shown < Self.shownParentDomains {
                nodes += asked
                if !first { shown += 1 }
            } else {
                if unshown == 0 { unshownFirst = Array(key.prefix(64)) + (key.count > 64 ? Array("...".utf8) : []) }
                unshown += 1
            }
            if numeric {
                nodes.append(ExplainNode(.note, "a numeric name is not split into parent domains"))
                break
            }
            guard let dot = domain[(start + 1)...].firstIndex(of: 0x2E) else { break }
            start = parent ? dot + 1 : dot
            partial = true
            first = false
        }
        flush()
        return AccessOutcome(result: .notFound, nodes: nodes)
    }

    /// How many parent domains of a name the trace lists one by one.
    static let shownParentDomains = 8

    /// `check_addr_access()`: the address, then shorter prefixes split at `.` (IPv4) or `:` (IPv6).
    func addressAccess(_ list: MapList, _ address: [UInt8], full: Bool) -> AccessOutcome {
        var nodes: [ExplainNode] = []
        var addr = address
        let delimiter: UInt8 = address.contains(0x3A) ? 0x3A : 0x2E
        var partial = !full
        var first = true
        while true {
            let r = ask(list, addr, partial: partial, why: first ? "address" : "address prefix", &nodes)
            if r.isFound || r.isFailure { return AccessOutcome(result: r, nodes: nodes) }
            partial = true
            first = false
            // split_at_right: cut at the last delimiter; stop when there is none.
            guard let cut = addr.lastIndex(of: delimiter) else { break }
            addr = Array(addr[..<cut])
        }
        return AccessOutcome(result: .notFound, nodes: nodes)
    }

    /// `check_namadr_access()`: the client name (unless `unknown`... Postfix looks it up too), then the address.
    func clientAccess(_ list: MapList, name: [UInt8], address: [UInt8]) -> AccessOutcome {
        var out = domainAccess(list, name, full: true)
        if out.result.isFound || out.result.isFailure { return out }
        let more = addressAccess(list, address, full: true)
        out.result = more.result
        out.nodes += more.nodes
        return out
    }

    /// `check_mail_access()`: the address as trivial-rewrite resolves it, searched as access(5) says.
    func mailAccess(_ list: MapList, _ address: [UInt8], role: Role) -> AccessOutcome {
        var nodes: [ExplainNode] = []
        if address.isEmpty {
            let key = Array((context.config.value("smtpd_null_access_lookup_key") ?? "<>").utf8)
            let r = ask(list, key, partial: false, why: "the null sender (smtpd_null_access_lookup_key)", &nodes)
            return AccessOutcome(result: r, nodes: nodes)
        }
        let resolved = canonicalize(address)
        if resolved != address {
            nodes.append(ExplainNode(.note, "trivial-rewrite makes it \(ExplainRenderer.show(resolved))"))
        }
        let (outcome, more) = search(resolved, role: role, list: list)
        return AccessOutcome(result: outcome.result, nodes: nodes + more)
    }

    /// What trivial-rewrite's canonicalization does to an address that explain can reproduce:
    /// `@$myorigin` appended to a bare name, `.$mydomain` to a domain without a dot (append_dot_mydomain),
    /// one trailing dot removed from the domain.
    func canonicalize(_ address: [UInt8]) -> [UInt8] {
        var a = address
        guard let at = a.lastIndex(of: 0x40) else {
            if context.config.bool("append_at_myorigin", default: true) { a += [0x40] + Array(context.value("myorigin").utf8) }
            return a
        }
        if a.last == 0x2E, a.count > at + 2 { a.removeLast() }
        let domain = a[(at + 1)...]
        if !domain.contains(0x2E), domain.first != 0x5B, context.config.bool("append_dot_mydomain", default: false) {
            a += [0x2E] + Array(context.value("mydomain").utf8)
        }
        return a
    }

    /// Parse a client as `name[address]`, `[address]` or `address` (name `unknown`).
    public static func parseClient(_ text: [UInt8]) throws(ExplainError) -> (name: [UInt8], address: [UInt8]) {
        var name = Array("unknown".utf8)
        var addr = text
        if let open = text.firstIndex(of: 0x5B) {
            guard text.last == 0x5D else { throw ExplainError(.input, "malformed client \(ExplainRenderer.show(text)): want name[address]") }
            if open > 0 { name = Array(text[..<open]) }
            addr = Array(text[(open + 1)..<(text.count - 1)])
        }
        if addr.count > 5, AddressSearch.lowerASCII(Array(addr.prefix(5))) == Array("ipv6:".utf8) { addr = Array(addr.dropFirst(5)) }
        guard CIDRPattern.address(addr) != nil else {
            throw ExplainError(.input, "malformed client address \(ExplainRenderer.show(addr)): not an IPv4 or IPv6 address")
        }
        if name.contains(where: { $0 <= 0x20 || $0 >= 0x7F }) {
            throw ExplainError(.input, "malformed client name \(ExplainRenderer.show(name))")
        }
        return (AddressSearch.lowerASCII(name), AddressSearch.lowerASCII(addr))
    }
}
