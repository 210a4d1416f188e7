import PostfixText
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A compiled POSIX regular expression; freed with the last reference.
///
/// Several threads may match it at once: glibc's `regexec` takes a `const regex_t *` and guards the
/// compiled automaton's caches with its own lock. The `regex_t` lives at a fixed address, so no Swift
/// access to it overlaps another (an `inout` of a stored property would be an exclusive access).
public final class POSIXPattern: PatternMatcher {
    fileprivate let regex: UnsafeMutablePointer<regex_t>
    fileprivate var isCompiled = false
    fileprivate init() {
        regex = .allocate(capacity: 1)
        regex.initialize(to: regex_t())
    }
    deinit {
        if isCompiled { regfree(regex) }
        regex.deallocate()
    }

    public func match(_ subject: UnsafeBufferPointer<UInt8>, captures: Int) throws(PatternMatchError) -> [Range<Int>?]? {
        try POSIXRegexpDialect.match(self, subject, captures: captures)
    }
}

@available(*, unavailable)
extension POSIXPattern: Sendable {}

/// The `regexp:` dialect: POSIX `regcomp`/`regexec` as Postfix uses them. Flags: `i` toggles
/// case-insensitivity (on by default), `x` toggles extended syntax (on), `m` toggles `REG_NEWLINE` (off).
public enum POSIXRegexpDialect: PatternDialect {
    public typealias Compiled = POSIXPattern
    public typealias Options = Int32

    public static let mapType = "regexp"
    public static var defaultOptions: Int32 { REG_EXTENDED | REG_ICASE }
    public static let allowsSecondPattern = true
    public static let unterminatedVerb = "skipping"
    public static let zeroIndexWording = "out-of-range"

    public static func apply(flag: UInt8, to options: inout Int32) -> Result<String?, PatternRuleWarning> {
        switch flag {
        case 0x69: options ^= REG_ICASE
        case 0x6D: options ^= REG_NEWLINE
        case 0x78: options ^= REG_EXTENDED
        default: return .failure(PatternRuleWarning("unknown regexp option \"\(ByteText.string([flag]))\": skipping this rule"))
        }
        return .success(nil)
    }

    public static func compile(_ pattern: [UInt8], options: Int32, captures: Bool) -> Result<POSIXPattern, PatternRuleWarning> {
        let compiled = POSIXPattern()
        var text = KeyCodec.cString(pattern)
        text.append(0)
        let flags = captures ? options : options | REG_NOSUB
        let rc = text.withUnsafeBufferPointer { p in
            p.withMemoryRebound(to: CChar.self) { regcomp(compiled.regex, $0.baseAddress, flags) }
        }
        guard rc == 0 else {
            var buffer = [CChar](repeating: 0, count: 256)
            _ = regerror(rc, compiled.regex, &buffer, buffer.count)
            // regcomp failed: nothing to free.
            return .failure(PatternRuleWarning(String(decoding: buffer.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)))
        }
        compiled.isCompiled = true
        return .success(compiled)
    }

    public static func captureCount(_ compiled: POSIXPattern) -> Int { Int(compiled.regex.pointee.re_nsub) }

    public static func match(_ compiled: POSIXPattern, _ subject: UnsafeBufferPointer<UInt8>, captures: Int) throws(PatternMatchError) -> [Range<Int>?]? {
        guard let base = subject.baseAddress else { return nil }
        let text = UnsafeRawPointer(base).assumingMemoryBound(to: CChar.self)
        if captures == 0 {
            let rc = regexec(compiled.regex, text, 0, nil, 0)
            if rc == 0 { return [] }
            if rc == Int32(_REG_NOMATCH.rawValue) { return nil }
            throw error(rc, compiled)
        }
        var matches = [regmatch_t](repeating: regmatch_t(), count: captures + 1)
        let rc = regexec(compiled.regex, text, matches.count, &matches, 0)
        if rc == Int32(_REG_NOMATCH.rawValue) { return nil }
        guard rc == 0 else { throw error(rc, compiled) }
        return matches.map { m in m.rm_so < 0 ? nil : Int(m.rm_so)..<Int(m.rm_eo) }
    }

    static func error(_ rc: Int32, _ compiled: POSIXPattern) -> PatternMatchError {
        var buffer = [CChar](repeating: 0, count: 256)
        _ = regerror(rc, compiled.regex, &buffer, buffer.count)
        return PatternMatchError(String(decoding: buffer.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self))
    }

    public static func literalSyntax(_ options: Int32) -> LiteralSyntax? {
        guard options & REG_EXTENDED != 0 else { return nil }
        return LiteralSyntax(caseless: options & REG_ICASE != 0, pcre: false)
    }
}

/// The `regexp` table type.
public enum PatternMaps {
    /// `regexp:FILE` or `regexp:{ {rule}, ... }`.
    public static let regexp = MapType(name: "regexp", fixedKeys: false, open: { name, request throws(MapError) in
        try PatternTable(POSIXRegexpDialect.self, name: name, request: request)
    })
}
