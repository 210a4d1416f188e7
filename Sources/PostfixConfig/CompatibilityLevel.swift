import PostfixText

/// Postfix's compatibility levels (`0`, `1`, `2`, `3.6`, `3.6.1`) as comparable numbers
/// (`compat_level_from_string`).
public enum CompatibilityLevel {
    private static let minorWidth = 10
    private static let patchWidth = 10
    private static let maxMinor = 0x3FF

    /// The encoded level, or `nil` after warning `malformed compatibility level syntax: "TEXT"`.
    public static func encode(_ text: [UInt8], warn: (String) -> Void) -> Int? {
        let s = text[...]
        let major = CInteger.strtol(s)
        if major.end > s.startIndex, major.end == s.endIndex || s[major.end] == 0x2E, !major.overflow,
           major.value >= 0, major.value <= (Int.max >> (minorWidth + patchWidth)) {
            var result = major.value << (minorWidth + patchWidth)
            if major.end == s.endIndex { return result }
            let rest = s[(major.end + 1)...]
            let minor = CInteger.strtol(rest)
            if minor.end > rest.startIndex, minor.end == s.endIndex || s[minor.end] == 0x2E, !minor.overflow,
               minor.value >= 0, minor.value <= maxMinor {
                result |= minor.value << patchWidth
                if minor.end == s.endIndex { return result }
                let tail = s[(minor.end + 1)...]
                let patch = CInteger.strtol(tail)
                if patch.end > tail.startIndex, patch.end == s.endIndex, !patch.overflow,
                   patch.value >= 0, patch.value <= maxMinor {
                    return result | patch.value
                }
            }
        }
        warn("malformed compatibility level syntax: \"\(ByteText.string(text))\"")
        return nil
    }
}
