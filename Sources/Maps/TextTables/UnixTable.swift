#if canImport(Glibc)
import Glibc
#endif
import PostfixText

/// `unix:passwd.byname` and `unix:group.byname`: the system's user and group databases through the C
/// library (Postfix's `dict_unix.c`). Values are `name:passwd:uid:gid:gecos:dir:shell` and
/// `name:passwd:gid:member,member`. The reentrant `getpwnam_r`/`getgrnam_r` keep lookups thread-safe.
public final class UnixTable: LookupTable {
    public let type = "unix"
    public let name: String
    private let groups: Bool
    private let fold: Bool
    private let diagnostics: Diagnostics

    /// Open one of the two databases; any other name is `unknown table`.
    public init(name: String, request: OpenRequest) throws(MapError) {
        guard request.mode == .readOnly else {
            throw .usage("unix:\(name) map requires O_RDONLY access mode")
        }
        switch name {
        case "passwd.byname": groups = false
        case "group.byname": groups = true
        default: throw .configuration("unknown table: unix:\(name)")
        }
        self.name = name
        self.fold = request.flags.contains(.foldFixed)
        self.diagnostics = request.diagnostics
    }

    /// The catalog's opener.
    public static let mapType = MapType(name: "unix", open: { name, request throws(MapError) in
        try UnixTable(name: name, request: request)
    })

    /// `getpwnam_r`/`getgrnam_r` with a buffer per call.
    public var concurrentLookups: Bool { true }

    public func lookup(_ key: [UInt8]) throws(MapError) -> [UInt8]? {
        let key = fold ? CaseFolding.asciiLowercased(key) : key
        return try withCString(KeyCodec.cString(key)) { (cKey) throws(MapError) -> [UInt8]? in
            groups ? try lookupGroup(cKey) : try lookupPasswd(cKey)
        }
    }

    private func withCString<T>(_ bytes: [UInt8], _ body: (UnsafePointer<CChar>) throws(MapError) -> T) throws(MapError) -> T {
        var z = bytes
        z.append(0)
        let result: Result<T, MapError> = z.withUnsafeBufferPointer { buffer in
            buffer.withMemoryRebound(to: CChar.self) { c in
                do throws(MapError) {
                    guard let base = c.baseAddress else { return .failure(.temporary("empty key buffer")) }
                    return .success(try body(base))
                } catch { return .failure(error) }
            }
        }
        return try result.get()
    }

    /// Run a `*_r` call with a buffer that grows on `ERANGE`.
    private func reentrant(_ call: (UnsafeMutablePointer<CChar>, Int) -> (Int32, Bool)) -> (found: Bool, error: Int32) {
        var size = 1024
        while size <= 1 << 20 {
            var buffer = [CChar](repeating: 0, count: size)
            let (rc, found) = buffer.withUnsafeMutableBufferPointer { b in
                guard let base = b.baseAddress else { return (ENOMEM, false) }
                return call(base, size)
            }
            if rc == ERANGE { size *= 4; continue }
            return (found, rc)
        }
        return (false, ERANGE)
    }

    private static func bytes(_ s: UnsafePointer<CChar>?) -> [UInt8] {
        guard let s else { return [] }
        return Array(UnsafeBufferPointer(start: UnsafeRawPointer(s).assumingMemoryBound(to: UInt8.self), count: strlen(s)))
    }

    private func notFound(database: String) throws(MapError) -> [UInt8]? {
        // As Postfix: a miss is "not found" unless the database itself cannot be read (no root entry).
        var rootFound = false
        let (_, error) = reentrant { buffer, size in
            if groups {
                var g = Glibc.group(), out: UnsafeMutablePointer<Glibc.group>?
                let rc = getgrgid_r(0, &g, buffer, size, &out)
                rootFound = out != nil
                return (rc, out != nil)
            }
            var p = Glibc.passwd(), out: UnsafeMutablePointer<Glibc.passwd>?
            let rc = getpwuid_r(0, &p, buffer, size, &out)
            rootFound = out != nil
            return (rc, out != nil)
        }
        if !rootFound {
            diagnostics.warning("cannot access UNIX \(database) database: \(systemErrorText(error))")
            throw .temporary("cannot access UNIX \(database) database", errno: error)
        }
        return nil
    }

    private func lookupPasswd(_ key: UnsafePointer<CChar>) throws(MapError) -> [UInt8]? {
        var value: [UInt8]?
        _ = reentrant { buffer, size in
            var p = Glibc.passwd(), out: UnsafeMutablePointer<Glibc.passwd>?
            let rc = getpwnam_r(key, &p, buffer, size, &out)
            if let e = out?.pointee {
                var v = Self.bytes(e.pw_name)
                for part in [Self.bytes(e.pw_passwd), Array(String(e.pw_uid).utf8), Array(String(e.pw_gid).utf8),
                             Self.bytes(e.pw_gecos), Self.bytes(e.pw_dir), Self.bytes(e.pw_shell)] {
                    v.append(0x3A)
                    v.append(contentsOf: part)
                }
                value = v
            }
            return (rc, out != nil)
        }
        if let value { return value }
        return try notFound(database: "password")
    }

    private func lookupGroup(_ key: UnsafePointer<CChar>) throws(MapError) -> [UInt8]? {
        var value: [UInt8]?
        _ = reentrant { buffer, size in
            var g = Glibc.group(), out: UnsafeMutablePointer<Glibc.group>?
            let rc = getgrnam_r(key, &g, buffer, size, &out)
            if let e = out?.pointee {
                var v = Self.bytes(e.gr_name)
                v.append(0x3A)
                v.append(contentsOf: Self.bytes(e.gr_passwd))
                v.append(0x3A)
                v.append(contentsOf: Array(String(e.gr_gid).utf8))
                v.append(0x3A)
                var members: [[UInt8]] = []
                if var m = e.gr_mem {
                    while let s = m.pointee {
                        members.append(Self.bytes(s))
                        m += 1
                    }
                }
                v.append(contentsOf: members.joined(separator: [0x2C]))
                value = v
            }
            return (rc, out != nil)
        }
        if let value { return value }
        return try notFound(database: "group")
    }
}
