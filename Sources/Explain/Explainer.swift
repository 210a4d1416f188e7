import Maps
import PostfixConfig
import PostfixText

/// Answers "why": runs Postfix's lookups for a role, a restriction list or header checks over the
/// configuration of an `ExplainContext`, and records every key, table and rule on the way.
public final class Explainer {
    public let context: ExplainContext

    public init(context: ExplainContext) {
        self.context = context
    }

    /// The roles of `lookup`, by the parameter or restriction name Postfix uses.
    public enum Role: String, CaseIterable, Sendable {
        case virtualAliasMaps = "virtual_alias_maps"
        case canonicalMaps = "canonical_maps"
        case senderCanonicalMaps = "sender_canonical_maps"
        case recipientCanonicalMaps = "recipient_canonical_maps"
        case transportMaps = "transport_maps"
        case relocatedMaps = "relocated_maps"
        case virtualMailboxMaps = "virtual_mailbox_maps"
        case relayRecipientMaps = "relay_recipient_maps"
        case senderDependentRelayhostMaps = "sender_dependent_relayhost_maps"
        case aliasMaps = "alias_maps"
        case checkClientAccess = "check_client_access"
        case checkReverseClientAccess = "check_reverse_client_access"
        case checkHeloAccess = "check_helo_access"
        case checkSenderAccess = "check_sender_access"
        case checkRecipientAccess = "check_recipient_access"
        case checkClientMXAccess = "check_client_mx_access"
        case checkClientNSAccess = "check_client_ns_access"
        case checkHeloMXAccess = "check_helo_mx_access"
        case checkHeloNSAccess = "check_helo_ns_access"
        case checkSenderMXAccess = "check_sender_mx_access"
        case checkSenderNSAccess = "check_sender_ns_access"
        case checkRecipientMXAccess = "check_recipient_mx_access"
        case checkRecipientNSAccess = "check_recipient_ns_access"

        /// The role closest to a mistyped name (at most 3 edits), for "did you mean".
        public static func suggestion(for name: String) -> Role? {
            var best: (Role, Int)?
            for role in allCases {
                let d = ExplainContext.editDistance(name.lowercased(), role.rawValue, limit: 3)
                if d <= 3, d < (best?.1 ?? 4) { best = (role, d) }
            }
            return best?.0
        }

        /// Access roles take a table (`--table`) rather than a parameter.
        public var isAccess: Bool { rawValue.hasPrefix("check_") }
        /// The roles that look up MX or NS hosts found in DNS.
        public var needsDNS: Bool { rawValue.hasSuffix("_mx_access") || rawValue.hasSuffix("_ns_access") }
    }

    // MARK: address searches

    /// The address search with this configuration's delimiters, origin and local domains.
    public func addressSearch() -> AddressSearch {
        var search = AddressSearch(delimiters: Array(context.value("recipient_delimiter").utf8),
                                   myorigin: Array(context.value("myorigin").utf8),
                                   resolveLocal: { [unowned self] in self.resolveLocal($0) })
        search.ownerRequestSpecial = context.config.bool("owner_request_special", default: true)
        search.doubleBounceSender = Array((context.config.value("double_bounce_sender") ?? "double-bounce").utf8)
        return search
    }

    /// Postfix's `resolve_local()`: 1 for a domain in mydestination or a literal of our own interfaces.
    public func resolveLocal(_ domain: [UInt8]) -> Int {
        var d = domain
        if d.last == 0x2E { d.removeLast() }
        if d.isEmpty || d.last == 0x2E { return 0 }
        let list = context.trivialRewrite.matchList("mydestination", kind: .string)
        let r = list.explain(d)
        if r.error != nil { return -1 }
        if r.matched { return 1 }
        if d.first == 0x5B, d.last == 0x5D {
            let literal = Array(d.dropFirst().dropLast())
            let stripped = literal.starts(with: Array("ipv6:".utf8)) || literal.starts(with: Array("IPv6:".utf8)) ? Array(literal.dropFirst(5)) : literal
            if isOwnAddress(stripped) { return 1 }
        }
        return 0
    }

    /// Whether `address` is one of inet_interfaces (all local interfaces for `all`) or proxy_interfaces.
    func isOwnAddress(_ address: [UInt8]) -> Bool {
        guard let (family, value) = CIDRPattern.address(address) else { return false }
        let rewrite = context.trivialRewrite
        let families = (try? HostNetworks.families(Array(rewrite.value("inet_protocols").utf8), warn: { _ in })) ?? []
        var candidates: [[UInt8]] = []
        if let own = try? HostNetworks.ownInterfaces(Array(rewrite.value("inet_interfaces").utf8), families: families, warn: { _ in }) {
            candidates += own.map { Array(HostNetworks.format($0.family, $0.address).utf8) }
        }
        candidates += ConfigText.tokens(Array(rewrite.value("proxy_interfaces").utf8), ConfigText.isCommaOrBlank)
        return candidates.contains { c in
            var c = c
            if c.first == 0x5B, c.last == 0x5D { c = Array(c.dropFirst().dropLast()) }
            guard let (f, v) = CIDRPattern.address(c) else { return false }
            return f == family && v == value
        }
    }

    /// A probe that asks `list` and records a `key` node for each key into `nodes`.
    func probe(_ list: MapList, into nodes: Box<[ExplainNode]>) -> (AddressQuery) -> ProbeResult {
        return { query in
            let (outcome, trace) = list.find(query.key, keys: query.partial ? .fixed : nil)
            var node = ExplainNode(.key, query.why + (query.partial ? ", partial key" : ""), key: query.key)
            node.children = trace.map(ExplainNode.step)
            switch outcome {
            case .found(let v): node.outcome = "found"; node.value = v
            case .notFound: node.outcome = "not found"
            case .failed: node.outcome = "error"
            }
            nodes.value.append(node)
            switch outcome {
            case .found(let v): return .found(v)
            case .notFound: return .notFound
            case .failed(_, let error, _): return .failed(error)
            }
        }
    }

