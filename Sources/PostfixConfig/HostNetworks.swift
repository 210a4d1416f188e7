import PostfixText
#if canImport(Glibc)
import Glibc
#endif

/// The host facts behind Postfix's computed defaults: the host name (`get_hostname()`) and the networks of
/// the host's interfaces (`mynetworks()`, `own_inet_addr_list()`, `inet_addr_local()`, `inet_proto_init()`).
public enum HostNetworks {
    /// `gethostname()`, as Postfix takes it.
    public static func hostname() throws(Fatal) -> [UInt8] {
        var buffer = [CChar](repeating: 0, count: 257)
        guard gethostname(&buffer, 256) == 0 else {
            throw Fatal("gethostname: \(systemErrorText(errno))")
        }
        let name = buffer.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }
        if name.isEmpty { throw Fatal("unable to use my own hostname") }
        return name
    }

    /// One interface address with its netmask.
    public struct Interface {
        public var family: Int32
        /// Address bytes (4 or 16).
        public var address: [UInt8]
        public var mask: [UInt8]
    }

    /// `inet_proto_init`: the address families that `inet_protocols` enables, in Postfix's order.
    public static func families(_ protocols: [UInt8], warn: (String) -> Void) throws(Fatal) -> [Int32] {
        var ipv4 = false, ipv6 = false
        for name in ConfigText.tokens(protocols, ConfigText.isCommaOrBlank) {
            switch String(decoding: name, as: UTF8.self) {
            case "all": ipv4 = true; ipv6 = true
            case "ipv4": ipv4 = true
            case "ipv6": ipv6 = true
            default:
                throw Fatal("unknown inet_protocols value \"\(ConfigText.text(name))\" in \"\(ConfigText.text(protocols))\"")
            }
        }
        if ipv6 {
            let s = socket(AF_INET6, Int32(SOCK_STREAM.rawValue), 0)
            if s >= 0 {
                close(s)
            } else if errno == EAFNOSUPPORT || errno == EPROTONOSUPPORT {
                warn("inet_protocols: disabling IPv6 name/address support: \(systemErrorText(errno))")
                ipv6 = false
            } else {
                throw Fatal("socket: \(systemErrorText(errno))")
            }
        }
        if ipv4 {
            let s = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            if s >= 0 {
                close(s)
            } else if errno == EAFNOSUPPORT || errno == EPROTONOSUPPORT {
                warn("inet_protocols: disabling IPv4 name/address support: \(systemErrorText(errno))")
                ipv4 = false
            } else {
                throw Fatal("socket: \(systemErrorText(errno))")
            }
        }
        var out: [Int32] = []
        if ipv4 { out.append(AF_INET) }
        if ipv6 { out.append(AF_INET6) }
        return out
    }

    /// `inet_addr_local`: the addresses of interfaces that are up, family by family in `families` order.
    public static func localInterfaces(_ families: [Int32], warn: (String) -> Void) throws(Fatal) -> [Interface] {
        var list: UnsafeMutablePointer<ifaddrs>?
        guard getifaddrs(&list) == 0 else {
            throw Fatal("inet_addr_local[getifaddrs]: getifaddrs: \(systemErrorText(errno))")
        }
        defer { freeifaddrs(list) }
        var out: [Interface] = []
        for family in families {
            var cursor = list
            while let ifa = cursor {
                defer { cursor = ifa.pointee.ifa_next }
                guard ifa.pointee.ifa_flags & UInt32(IFF_UP) != 0, let sa = ifa.pointee.ifa_addr else { continue }
                guard Int32(sa.pointee.sa_family) == family else { continue }
                guard let sam = ifa.pointee.ifa_netmask else {
                    warn("ignoring interface with null netmask, address family \(family)")
                    continue
                }
                if family == AF_INET {
                    let addr = addressBytes(sa, family)
                    if addr == [0, 0, 0, 0] { continue }
                    out.append(Interface(family: family, address: addr, mask: addressBytes(sam, family)))
                } else if family == AF_INET6 {
                    let addr = addressBytes(sa, family)
                    if addr.allSatisfy({ $0 == 0 }) { continue }
                    out.append(Interface(family: family, address: addr, mask: addressBytes(sam, family)))
                }
            }
        }
        return out
    }

    private static func addressBytes(_ sa: UnsafeMutablePointer<sockaddr>, _ family: Int32) -> [UInt8] {
        if family == AF_INET {
            return UnsafeRawPointer(sa).withMemoryRebound(to: sockaddr_in.self, capacity: 1) { p in
                withUnsafeBytes(of: p.pointee.sin_addr) { Array($0) }
            }
        }
        return UnsafeRawPointer(sa).withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { p in
            withUnsafeBytes(of: p.pointee.sin6_addr) { Array($0) }
        }
    }

    /// `own_inet_addr_list`: the interfaces that `inet_interfaces` selects.
    public static func ownInterfaces(_ inetInterfaces: [UInt8], families: [Int32], warn: (String) -> Void) throws(Fatal) -> [Interface] {
        if families.isEmpty { return [] }
        let all = try localInterfaces(families, warn: warn)
        let text = String(decoding: inetInterfaces, as: UTF8.self)
        if text == "all" {
            if all.isEmpty { throw Fatal("could not find any active network interfaces") }
            return all
        }
        if text == "loopback-only" {
            if all.isEmpty { throw Fatal("could not find any active network interfaces") }
            return all.filter { isLoopback($0) }
        }
        var selected: [Interface] = []
        for host in ConfigText.tokens(inetInterfaces, { $0 == 0x20 || $0 == 0x09 || $0 == 0x2C }) {
            let addresses = resolve(host, families: families)
            if addresses.isEmpty {
                throw Fatal("config variable inet_interfaces: host not found: \(ConfigText.text(host))")
            }
            for a in addresses where !selected.contains(where: { $0.family == a.family && $0.address == a.address }) {
                selected.append(a)
            }
        }
        if all.isEmpty { throw Fatal("could not find any active network interfaces") }
        var out: [Interface] = []
        for var v in selected {
            guard let local = all.first(where: { $0.family == v.family && $0.address == v.address }) else {
                throw Fatal("parameter inet_interfaces: no local interface found for \(format(v.family, v.address))")
            }
            v.mask = local.mask
            out.append(v)
        }
        return out
    }

    private static func isLoopback(_ i: Interface) -> Bool {
        if i.family == AF_INET { return i.address[0] == 127 }
        return i.address == [UInt8](repeating: 0, count: 15) + [1]
    }

    /// Numeric addresses (optionally in brackets) or host names via `getaddrinfo`.
    private static func resolve(_ host: [UInt8], families: [Int32]) -> [Interface] {
        var name = host
        if name.first == 0x5B, name.last == 0x5D { name = Array(name.dropFirst().dropLast()) }
        var hints = addrinfo()
        hints.ai_family = families.count == 1 ? families[0] : AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var result: UnsafeMutablePointer<addrinfo>?
        let status = (name + [0]).withUnsafeBufferPointer { buf in
            buf.withMemoryRebound(to: CChar.self) { getaddrinfo($0.baseAddress, nil, &hints, &result) }
        }
        guard status == 0 else { return [] }
        defer { freeaddrinfo(result) }
        var out: [Interface] = []
        var cursor = result
        while let ai = cursor {
            defer { cursor = ai.pointee.ai_next }
            guard let sa = ai.pointee.ai_addr, families.contains(ai.pointee.ai_family) else { continue }
            out.append(Interface(family: ai.pointee.ai_family, address: addressBytes(sa, ai.pointee.ai_family), mask: []))
        }
        return out
    }

    /// An address as Postfix prints it (`inet_ntoa`, or `getnameinfo` without the scope for IPv6).
    public static func format(_ family: Int32, _ address: [UInt8]) -> String {
        var buffer = [CChar](repeating: 0, count: 64)
        let ok = address.withUnsafeBytes { raw in
            inet_ntop(family, raw.baseAddress, &buffer, socklen_t(buffer.count)) != nil
        }
        guard ok else { return "?" }
        return String(decoding: buffer.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// `mynetworks_core(style)`: one `network/bits` per interface, IPv6 in brackets, duplicates dropped,
    /// each followed by a space (as in Postfix).
    public static func networks(style: [UInt8], inetInterfaces: [UInt8], protocols: [UInt8],
                         warn: (String) -> Void) throws(Fatal) -> [UInt8] {
        let families = try self.families(protocols, warn: warn)
        if families.isEmpty { return [] }
        var styleMask = 0
        for name in ConfigText.tokens(style, ConfigText.isCommaOrBlank) {
            switch String(decoding: name, as: UTF8.self) {
            case "class": styleMask |= 1
            case "subnet": styleMask |= 2
            case "host": styleMask |= 4
            default:
                throw Fatal("unknown mynetworks mask style value \"\(ConfigText.text(name))\" in \"\(ConfigText.text(style))\"")
            }
        }
        if styleMask.nonzeroBitCount != 1 {
            throw Fatal("bad mynetworks_style value: \(ConfigText.text(style)); specify exactly one value")
        }
        let interfaces = try ownInterfaces(inetInterfaces, families: families, warn: warn)
        var entries: [[UInt8]] = []
        for i in interfaces {
            var net = i.address
            var bits: Int
            if i.family == AF_INET {
                let addr = UInt32(i.address[0]) << 24 | UInt32(i.address[1]) << 16 | UInt32(i.address[2]) << 8 | UInt32(i.address[3])
                var mask = UInt32(i.mask[0]) << 24 | UInt32(i.mask[1]) << 16 | UInt32(i.mask[2]) << 8 | UInt32(i.mask[3])
                switch styleMask {
                case 1:
                    if addr & 0x8000_0000 == 0 { mask = 0xFF00_0000; bits = 8 }
                    else if addr & 0xC000_0000 == 0x8000_0000 { mask = 0xFFFF_0000; bits = 16 }
                    else if addr & 0xE000_0000 == 0xC000_0000 { mask = 0xFFFF_FF00; bits = 24 }
                    else if addr & 0xF000_0000 == 0xE000_0000 { mask = 0xF000_0000; bits = 4 }
                    else {
                        throw Fatal("mynetworks_core: unknown address class: \(format(AF_INET, i.address))")
                    }
                case 2:
                    var shift = 32
                    var junk = mask
                    while junk != 0 { shift -= 1; junk <<= 1 }
                    bits = 32 - shift
                default:
                    mask = 0xFFFF_FFFF
                    bits = 32
                }
                let masked = addr & mask
                net = [UInt8(masked >> 24), UInt8((masked >> 16) & 0xFF), UInt8((masked >> 8) & 0xFF), UInt8(masked & 0xFF)]
                entries.append(Array("\(format(AF_INET, net))/\(bits)".utf8))
            } else {
                if styleMask == 4 {
                    bits = 128
                } else {
                    var shift = 128
                    for byte in i.mask {
                        if byte == 0xFF { shift -= 8; continue }
                        var ch = byte
                        while ch != 0 { shift -= 1; ch <<= 1 }
                        break
                    }
                    bits = 128 - shift
                }
                for index in 0..<16 {
                    let keep = max(0, min(8, bits - index * 8))
                    net[index] &= keep == 0 ? 0 : UInt8(truncatingIfNeeded: 0xFF << (8 - keep))
                }
                entries.append(Array("[\(format(AF_INET6, net))]/\(bits)".utf8))
            }
        }
        var seen: Set<[UInt8]> = []
        var out: [UInt8] = []
        for e in entries where entries.count <= 1 || seen.insert(e).inserted {
            out.append(contentsOf: e)
            out.append(0x20)
        }
        return out
    }
}
