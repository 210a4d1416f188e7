import PostfixText
/// Postfix's `%` templates for database queries and results (`db_common`): `search_base`,
/// `query_filter` and `result_format` of an LDAP table.
///
/// In a query template, `%s` is the key, `%u` its local part (the whole key when it has no `@`), `%d` its
/// domain and `%1`..`%9` the domain's labels counted from the right; `%S`, `%U`, `%D` mean the same. In a
/// result template the lowercase items apply to the *value* and the uppercase ones to the key. A key or
/// value that lacks a part some template needs is skipped, never sent half-expanded.
public struct QueryTemplates: Sendable {
    struct Needs: OptionSet, Sendable {
        let rawValue: Int
        static let keyDomain = Needs(rawValue: 1)
        static let keyUser = Needs(rawValue: 2)
        static let valueDomain = Needs(rawValue: 4)
        static let valueUser = Needs(rawValue: 8)
    }

    /// What the templates parsed so far need, across all of them (Postfix keeps one context per table).
    private(set) var needs: Needs = []
    /// The highest `%1`..`%9` used.
    private(set) var labelCount = 0
    /// The table's `type:name` parts, for messages.
    let type: String
    let name: String

    public init(type: String, name: String) {
        self.type = type
        self.name = name
    }

    /// Check one template and record what it needs. Returns whether it depends on the key. An unknown
    /// `%x` is fatal: `db_common_parse: NAME: Invalid query template: T`.
    public mutating func parse(_ format: [UInt8], query: Bool) throws(MapError) -> Bool {
        var dynamic = false
        var i = 0
        while i < format.count {
            defer { i += 1 }
            guard format[i] == 0x25 else { continue }
            i += 1
            let c: UInt8 = i < format.count ? format[i] : 0
            switch c {
            case 0x25: // %%
                break
            case 0x75: // u
                needs.formUnion(query ? [.keyUser] : [.valueUser])
                dynamic = true
            case 0x64: // d
                needs.formUnion(query ? [.keyDomain] : [.valueDomain])
                dynamic = true
            case 0x73, 0x53: // s S
                dynamic = true
            case 0x55: // U
                needs.formUnion([.keyUser])
                dynamic = true
            case 0x31...0x39, 0x44: // 1-9 D
                if c != 0x44 { labelCount = max(labelCount, Int(c - 0x30)) }
                needs.formUnion([.keyDomain])
                dynamic = true
            default:
                throw .configuration("db_common_parse: \(name): Invalid \(query ? "query" : "result") template: \(ByteText.string(format))")
            }
        }
        return dynamic
    }

    /// The bytes after the last `@`, or nil without one.
    private static func domainStart(_ s: [UInt8]) -> Int? {
        s.lastIndex(of: 0x40).map { $0 + 1 }
    }

    /// Expand `format` for `value` and append it to `result` (after a `,` when `result` is not empty).
    /// With `key` nil this is a query template and `value` is the lookup key; otherwise a result
    /// template, `value` one attribute value and `key` the lookup key. Returns false when the key or value
    /// is skipped. `quote` escapes each inserted part (RFC 2253 for search bases, RFC 2254 for filters).
    public func expand(_ format: [UInt8], value: [UInt8], key: [UInt8]?, into result: inout [UInt8],
                       quote: ((ArraySlice<UInt8>, inout [UInt8]) -> Void)?,
                       diagnostics: Diagnostics) -> Bool {
        if value.isEmpty {
            if let key {
                diagnostics.warning("table \"\(type):\(name)\": empty lookup result for: \"\(ByteText.string(key))\" -- ignored")
            } else {
                diagnostics.warning("table \"\(type):\(name)\": empty query string -- ignored")
            }
            return false
        }
        var vdomain: Int?
        var kdomain: Int?
        if let key {
            if !needs.isDisjoint(with: [.valueDomain, .valueUser]) { vdomain = Self.domainStart(value) }
            if (needs.contains(.valueDomain) && (vdomain == nil || vdomain == value.count))
                || (vdomain == 1 && needs.contains(.valueUser)) {
                return false
            }
            if !needs.isDisjoint(with: [.keyDomain, .keyUser]) { kdomain = Self.domainStart(key) }
            if (needs.contains(.keyDomain) && (kdomain == nil || kdomain == key.count))
                || (kdomain == 1 && needs.contains(.keyUser)) {
                diagnostics.warning("db_common_expand: \(name): lookup key '\(ByteText.string(value))' skipped after query")
                return false
            }
        } else {
            if !needs.isDisjoint(with: [.keyDomain, .keyUser]) { vdomain = Self.domainStart(value) }
            if (needs.contains(.keyDomain) && (vdomain == nil || vdomain == value.count))
                || (vdomain == 1 && needs.contains(.keyUser)) {
                return false
            }
        }
        // Domain labels for %1..%9, counted from the right. Like Postfix's argv_split(), runs of dots
        // separate labels without making empty ones; a domain with too few labels is skipped.
        var labels: [ArraySlice<UInt8>] = []
        if labelCount > 0 {
            let source = key ?? value
            let start = (key != nil ? kdomain : vdomain) ?? source.count
            labels = source[start...].split(separator: 0x2E)
            if labels.count < labelCount { return false }
        }
        if !result.isEmpty { result.append(0x2C) }
        func put(_ part: ArraySlice<UInt8>) {
            if let quote { quote(part, &result) } else { result.append(contentsOf: part) }
        }
        var i = 0
        while i < format.count {
            let c = format[i]
            guard c == 0x25, i + 1 < format.count else {
                if c != 0x25 { result.append(c) }
                i += 1
                continue
            }
            i += 1
            switch format[i] {
            case 0x25: result.append(0x25)
            case 0x73: put(value[...])
            case 0x75:
                if let vdomain { put(value[..<(vdomain - 1)]) } else { put(value[...]) }
            case 0x64:
                if let vdomain { put(value[vdomain...]) }
            case 0x53: put((key ?? value)[...])
            case 0x55:
                let source = key ?? value
                let dom = key != nil ? kdomain : vdomain
                if let dom { put(source[..<(dom - 1)]) } else { put(source[...]) }
            case 0x44:
                let source = key ?? value
                if let dom = key != nil ? kdomain : vdomain { put(source[dom...]) }
            case let d where d >= 0x31 && d <= 0x39:
                put(labels[labels.count - Int(d - 0x30)])
            default:
                break // rejected by parse()
            }
            i += 1
        }
        return true
    }

    /// RFC 2254 quoting for filters: `* ( ) \` become `\XX`, so no key can change a filter.
    public static func quoteFilter(_ part: ArraySlice<UInt8>, _ out: inout [UInt8]) {
        for c in part {
            switch c {
            case 0x2A, 0x28, 0x29, 0x5C: appendHex(c, &out)
            default: out.append(c)
            }
        }
    }

    /// RFC 2253 quoting for DNs: white space and `" # + , ; < > \` become `\XX` everywhere.
    public static func quoteDN(_ part: ArraySlice<UInt8>, _ out: inout [UInt8]) {
        for c in part {
            switch c {
            case 0x20, 0x09, 0x22, 0x23, 0x2B, 0x2C, 0x3B, 0x3C, 0x3E, 0x5C: appendHex(c, &out)
            default: out.append(c)
            }
        }
    }

    private static func appendHex(_ c: UInt8, _ out: inout [UInt8]) {
        let digits: [UInt8] = Array("0123456789ABCDEF".utf8)
        out.append(0x5C)
        out.append(digits[Int(c >> 4)])
        out.append(digits[Int(c & 15)])
    }
}
