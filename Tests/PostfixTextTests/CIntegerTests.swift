import PostfixText
import Testing

@Suite struct CIntegerTests {
    @Test(arguments: [("10", 10), (" -5", -5), ("+7", 7), ("2147483647", 2147483647), ("-2147483648", -2147483648)])
    func wholeNumbers(text: String, value: Int) {
        #expect(CInteger.parse(text) == value)
    }

    @Test(arguments: ["", " ", "-", "+", "10s", "1 ", "2147483648", "-2147483649", "99999999999999999999999", "0x10"])
    func rejected(text: String) {
        #expect(CInteger.parse(text) == nil)
    }

    @Test func strtolStopsAtTheFirstNonDigit() {
        let r = CInteger.strtol(Array("  42abc".utf8)[...])
        #expect(r.value == 42 && r.end == 4 && !r.overflow)
        let none = CInteger.strtol(Array("abc".utf8)[...])
        #expect(none.value == 0 && none.end == 0)
        let big = CInteger.strtol(Array("-99999999999999999999".utf8)[...])
        #expect(big.value == Int.min && big.overflow)
    }
}
