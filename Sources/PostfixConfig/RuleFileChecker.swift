import Maps
#if canImport(Glibc)
import Glibc
#endif

/// Checks that a `regexp:`, `pcre:` or `cidr:` table compiles, reporting what Postfix would warn about
/// when it loads the table (`regexp map FILE, line N: ...`). Nothing is linked for this: regexp uses
/// the C library's `regcomp`, pcre loads libpcre2-8 at run time (only when a pcre table is checked), cidr
/// is parsed here.
enum RuleFileChecker {
    /// The problems found in the rules of `type:name`, where `lines` are the logical lines.
    static func check(type: String, name: String, lines: [LogicalLine]) -> [String] {
        var problems: [String] = []
        var nesting: [Int] = []
        for line in lines {
            let text = ConfigText.cString(line.text)
            var p = 0
            while p < text.count, ConfigText.isSpace(text[p]) { p += 1 }
            let rest = Array(text[p...])
            let prefix = "\(type) map \(name), line \(line.lineNumber): "
            if type == "cidr" {
                checkCIDR(rest, prefix: prefix, line: line.lineNumber, nesting: &nesting, problems: &problems)
                continue
            }
            if let first = rest.first, !MacroExpander.isAlnum(first) {
                var cursor = rest[...]
                guard let pattern = extractPattern(&cursor, type: type, prefix: prefix, problems: &problems) else { continue }
                compile(pattern, type: type, prefix: prefix, problems: &problems)
                if type == "regexp", cursor.first == 0x21 {
                    guard let second = extractPattern(&cursor, type: type, prefix: prefix, problems: &problems) else { continue }
                    compile(second, type: type, prefix: prefix, problems: &problems)
                }
                continue
            }
            if keyword(rest, "if") {
                var cursor = rest[2...]
                while let c = cursor.first, ConfigText.isSpace(c) { cursor = cursor.dropFirst() }
                guard let pattern = extractPattern(&cursor, type: type, prefix: prefix, problems: &problems) else { continue }
                while let c = cursor.first, ConfigText.isSpace(c) { cursor = cursor.dropFirst() }
                if !cursor.isEmpty {
                    problems.append(prefix + "ignoring extra text after IF statement: \"\(ConfigText.text(Array(cursor)))\"")
                }
                compile(pattern, type: type, prefix: prefix, problems: &problems)
                nesting.append(line.lineNumber)
            } else if keyword(rest, "endif") {
                if nesting.isEmpty {
                    problems.append(prefix + "ignoring ENDIF without matching IF")
                } else {
                    nesting.removeLast()
                }
            } else {
                problems.append(prefix + "ignoring unrecognized request")
            }
        }
        for open in nesting {
            problems.append("\(type) map \(name), line \(open): IF has no matching ENDIF")
        }
        return problems
    }

    private static func keyword(_ text: [UInt8], _ word: String) -> Bool {
        let w = Array(word.utf8)
        guard text.count >= w.count else { return false }
        for (a, b) in zip(text, w) where a | 0x20 != b { return false }
        return text.count == w.count || !MacroExpander.isAlnum(text[w.count])
    }

    /// A pattern with its options.
    struct Pattern {
        var text: [UInt8]
        var options: UInt32
    }

    private static func extractPattern(_ p: inout ArraySlice<UInt8>, type: String, prefix: String,
                                       problems: inout [String]) -> Pattern? {
        while let c = p.first, c == 0x21 || ConfigText.isSpace(c) { p = p.dropFirst() }
        guard let delimiter = p.first else {
            problems.append(prefix + "no regexp: skipping this rule")
            return nil
        }
        p = p.dropFirst()
        var body: [UInt8] = []
        var closed = false
        while let c = p.first {
            if c == 0x5C {
                guard p.count > 1 else { break }
                body.append(c)
                body.append(p[p.startIndex + 1])
                p = p.dropFirst(2)
                continue
            }
            if c == delimiter {
                closed = true
                p = p.dropFirst()
                break
            }
            body.append(c)
            p = p.dropFirst()
        }
        guard closed else {
            let verb = type == "pcre" ? "ignoring" : "skipping"
            problems.append(prefix + "no closing regexp delimiter \"\(ConfigText.text([delimiter]))\": \(verb) this rule")
            return nil
        }
        var options: UInt32
        if type == "pcre" {
            options = 0x0000_0008 | 0x0000_0020
            while let c = p.first, !ConfigText.isSpace(c) {
                switch c {
                case 0x69: options ^= 0x0000_0008
                case 0x6D: options ^= 0x0000_0400
                case 0x73: options ^= 0x0000_0020
                case 0x78: options ^= 0x0000_0080
                case 0x41: options ^= 0x8000_0000
                case 0x45: options ^= 0x0000_0010
                case 0x55: options ^= 0x0004_0000
                case 0x58: problems.append(prefix + "ignoring obsolete regexp option \"X\"")
                default:
                    problems.append(prefix + "unknown regexp option \"\(ConfigText.text([c]))\": skipping this rule")
                    return nil
                }
                p = p.dropFirst()
            }
        } else {
            options = UInt32(REG_EXTENDED | REG_ICASE)
            while let c = p.first, !ConfigText.isSpace(c), c != 0x21 {
                switch c {
                case 0x69: options ^= UInt32(REG_ICASE)
                case 0x6D: options ^= UInt32(REG_NEWLINE)
                case 0x78: options ^= UInt32(REG_EXTENDED)
                default:
                    problems.append(prefix + "unknown regexp option \"\(ConfigText.text([c]))\": skipping this rule")
                    return nil
                }
                p = p.dropFirst()
            }
        }
        return Pattern(text: body, options: options)
    }

