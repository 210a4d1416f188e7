import PostfixText
#if canImport(Glibc)
import Glibc
#endif
import Synchronization
import CLibraryLoader

/// A `nis:` table (Postfix's `dict_nis.c`): `yp_match` in the map named by the table's name, in the
/// machine's NIS domain. With no NIS domain set (`domainname` empty or `(none)`, as on nearly every
/// machine), the first nis table of the process warns once that NIS lookups are disabled, and every
/// lookup is "not found", as in Postfix. A failure other than "no such key" is a temporary error with
/// Postfix's warning.
///
/// libnsl is loaded only when a domain is set and the first lookup needs it, so no process pays for
/// it otherwise (Postfix links it into every program).
public final class NISTable: LookupTable {
    public let type = "nis"
    public let name: String
    private let codec: KeyCodec
    private let diagnostics: Diagnostics
    /// Lookups are independent `yp_match` calls; libnsl serializes them internally.
    public var concurrentLookups: Bool { true }

    init(name: String, request: OpenRequest) throws(MapError) {
        guard request.mode == .readOnly else { throw .usage("nis:\(name) map requires O_RDONLY access mode") }
        self.name = name
        codec = KeyCodec(flags: request.flags)
        diagnostics = request.diagnostics
        NISDomain.initialize(diagnostics)
    }

    public func lookup(_ key: [UInt8]) throws(MapError) -> [UInt8]? {
        guard let domain = NISDomain.current else { return nil }
        guard let match = NISLibrary.match else {
            throw .temporary("nis:\(name): cannot load the NIS library: \(NISLibrary.loadError)")
        }
        var lastError: Int32 = 0
        let folded = codec.folded(key)
        let value = try codec.probe(key) { bytes -> Result<[UInt8]?, MapError> in
            var out: UnsafeMutablePointer<CChar>?
            var length: Int32 = 0
            let rc = bytes.withMemoryRebound(to: CChar.self) { chars in
                match(domain, name, chars.baseAddress, Int32(chars.count), &out, &length)
            }
            defer { free(out) }
            if rc == 0 {
                guard let out else { return .success([]) }
                return .success(KeyCodec.cString(UnsafeRawBufferPointer(start: out, count: Int(length))))
            }
            lastError = rc
            return .success(nil)
        }
        if value == nil, lastError != NISLibrary.keyNotFound {
            diagnostics.warning("lookup \(ByteText.string(folded)), NIS domain \(domain), map \(name): \(NISLibrary.text(lastError))")
            throw .temporary("nis:\(name): lookup failed")
        }
        return value
    }
}

@available(*, unavailable)
extension NISTable: Sendable {}

/// The process's NIS domain, decided once, when the first nis table opens (Postfix's `dict_nis_init`).
enum NISDomain {
    private static let state = Mutex<(decided: Bool, domain: String?)>((false, nil))

    /// Decide the domain (warning once when there is none).
    static func initialize(_ diagnostics: Diagnostics) {
        let warn = state.withLock { state -> Bool in
            guard !state.decided else { return false }
            state.decided = true
            var buffer = [CChar](repeating: 0, count: 256)
            let domain: String? = getdomainname(&buffer, buffer.count - 1) == 0
                ? String(decoding: buffer.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self) : nil
            if let domain, !domain.isEmpty, domain.lowercased() != "(none)" {
                state.domain = domain
                return false
            }
            return true
        }
        if warn { diagnostics.warning("dict_nis_init: NIS domain name not set - NIS lookups disabled") }
    }

    /// The domain, or nil when NIS lookups are disabled.
    static var current: String? { state.withLock { $0.domain } }
}

/// libnsl's `yp_match`, loaded on first use.
enum NISLibrary {
    typealias Match = @convention(c) (UnsafePointer<CChar>?, UnsafePointer<CChar>?, UnsafePointer<CChar>?, Int32,
                                      UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?, UnsafeMutablePointer<Int32>?) -> Int32

    /// `YPERR_KEY`: no such key in the map.
    static let keyNotFound: Int32 = 5

    /// Loaded once (a lazy static) with CLibraryLoader's `clib_open`, as the C loaders load theirs.
    private static let loaded: (match: Match?, error: String) = {
        let sonames = [cString("libnsl.so.2"), cString("libnsl.so.1"), nil]
        let symbols = [cString("yp_match"), nil]
        var table: [UnsafeMutableRawPointer?] = [nil]
        var error = [CChar](repeating: 0, count: 512)
        guard clib_open("libnsl", sonames, symbols, &table, &error, error.count) == 0, let symbol = table[0] else {
            return (nil, String(decoding: error.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        return (unsafeBitCast(symbol, to: Match.self), "")
    }()

    /// A literal as a C string: its storage is static and ends with a NUL.
    private static func cString(_ text: StaticString) -> UnsafePointer<CChar>? {
        UnsafeRawPointer(text.utf8Start).assumingMemoryBound(to: CChar.self)
    }

    static var match: Match? { loaded.match }
    static var loadError: String { loaded.error }

    /// Postfix's texts for the `YPERR_*` codes.
    static func text(_ code: Int32) -> String {
        switch code {
        case 1: "args to function are bad"
        case 2: "RPC failure - domain has been unbound"
        case 3: "can't bind to server on this domain"
        case 4: "no such map in server's domain"
        case 5: "no such key in map"
        case 6: "internal yp server or client error"
        case 7: "resource allocation failure"
        case 8: "no more records in map database"
        case 9: "can't communicate with portmapper"
        case 10: "can't communicate with ypbind"
        case 11: "can't communicate with ypserv"
        case 12: "local domain name not set"
        case 13: "yp database is bad"
        case 14: "yp version mismatch"
        case 15: "access violation"
        case 16: "database busy"
        default: "unknown NIS lookup error"
        }
    }
}

extension NISTable {
    /// The catalog's opener.
    public static let mapType = MapType(name: "nis", open: { name, request throws(MapError) in
        try NISTable(name: name, request: request)
    })
}
