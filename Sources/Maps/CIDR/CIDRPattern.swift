import PostfixText
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// An address pattern of a `cidr` table (`addr`, `addr/len`, `[addr]`, `[addr]/len`, `[addr/len]`), parsed
/// as Postfix 3.7's `cidr_match_parse` does, and the address syntax of lookup keys.
///
/// Addresses are held left-aligned in 128 bits (an IPv4 address in the top 32 bits), so one mask rule
/// serves both families; the family is kept alongside and never mixed in a comparison.
public struct CIDRPattern: Sendable, Equatable {
    /// IPv4 or IPv6: a pattern or key is IPv6 exactly when its text contains `:`.
    public enum Family: Sendable, Equatable {
        case ipv4, ipv6

        /// Address bits of the family.
        public var bits: Int { self == .ipv4 ? 32 : 128 }
        /// Address bytes of the family.
        var bytes: Int { self == .ipv4 ? 4 : 16 }
        /// The `AF_*` constant.
        var addressFamily: Int32 { self == .ipv4 ? AF_INET : AF_INET6 }
    }

    /// A syntax error, worded as Postfix words it (the table adds `: skipping this rule`).
    public struct SyntaxError: Error, Sendable, Equatable {
        /// Postfix's text, pattern bytes carried by `ByteText`.
        public var message: String
    }

    /// The address family.
    public var family: Family
    /// The network bits, left-aligned; host bits are zero.
    public var network: UInt128
    /// The prefix length, `0...family.bits`.
    public var length: Int

    /// The left-aligned mask of `length` one bits.
    @inline(__always)
    public static func mask(_ length: Int) -> UInt128 {
        length == 0 ? 0 : ~UInt128(0) << (128 - length)
    }

    /// Whether `address` (left-aligned, of this pattern's family) lies in the network.
    @inline(__always)
    public func contains(_ address: UInt128) -> Bool {
        address & Self.mask(length) == network
    }

