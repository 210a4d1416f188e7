import PostfixText
import CPCRE2
import Maps

/// A compiled PCRE2 pattern with its match data. JIT compilation is deferred until the pattern has
/// been run a few times: most rules of a large table run rarely, and JIT costs more than it saves then.
public final class PCREPattern: PatternMatcher {
    fileprivate let code: OpaquePointer
    fileprivate let matchData: OpaquePointer
    fileprivate var runs = 0
    fileprivate var jitState: JIT = .pending

    fileprivate enum JIT { case pending, ready, unavailable }

    fileprivate init(code: OpaquePointer, matchData: OpaquePointer) {
        self.code = code
        self.matchData = matchData
    }

    deinit {
        pcre2_match_data_free_8(matchData)
        pcre2_code_free_8(code)
    }

    public func match(_ subject: UnsafeBufferPointer<UInt8>, captures: Int) throws(PatternMatchError) -> [Range<Int>?]? {
        try PCREDialect.match(self, subject, captures: captures)
    }
}

@available(*, unavailable)
extension PCREPattern: Sendable {}

/// The match limit: PCRE2's default (what Postfix gets), set explicitly so a catastrophic pattern fails
/// with an error instead of running on.
private let matchLimit: UInt32 = 10_000_000

/// One match context for all patterns of the process; only the match limit is set. Created once, never
/// mutated after, and only read by pcre2_match.
nonisolated(unsafe) private let matchContext: OpaquePointer? = {
    let context = pcre2_match_context_create_8(nil)
    if let context { _ = pcre2_set_match_limit_8(context, matchLimit) }
    return context
}()

/// The `pcre:` dialect: PCRE2 in 8-bit mode without UTF, as Postfix uses it. Flags toggle options
/// (defaults CASELESS and DOTALL): `i` caseless, `m` multiline, `s` dotall, `x` extended, `A` anchored,
/// `E` dollar-endonly, `U` ungreedy; `X` is obsolete and only warned about.
public enum PCREDialect: PatternDialect {
    public typealias Compiled = PCREPattern
    public typealias Options = UInt32

    public static let mapType = "pcre"
    public static var defaultOptions: UInt32 { PCRE2_CASELESS | PCRE2_DOTALL }
    public static let allowsSecondPattern = false
    public static let unterminatedVerb = "ignoring"
    public static let zeroIndexWording = "out of range"

    public static func apply(flag: UInt8, to options: inout UInt32) -> Result<String?, PatternRuleWarning> {
        switch flag {
        case UInt8(ascii: "i"): options ^= PCRE2_CASELESS
        case UInt8(ascii: "m"): options ^= PCRE2_MULTILINE
        case UInt8(ascii: "s"): options ^= PCRE2_DOTALL
        case UInt8(ascii: "x"): options ^= PCRE2_EXTENDED
        case UInt8(ascii: "A"): options ^= PCRE2_ANCHORED
        case UInt8(ascii: "E"): options ^= PCRE2_DOLLAR_ENDONLY
        case UInt8(ascii: "U"): options ^= PCRE2_UNGREEDY
        case UInt8(ascii: "X"): return .success("ignoring obsolete regexp option \"X\"")
        default: return .failure(PatternRuleWarning("unknown regexp option \"\(ByteText.string([flag]))\": skipping this rule"))
        }
        return .success(nil)
    }

    static func errorText(_ code: Int32) -> String {
        var buffer = [UInt8](repeating: 0, count: 256)
        let n = pcre2_get_error_message_8(code, &buffer, buffer.count)
        return n > 0 ? String(decoding: buffer.prefix(Int(n)), as: UTF8.self) : "error \(code)"
    }

    public static func compile(_ pattern: [UInt8], options: UInt32, captures: Bool) -> Result<PCREPattern, PatternRuleWarning> {
        let text = KeyCodec.cString(pattern)
        var error: Int32 = 0
        var offset = 0
        let code = text.withUnsafeBufferPointer { p in
            pcre2_compile_8(p.baseAddress, p.count, options, &error, &offset, nil)
        }
        guard let code else {
            return .failure(PatternRuleWarning("error in regex at offset \(offset): \(errorText(error))"))
        }
        guard let matchData = pcre2_match_data_create_from_pattern_8(code, nil) else {
            pcre2_code_free_8(code)
            return .failure(PatternRuleWarning("out of memory"))
        }
        return .success(PCREPattern(code: code, matchData: matchData))
    }

    public static func captureCount(_ compiled: PCREPattern) -> Int {
        var count: UInt32 = 0
        _ = pcre2_pattern_info_8(compiled.code, UInt32(PCRE2_INFO_CAPTURECOUNT), &count)
        return Int(count)
    }

    public static func match(_ compiled: PCREPattern, _ subject: UnsafeBufferPointer<UInt8>, captures: Int) throws(PatternMatchError) -> [Range<Int>?]? {
        compiled.runs += 1
        if compiled.jitState == .pending, compiled.runs >= 8 {
            compiled.jitState = pcre2_jit_compile_8(compiled.code, PCRE2_JIT_COMPLETE) == 0 ? .ready : .unavailable
        }
        var rc = pcre2_match_8(compiled.code, subject.baseAddress, subject.count, 0, 0, compiled.matchData, matchContext)
        if rc == PCRE2_ERROR_JIT_STACKLIMIT {
            // The JIT's small stack ran out; the interpreter uses the heap, as Postfix's matching does.
            rc = pcre2_match_8(compiled.code, subject.baseAddress, subject.count, 0, PCRE2_NO_JIT, compiled.matchData, matchContext)
        }
        if rc == PCRE2_ERROR_NOMATCH { return nil }
        guard rc >= 0 else { throw PatternMatchError(errorText(rc)) }
        guard captures > 0, let ovector = pcre2_get_ovector_pointer_8(compiled.matchData) else { return [] }
        var groups: [Range<Int>?] = []
        groups.reserveCapacity(captures + 1)
        for n in 0...captures {
            let start = ovector[2 * n], end = ovector[2 * n + 1]
            if n >= Int(rc) || start == ~0 || end < start { groups.append(nil) } else { groups.append(start..<end) }
        }
        return groups
    }

    public static func literalSyntax(_ options: UInt32) -> LiteralSyntax? {
        guard options & PCRE2_EXTENDED == 0 else { return nil }
        return LiteralSyntax(caseless: options & PCRE2_CASELESS != 0, pcre: true)
    }
}

/// The `pcre` table type (PCRE2, 8-bit).
public enum PCRE2Maps {
    /// `pcre:FILE` or `pcre:{ {rule}, ... }`.
    public static let pcre = MapType(name: "pcre", fixedKeys: false, open: { name, request throws(MapError) in
        try PatternTable(PCREDialect.self, name: name, request: request)
    })

    /// The PCRE2 library version, as `pcre2_config` reports it.
    public static var version: String {
        var buffer = [UInt8](repeating: 0, count: 64)
        let n = pcre2_config_8(UInt32(PCRE2_CONFIG_VERSION), &buffer)
        return n > 0 ? String(decoding: buffer.prefix(Int(n) - 1), as: UTF8.self) : "unknown"
    }
}
