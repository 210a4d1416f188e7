import Maps
import PostfixText

/// Which partial keys an address search tries (Postfix's `MA_FIND_*`).
public struct FindStrategy: OptionSet, Sendable, Hashable {
    public let rawValue: Int
    public init(rawValue: Int) { self.rawValue = rawValue }
    /// `user+ext@domain`.
    public static let full = FindStrategy(rawValue: 1 << 0)
    /// `user@domain`, the extension stripped.
    public static let noExtension = FindStrategy(rawValue: 1 << 1)
    /// `user+ext`, then `user`, when the domain is local.
    public static let localpartIfLocal = FindStrategy(rawValue: 1 << 2)
    /// `user+ext@`, then `user@`, when the domain is local.
    public static let localpartAtIfLocal = FindStrategy(rawValue: 1 << 3)
    /// `@domain`.
    public static let atDomain = FindStrategy(rawValue: 1 << 4)
    /// `domain`.
    public static let domain = FindStrategy(rawValue: 1 << 5)
    /// Then parent domains, `sub.example.com` → `example.com` → `com`.
    public static let parentMatchesSubdomains = FindStrategy(rawValue: 1 << 6)
    /// Then dot-parent domains, `sub.example.com` → `.example.com` → `.com`.
    public static let dotParentMatchesSubdomains = FindStrategy(rawValue: 1 << 7)
    /// `user+ext@`, then `user@`, whatever the domain.
    public static let localpartAt = FindStrategy(rawValue: 1 << 8)

    /// `MA_FIND_DEFAULT`: canonical, virtual, relocated, virtual_mailbox, relay_recipient,
    /// sender_dependent_relayhost maps.
    public static let standard: FindStrategy = [.full, .noExtension, .localpartIfLocal, .atDomain]
}

/// How an address is written: `internal` is unquoted (`aa bb@example`), `external` is RFC 822
/// quoted (`"aa bb"@example`). The `First` forms try that form, then the other if it differs.
public enum AddressForm: Sendable {
    case `internal`, external, externalFirst, internalFirst
}

/// What one probe of the tables gave.
public enum ProbeResult: Sendable {
    case found([UInt8])
    case notFound
    /// A table failed: the search stops, as Postfix's does.
    case failed(MapError)

    var isFound: Bool { if case .found = self { return true } else { return false } }
    var isFailure: Bool { if case .failed = self { return true } else { return false } }
}

/// One key as an address search asks for it.
public struct AddressQuery: Sendable {
    /// The exact key.
    public var key: [UInt8]
    /// `true` for partial keys (`DICT_FLAG_FIXED`): pattern tables are not asked.
    public var partial: Bool
    /// Why this key, in words (`full address`, `extension +ext stripped`, `@domain`, ...).
    public var why: String
}

/// Postfix's `mail_addr_find_opt()` (global/mail_addr_find.c): the partial keys of an address, in
/// order, asked of a probe until one answers or fails. The probe is a map-list search in explain, and a
/// recorder in tests that print the whole sequence.
public struct AddressSearch {
    /// `recipient_delimiter`: each byte is a delimiter.
    public var delimiters: [UInt8]
    /// `owner_request_special`: `owner-foo` and `foo-request` are not split when `-` is a delimiter.
    public var ownerRequestSpecial: Bool = true
    /// `double_bounce_sender`, never split.
    public var doubleBounceSender: [UInt8] = Array("double-bounce".utf8)
    /// Said of the first parent domain tried: which `parent_domain_matches_subdomains` setting chose
    /// its form.
    public var parentNote: String = ""
    /// `myorigin`: a domain equal to it counts as local.
    public var myorigin: [UInt8]
    /// `resolve_local()`: 1 when the domain is local (mydestination, an interface literal), 0 when not,
    /// negative on a lookup error.
    public var resolveLocal: ([UInt8]) -> Int

    public init(delimiters: [UInt8], myorigin: [UInt8], resolveLocal: @escaping ([UInt8]) -> Int) {
        self.delimiters = delimiters
        self.myorigin = myorigin
        self.resolveLocal = resolveLocal
    }

    /// The result of a search: the answer, and the unmatched extension when a stripped key answered.
    public struct Outcome: Sendable {
        public var result: ProbeResult
        public var extensionPart: [UInt8]?
    }