    /// The strategy and forms Postfix uses for each address role.
    public func strategy(for role: Role) -> (strategy: FindStrategy, inForm: AddressForm, queryForm: AddressForm) {
        switch role {
        case .transportMaps:
            let parent: FindStrategy = context.parentMatchesSubdomains("transport_maps") ? .parentMatchesSubdomains : .dotParentMatchesSubdomains
            return ([.full, .noExtension, .domain, parent], .internal, .externalFirst)
        case .checkSenderAccess, .checkRecipientAccess:
            let parent: FindStrategy = context.parentMatchesSubdomains("smtpd_access_maps") ? .parentMatchesSubdomains : .dotParentMatchesSubdomains
            return ([.full, .noExtension, .domain, .localpartAt, parent], .internal, .externalFirst)
        case .canonicalMaps, .senderCanonicalMaps, .recipientCanonicalMaps:
            return (.standard, .external, .external)
        case .virtualAliasMaps:
            return (.standard, .internal, .external)
        default:
            return (.standard, .internal, .externalFirst)
        }
    }

    /// Which form parent domains take, and the setting that says so.
    static func parentNote(_ feature: String, listed: Bool) -> String {
        listed ? "\(feature) is in parent_domain_matches_subdomains: example.com matches its subdomains"
               : "\(feature) is not in parent_domain_matches_subdomains: only .example.com matches subdomains"
    }

    /// One address search of `list`, recorded.
    func search(_ address: [UInt8], role: Role, list: MapList) -> (AddressSearch.Outcome, [ExplainNode]) {
        let (strategy, inForm, queryForm) = self.strategy(for: role)
        let nodes = Box<[ExplainNode]>([])
        var searcher = addressSearch()
        if let feature = role == .transportMaps ? "transport_maps" : (role == .checkSenderAccess || role == .checkRecipientAccess ? "smtpd_access_maps" : nil) {
            searcher.parentNote = Self.parentNote(feature, listed: context.parentMatchesSubdomains(feature))
        }
        let outcome = searcher.find(address, inForm: inForm, queryForm: queryForm, strategy: strategy,
                                           probe: probe(list, into: nodes))
        return (outcome, nodes.value)
    }

    /// Check an envelope address for `restrictions`: what cannot be sent over SMTP at all (control
    /// characters, invalid UTF-8, 8-bit without SMTPUTF8) is bad input. An address without a domain
    /// (`alice`, `postmaster`) is fine, and a malformed one is smtpd's to refuse with 501.
    public func validateEnvelopeAddress(_ address: [UInt8], what: String) throws(ExplainError) {
        if address.contains(0) || address.contains(0x0A) || address.contains(0x0D) {
            throw ExplainError(.input, "\(what): malformed address: control character in \(ExplainRenderer.show(address))")
        }
        if address.contains(where: { $0 >= 0x80 }) {
            if String(validating: address, as: UTF8.self) == nil {
                throw ExplainError(.input, "\(what): malformed address: not valid UTF-8: \(ExplainRenderer.show(address))")
            }
            if !context.config.bool("smtputf8_enable", default: false) {
                throw ExplainError(.input, "\(what): 8-bit address \(ExplainRenderer.show(address)) needs smtputf8_enable = yes (Postfix would refuse it)")
            }
        }
    }

    /// Check an address argument: it must have a domain, no 8-bit bytes unless SMTPUTF8 is on, no NUL,
    /// no blanks outside quotes.
    public func validateAddress(_ address: [UInt8], what: String) throws(ExplainError) {
        if address.isEmpty { throw ExplainError(.input, "\(what): empty address (use <> for the null sender)") }
        try validateEnvelopeAddress(address, what: what)
        guard let at = address.lastIndex(of: 0x40) else {
            throw ExplainError(.input, "\(what): malformed address \(ExplainRenderer.show(address)): no @domain")
        }
        let domain = Array(address[(at + 1)...])
        if at == 0 || domain.isEmpty {
            throw ExplainError(.input, "\(what): malformed address \(ExplainRenderer.show(address)): empty local part or domain")
        }
        if domain.first == 0x5B {
            guard domain.last == 0x5D else { throw ExplainError(.input, "\(what): malformed address literal \(ExplainRenderer.show(domain))") }
            var inner = Array(domain.dropFirst().dropLast())
            if inner.count > 5, AddressSearch.lowerASCII(Array(inner.prefix(5))) == Array("ipv6:".utf8) { inner = Array(inner.dropFirst(5)) }
            else if inner.contains(0x3A) {
                throw ExplainError(.input, "\(what): IPv6 address literal \(ExplainRenderer.show(domain)) must be written [IPv6:\(ByteText.string(inner))]")
            }
            if CIDRPattern.address(inner) == nil { throw ExplainError(.input, "\(what): malformed address literal \(ExplainRenderer.show(domain))") }
        } else if domain.contains(where: { $0 == 0x20 || $0 == 0x09 || $0 == 0x3C || $0 == 0x3E || $0 == 0x2C }) || domain.contains(0x40) {
            throw ExplainError(.input, "\(what): malformed domain in \(ExplainRenderer.show(address))")
        }
    }
}

/// A mutable box, so that a probe closure can append to the caller's list.
final class Box<T> {
    var value: T
    init(_ value: T) { self.value = value }
}
