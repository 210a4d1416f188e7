import Maps
import ToolSupport
import PostfixConfig
import PostfixText
#if canImport(Glibc)
import Glibc
#endif

/// `postconf -T`: facts about the TLS library. This toolkit does not link OpenSSL; it asks the system's
/// libcrypto at run time, so `compile-version` and `run-version` both report the installed library.
enum TLSInfo {
    /// The lines for `mode`, or `nil` for an unknown mode.
    static func lines(_ mode: String) -> [String]? {
        switch mode {
        case "compile-version", "run-version":
            return [openSSLVersion() ?? "OpenSSL (unavailable)"]
        case "public-key-algorithms":
            return ["dsa", "ecdsa", "rsa"]
        default:
            return nil
        }
    }

    private static func openSSLVersion() -> String? {
        for library in ["libcrypto.so.3", "libcrypto.so"] {
            guard let handle = dlopen(library, RTLD_LAZY | RTLD_LOCAL) else { continue }
            defer { dlclose(handle) }
            guard let symbol = dlsym(handle, "OpenSSL_version") else { continue }
            typealias VersionFunction = @convention(c) (Int32) -> UnsafePointer<CChar>?
            let function = unsafeBitCast(symbol, to: VersionFunction.self)
            if let text = function(0) { return String(cString: text) }
        }
        return nil
    }
}