    /// Search for `address`.
    public func find(_ address: [UInt8], inForm: AddressForm, queryForm: AddressForm, strategy: FindStrategy,
                     probe: (AddressQuery) -> ProbeResult) -> Outcome {
        let intAddr = inForm == .external ? Self.unquoteLocal(address) : address
        let fullKey = intAddr
        var bareKey: [UInt8]? = nil
        var savedExt: [UInt8]? = nil
        if !delimiters.isEmpty && strategy.contains(.noExtension) {
            (bareKey, savedExt) = stripExtension(fullKey)
        }
        var result: ProbeResult = .notFound
        var ext: [UInt8]? = nil
        func findAddr(_ addr: [UInt8], partial: Bool, withDomain: Bool, _ why: String) -> ProbeResult {
            switch queryForm {
            case .external, .externalFirst:
                let ext = Self.quoteLocal(addr, bareLocalpart: !withDomain)
                let r = probe(AddressQuery(key: ext, partial: partial, why: why + (ext != addr ? ", quoted form" : "")))
                if r.isFound || r.isFailure || queryForm != .externalFirst || ext == addr { return r }
                return probe(AddressQuery(key: addr, partial: partial, why: why + ", unquoted form"))
            case .internal, .internalFirst:
                let r = probe(AddressQuery(key: addr, partial: partial, why: why))
                if r.isFound || r.isFailure || queryForm != .internalFirst { return r }
                let ext = Self.quoteLocal(addr, bareLocalpart: !withDomain)
                if ext == addr { return r }
                return probe(AddressQuery(key: ext, partial: partial, why: why + ", quoted form"))
            }
        }
        func findLocal(withAt: Bool, ifLocal: Bool = true) -> ProbeResult {
            guard let at = fullKey.lastIndex(of: 0x40) else { return .notFound }
            let cut = withAt ? at + 1 : at
            var r = findAddr(Array(fullKey[..<cut]), partial: true, withDomain: withAt,
                             (withAt ? "localpart@" : "localpart") + (ifLocal ? " (the domain is local)" : ""))
            if !r.isFound && !r.isFailure, let bare = bareKey, let bat = bare.lastIndex(of: 0x40) {
                let bcut = withAt ? bat + 1 : bat
                r = findAddr(Array(bare[..<bcut]), partial: true, withDomain: withAt,
                             (withAt ? "localpart@" : "localpart") + ", extension \(ByteText.string(savedExt ?? [])) stripped" + delimiterNote)
                if r.isFound { ext = savedExt }
            }
            return r
        }
        func done(_ r: ProbeResult) -> Bool { r.isFound || r.isFailure }

        if strategy.contains(.full) {
            result = findAddr(fullKey, partial: false, withDomain: true, "full address")
        }
        if !done(result), let bare = bareKey {
            result = findAddr(bare, partial: true, withDomain: true, "extension \(ByteText.string(savedExt ?? [])) stripped" + delimiterNote)
            if result.isFound { ext = savedExt }
        }
        let at = fullKey.lastIndex(of: 0x40)
        if !done(result), let at, !strategy.isDisjoint(with: [.localpartIfLocal, .localpartAtIfLocal]) {
            let domain = Array(fullKey[(at + 1)...])
            var rc = 0
            if Self.lowerASCII(domain) == Self.lowerASCII(myorigin) { rc = 1 } else { rc = resolveLocal(domain) }
            if rc > 0 {
                if strategy.contains(.localpartIfLocal) { result = findLocal(withAt: false) }
                if !done(result), strategy.contains(.localpartAtIfLocal) { result = findLocal(withAt: true) }
            } else if rc < 0 {
                result = .failed(.temporary("resolve_local: lookup error for \(ByteText.string(domain))"))
            }
        }
        if !done(result), let at, strategy.contains(.atDomain) {
            result = probe(AddressQuery(key: Array(fullKey[at...]), partial: true, why: "@domain"))
        }
        if !done(result), let at, strategy.contains(.domain) {
            var start = at + 1
            let parentStyles: FindStrategy = [.parentMatchesSubdomains, .dotParentMatchesSubdomains]
            var first = true, firstParent = true
            while start < fullKey.count {
                var why = first ? "domain" : "parent domain"
                if !first && firstParent && !parentNote.isEmpty { why += " (" + parentNote + ")"; firstParent = false }
                result = probe(AddressQuery(key: Array(fullKey[start...]), partial: true, why: why))
                first = false
                if done(result) || strategy.isDisjoint(with: parentStyles) { break }
                guard let dot = fullKey[(start + 1)...].firstIndex(of: 0x2E) else { break }
                start = strategy.contains(.dotParentMatchesSubdomains) ? dot : dot + 1
            }
        }
        if !done(result), strategy.contains(.localpartAt) {
            // Postfix does this even without an @ (the whole key is then the local part).
            if at != nil { result = findLocal(withAt: true, ifLocal: false) }
        }
        return Outcome(result: result, extensionPart: ext)
    }