    /// Parse a pattern the way `cidr_match_parse` does, with its quirks: the mask length is C's `atoi`
    /// stored in an unsigned char (so `/256` is `/0`), and brackets are stripped before the mask is found.
    public static func parse(_ text: some Collection<UInt8>) -> Result<CIDRPattern, SyntaxError> {
        let bytes = Array(text)
        var pattern = bytes[...]
        var mask: ArraySlice<UInt8>? = nil
        if bytes.first == UInt8(ascii: "[") {
            pattern = bytes.dropFirst()
            guard let close = pattern.firstIndex(of: UInt8(ascii: "]")) else {
                return .failure(SyntaxError(message: "missing ']' character after \"[\(ByteText.string(pattern))\""))
            }
            let after = bytes[(close + 1)...]
            pattern = bytes[pattern.startIndex..<close]
            if let first = after.first {
                guard first == UInt8(ascii: "/") else {
                    return .failure(SyntaxError(message: "garbage after \"[\(ByteText.string(pattern))]\""))
                }
                // The mask is everything after the first '/' past ']'; the bracketed text stays whole.
                mask = after.dropFirst()
            } else if let slash = pattern.firstIndex(of: UInt8(ascii: "/")) {
                mask = pattern[(slash + 1)...]
                pattern = pattern[..<slash]
            }
        } else if let slash = pattern.firstIndex(of: UInt8(ascii: "/")) {
            mask = pattern[(slash + 1)...]
            pattern = pattern[..<slash]
        }
        let family: Family = pattern.contains(UInt8(ascii: ":")) ? .ipv6 : .ipv4
        guard let mask else {
            guard let address = presentationToNetwork(family, pattern) else {
                return .failure(SyntaxError(message: "bad address pattern: \"\(ByteText.string(pattern))\""))
            }
            return .success(CIDRPattern(family: family, network: address, length: family.bits))
        }
        func failure(_ reason: String) -> Result<CIDRPattern, SyntaxError> {
            .failure(SyntaxError(message: "\(reason) in \"\(ByteText.string(pattern))/\(ByteText.string(mask))\""))
        }
        guard !mask.isEmpty, mask.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return failure("bad mask value") }
        let length = Int(cAtoiAsUnsignedChar(mask))
        guard length <= family.bits else { return failure("bad mask length") }
        guard let address = presentationToNetwork(family, pattern) else { return failure("bad network value") }
        let network = address & Self.mask(length)
        guard network == address else {
            let suggestion = networkToPresentation(family, network)
            return .failure(SyntaxError(message: "non-null host address bits in \"\(ByteText.string(pattern))/\(ByteText.string(mask))\", perhaps you should use \"\(suggestion)/\(length)\" instead"))
        }
        return .success(CIDRPattern(family: family, network: network, length: length))
    }

    /// `atoi` of an all-digit string as `cidr_match_parse` keeps it: glibc's `strtol` saturates at
    /// `LONG_MAX`, `atoi` truncates that to `int`, and the field is an `unsigned char`.
    static func cAtoiAsUnsignedChar(_ digits: ArraySlice<UInt8>) -> UInt8 {
        var value: UInt64 = 0
        for d in digits {
            let (m, o1) = value.multipliedReportingOverflow(by: 10)
            let (s, o2) = m.addingReportingOverflow(UInt64(d - 0x30))
            if o1 || o2 || s > UInt64(Int64.max) { return UInt8(truncatingIfNeeded: Int64.max) }
            value = s
        }
        return UInt8(truncatingIfNeeded: value)
    }

    /// A lookup key as Postfix's `cidr_match_execute` reads it: up to the first NUL, IPv6 when it contains
    /// `:`, accepted only if `inet_pton` accepts it whole. `nil` for anything else.
    public static func address(_ key: [UInt8]) -> (family: Family, value: UInt128)? {
        let text = key.firstIndex(of: 0).map { key[..<$0] } ?? key[...]
        let family: Family = text.contains(UInt8(ascii: ":")) ? .ipv6 : .ipv4
        guard let value = presentationToNetwork(family, text) else { return nil }
        return (family, value)
    }

    /// The longest text glibc's `inet_pton` can accept (INET6_ADDRSTRLEN is 46 with its NUL); longer
    /// keys are refused without copying them.
    static let longestAddressText = 64

    /// Glibc's `inet_pton`, the address left-aligned in 128 bits.
    static func presentationToNetwork(_ family: Family, _ text: ArraySlice<UInt8>) -> UInt128? {
        guard text.count <= longestAddressText else { return nil }
        // A NUL-terminated copy on the stack: inet_pton needs a C string.
        return withUnsafeTemporaryAllocation(of: CChar.self, capacity: text.count + 1) { cText -> UInt128? in
            var i = 0
            for c in text {
                cText[i] = CChar(bitPattern: c)
                i += 1
            }
            cText[i] = 0
            return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 16) { out -> UInt128? in
                guard let cBase = cText.baseAddress, let outBase = out.baseAddress,
                      inet_pton(family.addressFamily, cBase, outBase) == 1 else { return nil }
                var value: UInt128 = 0
                for n in 0..<family.bytes { value = value << 8 | UInt128(out[n]) }
                return value << (128 - family.bits)
            }
        }
    }

    /// Glibc's `inet_ntop` of a left-aligned address.
    static func networkToPresentation(_ family: Family, _ value: UInt128) -> String {
        var raw = [UInt8](repeating: 0, count: 16)
        var v = value
        for n in 0..<family.bytes {
            raw[n] = UInt8(truncatingIfNeeded: v >> 120)
            v <<= 8
        }
        var buffer = [CChar](repeating: 0, count: 64)
        let ok = raw.withUnsafeBytes { src in
            buffer.withUnsafeMutableBufferPointer { dst in
                inet_ntop(family.addressFamily, src.baseAddress, dst.baseAddress, socklen_t(dst.count)) != nil
            }
        }
        guard ok else { return "?" }
        return String(decoding: buffer.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
