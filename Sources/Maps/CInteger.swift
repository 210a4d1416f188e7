/// Integers in configuration values, read as Postfix reads them.
public enum CInteger {
    /// C's `strtol(text, &end, 10)` accepting only a whole, non-empty string that fits an `int`: leading
    /// white space and a sign are allowed, trailing text is not. nil for anything else.
    public static func parse(_ text: String) -> Int? {
        var bytes = text.utf8[...]
        while let c = bytes.first, c == 0x20 || (c >= 0x09 && c <= 0x0D) { bytes = bytes.dropFirst() }
        var negative = false
        if let c = bytes.first, c == 0x2B || c == 0x2D { negative = c == 0x2D; bytes = bytes.dropFirst() }
        guard !bytes.isEmpty else { return nil }
        var value = 0
        for c in bytes {
            guard c >= 0x30, c <= 0x39 else { return nil }
            value = value * 10 + Int(c - 0x30)
            if value > Int(Int32.max) + 1 { return nil }
        }
        value = negative ? -value : value
        guard value >= Int(Int32.min), value <= Int(Int32.max) else { return nil }
        return value
    }
}