    /// Names the setting that split the extension off.
    var delimiterNote: String {
        " (recipient_delimiter = \(ByteText.string(delimiters)))"
    }

    /// `strip_addr_internal()`: the address without its extension, and the extension with its delimiter.
    func stripExtension(_ full: [UInt8]) -> ([UInt8]?, [UInt8]?) {
        guard full.contains(where: { delimiters.contains($0) }) else { return (nil, nil) }
        let at = full.lastIndex(of: 0x40)
        let local = Array(full[..<(at ?? full.count)])
        let domainPart = at.map { Array(full[$0...]) } ?? []
        guard let split = splitLocalpart(local) else { return (nil, nil) }
        return (Array(local[..<split]) + domainPart, Array(local[split...]))
    }

    /// `split_addr_internal()`: where the extension starts (at its delimiter), or nil.
    func splitLocalpart(_ local: [UInt8]) -> Int? {
        let lower = Self.lowerASCII(local)
        if lower == Array("postmaster".utf8) || lower == Array("mailer-daemon".utf8) { return nil }
        if lower == Self.lowerASCII(doubleBounceSender) { return nil }
        if delimiters.contains(0x2D) && ownerRequestSpecial {
            if lower.starts(with: Array("owner-".utf8)) { return nil }
            if lower.count > 8 && lower.suffix(8).elementsEqual(Array("-request".utf8)) { return nil }
        }
        guard let len = local.firstIndex(where: { delimiters.contains($0) }), len > 0 else { return nil }
        return len
    }

    static func lowerASCII(_ s: [UInt8]) -> [UInt8] { s.map { $0 >= 0x41 && $0 <= 0x5A ? $0 + 32 : $0 } }

    /// `quote_822_local_flags(QUOTE_FLAG_DEFAULT)`: quote the local part unless it is a dot-string
    /// (8-bit bytes allowed).
    public static func quoteLocal(_ mbox: [UInt8], bareLocalpart: Bool) -> [UInt8] {
        var start = 0
        if mbox.first == 0x40, let colon = mbox.firstIndex(of: 0x3A) { start = colon + 1 }
        var end = mbox.count
        if !bareLocalpart, let at = mbox[start...].lastIndex(of: 0x40) { end = at }
        let local = mbox[start..<end]
        if isDotString(local) { return mbox }
        var out = Array(mbox[..<start])
        out.append(0x22)
        for c in local {
            if c == 0 { break }
            if c == 0x22 || c == 0x5C || c == 0x0D { out.append(0x5C) }
            out.append(c)
        }
        out.append(0x22)
        out.append(contentsOf: mbox[end...])
        return out
    }

    static func isDotString(_ local: ArraySlice<UInt8>) -> Bool {
        guard let first = local.first, first != 0, first != 0x2E else { return false }
        var previous: UInt8 = 0
        for c in local {
            if c == 0 { break }
            if c == 0x2E && previous == 0x2E { return false }
            if c == 0x20 || c < 0x20 || c == 0x7F { return false }
            if Array("()<>@,;:\\\"[]".utf8).contains(c) { return false }
            previous = c
        }
        return previous != 0x2E
    }

    /// `unquote_822_local()`: drop the quotes and backslashes of the local part.
    public static func unquoteLocal(_ mbox: [UInt8]) -> [UInt8] {
        var start = 0
        if mbox.first == 0x40, let colon = mbox.firstIndex(of: 0x3A) { start = colon + 1 }
        // The local part ends at the last @ that is outside quotes.
        var end = mbox.count
        var quoted = false
        var i = start
        while i < mbox.count {
            let c = mbox[i]
            if c == 0x5C { i += 2; continue }
            if c == 0x22 { quoted.toggle() } else if c == 0x40 && !quoted { end = i }
            i += 1
        }
        var out = Array(mbox[..<start])
        i = start
        while i < end {
            let c = mbox[i]
            if c == 0x22 { i += 1; continue }
            if c == 0x5C, i + 1 < end { out.append(mbox[i + 1]); i += 2; continue }
            out.append(c)
            i += 1
        }
        out.append(contentsOf: mbox[end...])
        return out
    }
}
