import PostfixText
import CPCRE2
import Maps
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A compiled PCRE2 pattern. JIT compilation is deferred until the pattern has been run a few times:
/// most rules of a large table run rarely, and JIT costs more than it saves then.
///
/// Several threads may match it at once. PCRE2 lets threads share a compiled pattern but not a match
/// data block, and `pcre2_jit_compile` changes the pattern it compiles. So the run counter is atomic,
/// the thread whose run is the `jitThreshold`-th compiles a private copy and publishes it when it is
/// ready (the interpreted pattern stays valid for runs already under way), and each thread matches
/// with a match data block of its own (`ThreadMatchData`).
public final class PCREPattern: PatternMatcher {
    /// The interpreted pattern, never changed after compilation.
    fileprivate let code: OpaquePointer
    /// The JIT-compiled copy, once there is one.
    private let jitCode = Atomic<OpaquePointer?>(nil)
    private let runs = Atomic<Int>(0)
    /// Offset pairs a match needs: the whole match and every group.
    fileprivate let pairs: Int

    /// Runs before the pattern is JIT-compiled.
    static let jitThreshold = 8

    fileprivate init(code: OpaquePointer, pairs: Int) {
        self.code = code
        self.pairs = pairs
    }

    deinit {
        if let jit = jitCode.load(ordering: .acquiring) { pcre2_code_free_8(jit) }
        pcre2_code_free_8(code)
    }

    /// The pattern to run: the JIT-compiled copy once it exists. The run that reaches the threshold
    /// compiles it.
    fileprivate func codeForRun() -> OpaquePointer {
        if let jit = jitCode.load(ordering: .acquiring) { return jit }
        // Counted only up to the threshold: after it (also when JIT is unavailable) runs only read the
        // counter, so threads matching at once do not contend for it.
        if runs.load(ordering: .relaxed) < Self.jitThreshold,
           runs.wrappingAdd(1, ordering: .relaxed).newValue == Self.jitThreshold,
           let copy = pcre2_code_copy_8(code) {
            if pcre2_jit_compile_8(copy, PCRE2_JIT_COMPLETE) == 0 {
                jitCode.store(copy, ordering: .releasing)
                return copy
            }
            pcre2_code_free_8(copy)
        }
        return code
    }

    public func match(_ subject: UnsafeBufferPointer<UInt8>, captures: Int) throws(PatternMatchError) -> [Range<Int>?]? {
        try PCREDialect.match(self, subject, captures: captures)
    }
}

/// The calling thread's match data block, shared by every pattern the thread runs (a match's offsets
/// are read before the thread runs another) and grown for a pattern with more groups; freed when the
/// thread ends.
enum ThreadMatchData {
    private static let key: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key) { data in pcre2_match_data_free_8(OpaquePointer(data)) }
        return key
    }()

    /// A block with room for at least `pairs` offset pairs, or nil when out of memory.
    static func block(pairs: Int) -> OpaquePointer? {
        let current = pthread_getspecific(key).map { OpaquePointer($0) }
        if let current, pcre2_get_ovector_count_8(current) >= UInt32(pairs) { return current }
        guard let fresh = pcre2_match_data_create_8(UInt32(max(pairs, 16)), nil) else { return nil }
        if let current { pcre2_match_data_free_8(current) }
        pthread_setspecific(key, UnsafeRawPointer(fresh))
        return fresh
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
        var groups: UInt32 = 0
        _ = pcre2_pattern_info_8(code, UInt32(PCRE2_INFO_CAPTURECOUNT), &groups)
        return .success(PCREPattern(code: code, pairs: Int(groups) + 1))
    }

    public static func captureCount(_ compiled: PCREPattern) -> Int {
        var count: UInt32 = 0
        _ = pcre2_pattern_info_8(compiled.code, UInt32(PCRE2_INFO_CAPTURECOUNT), &count)
        return Int(count)
    }

    public static func match(_ compiled: PCREPattern, _ subject: UnsafeBufferPointer<UInt8>, captures: Int) throws(PatternMatchError) -> [Range<Int>?]? {
        let code = compiled.codeForRun()
        guard let matchData = ThreadMatchData.block(pairs: compiled.pairs) else { throw PatternMatchError("out of memory") }
        var rc = pcre2_match_8(code, subject.baseAddress, subject.count, 0, 0, matchData, matchContext)
        if rc == PCRE2_ERROR_JIT_STACKLIMIT {
            // The JIT's small stack ran out; the interpreter uses the heap, as Postfix's matching does.
            rc = pcre2_match_8(code, subject.baseAddress, subject.count, 0, PCRE2_NO_JIT, matchData, matchContext)
        }
        if rc == PCRE2_ERROR_NOMATCH { return nil }
        guard rc >= 0 else { throw PatternMatchError(errorText(rc)) }
        guard captures > 0, let ovector = pcre2_get_ovector_pointer_8(matchData) else { return [] }
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
    /// This module's types, which MapBackends registers (scripts/gen-backends).
    public static let types: [MapType] = [pcre]

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
