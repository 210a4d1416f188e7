import CPCRE2
import Maps

/// The `pcre` table type (PCRE2, 8-bit).
public enum PCRE2Maps {
    /// The PCRE2 library version, as `pcre2_config` reports it.
    public static var version: String {
        var buffer = [UInt8](repeating: 0, count: 64)
        let n = pcre2_config_8(UInt32(PCRE2_CONFIG_VERSION), &buffer)
        return n > 0 ? String(decoding: buffer.prefix(Int(n) - 1), as: UTF8.self) : "unknown"
    }
}
