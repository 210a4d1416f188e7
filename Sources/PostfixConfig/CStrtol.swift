import Maps

/// C's `strtol(s, &end, 10)` on bytes: leading white space, an optional sign, decimal digits; a value out
/// of range saturates and reports overflow (`ERANGE`).
enum CStrtol {
    /// The value, the index where the number ended (the start when there was none), and whether it overflowed.
    static func parse(_ s: ArraySlice<UInt8>) -> (value: Int, end: Int, overflow: Bool) {
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
