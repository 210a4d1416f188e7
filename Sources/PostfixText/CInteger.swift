/// Integers in configuration values, read as Postfix reads them.
public enum CInteger {
    /// C's `strtol(text, &end, 10)` accepting only a whole, non-empty string that fits an `int`: leading
    /// white space and a sign are allowed, trailing text is not. nil for anything else.
    public static func parse(_ text: String) -> Int? {
        let bytes = Array(text.utf8)
        let (value, end, overflow) = strtol(bytes[...])
        // A whole, non-empty number: strtol consumed everything, and something.
        guard end == bytes.count, end > 0, bytes.contains(where: { $0 >= 0x30 && $0 <= 0x39 }), !overflow else { return nil }
        guard value >= Int(Int32.min), value <= Int(Int32.max) else { return nil }
        return value
    }
}

extension CInteger {
    /// C's `strtol(s, &end, 10)` on bytes: leading white space, an optional sign, decimal digits; a value
    /// out of range saturates and reports overflow (`ERANGE`). Returns the value, the index where the
    /// number ended (the start when there was none), and whether it overflowed.
    public static func strtol(_ s: ArraySlice<UInt8>) -> (value: Int, end: Int, overflow: Bool) {
        var i = s.startIndex
        while i < s.endIndex, s[i] == 0x20 || (s[i] >= 0x09 && s[i] <= 0x0D) { i += 1 }
        var negative = false
        if i < s.endIndex, s[i] == 0x2B || s[i] == 0x2D {
            negative = s[i] == 0x2D
            i += 1
        }
        let digitsStart = i
        var value = 0
        var overflow = false
        while i < s.endIndex, s[i] >= 0x30, s[i] <= 0x39 {
            let d = Int(s[i] - 0x30)
            if !overflow {
                let (m, o1) = value.multipliedReportingOverflow(by: 10)
                let (a, o2) = negative ? m.subtractingReportingOverflow(d) : m.addingReportingOverflow(d)
                if o1 || o2 {
                    overflow = true
                    value = negative ? Int.min : Int.max
                } else {
                    value = a
                }
            }
            i += 1
        }
        if i == digitsStart { return (0, s.startIndex, false) }
        return (value, i, overflow)
    }
}