    private static func compile(_ pattern: Pattern, type: String, prefix: String, problems: inout [String]) {
        if type == "pcre" {
            if let error = PCRE2Loader.compileError(pattern.text, options: pattern.options) {
                problems.append(prefix + error)
            }
            return
        }
        var regex = regex_t()
        let status = (pattern.text + [0]).withUnsafeBufferPointer { buffer in
            buffer.withMemoryRebound(to: CChar.self) { regcomp(&regex, $0.baseAddress, Int32(pattern.options)) }
        }
        if status != 0 {
            var buffer = [CChar](repeating: 0, count: 256)
            regerror(status, &regex, &buffer, buffer.count)
            let text = buffer.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }
            problems.append(prefix + ConfigText.text(text))
        } else {
            regfree(&regex)
        }
    }

    // MARK: cidr

    private static func checkCIDR(_ text: [UInt8], prefix: String, line: Int, nesting: inout [Int], problems: inout [String]) {
        var p = text[...]
        while let c = p.first, c == 0x21 || ConfigText.isSpace(c) { p = p.dropFirst() }
        let word = Array(p.prefix { !ConfigText.isSpace($0) })
        if keyword(word, "if") && word.count == 2 {
            var rest = p.dropFirst(2)
            while let c = rest.first, c == 0x21 || ConfigText.isSpace(c) { rest = rest.dropFirst() }
            let pattern = Array(rest.prefix { !ConfigText.isSpace($0) })
            if let why = cidrPattern(pattern) {
                problems.append(prefix + why + ": skipping this rule")
            } else {
                nesting.append(line)
            }
            return
        }
        if keyword(word, "endif") && word.count == 5 {
            if nesting.isEmpty {
                problems.append(prefix + "ENDIF without IF: skipping this rule")
            } else {
                nesting.removeLast()
            }
            return
        }
        if word.isEmpty {
            problems.append(prefix + "no address pattern: skipping this rule")
            return
        }
        if let why = cidrPattern(word) {
            problems.append(prefix + why + ": skipping this rule")
            return
        }
        let value = p.dropFirst(word.count).drop { ConfigText.isSpace($0) }
        if value.isEmpty {
            problems.append(prefix + "no lookup result: skipping this rule")
        }
    }

    /// `cidr_match_parse`: Postfix's complaint about a pattern, or `nil`.
    static func cidrPattern(_ original: [UInt8]) -> String? {
        var pattern = original
        var maskSearchStart = 0
        if pattern.first == 0x5B {
            pattern.removeFirst()
            guard let close = pattern.firstIndex(of: 0x5D) else {
                return "missing ']' character after \"[\(ConfigText.text(pattern))\""
            }
            let after = Array(pattern[(close + 1)...])
            pattern = Array(pattern[..<close])
            if after.first != 0x2F {
                if !after.isEmpty { return "garbage after \"[\(ConfigText.text(pattern))]\"" }
            } else {
                pattern += after
                maskSearchStart = close
            }
        }
        let family = pattern.contains(0x3A) ? AF_INET6 : AF_INET
        let bits = family == AF_INET6 ? 128 : 32
        var net = [UInt8](repeating: 0, count: 16)
        func pton(_ s: [UInt8]) -> Bool {
            (s + [0]).withUnsafeBufferPointer { b in
                b.withMemoryRebound(to: CChar.self) { inet_pton(family, $0.baseAddress, &net) == 1 }
            }
        }
        if let slash = pattern[maskSearchStart...].firstIndex(of: 0x2F) {
            let address = Array(pattern[..<slash]), mask = Array(pattern[(slash + 1)...])
            let shown = "\"\(ConfigText.text(address))/\(ConfigText.text(mask))\""
            guard MacroExpander.allDigits(mask) else { return "bad mask value in \(shown)" }
            let shift = Int(String(decoding: mask, as: UTF8.self)) ?? Int.max
            if shift > bits { return "bad mask length in \(shown)" }
            if !pton(address) { return "bad network value in \(shown)" }
            let bytes = bits / 8
            for i in 0..<bytes {
                let keep = max(0, min(8, shift - i * 8))
                let m: UInt8 = keep == 0 ? 0 : UInt8(truncatingIfNeeded: 0xFF << (8 - keep))
                if net[i] & ~m != 0 {
                    var masked = net
                    for j in 0..<bytes {
                        let k = max(0, min(8, shift - j * 8))
                        masked[j] &= k == 0 ? 0 : UInt8(truncatingIfNeeded: 0xFF << (8 - k))
                    }
                    let fixed = HostNetworks.format(family, Array(masked[0..<bytes]))
                    return "non-null host address bits in \(shown), perhaps you should use \"\(fixed)/\(shift)\" instead"
                }
            }
            return nil
        }
        if !pton(pattern) { return "bad address pattern: \"\(ConfigText.text(pattern))\"" }
        return nil
    }
}
