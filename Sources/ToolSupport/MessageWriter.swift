import PostfixText
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Where a tool's messages go: standard error, one unbuffered write per message, `PROG: warning: TEXT`,
/// `PROG: fatal: TEXT` and `PROG: TEXT`, made printable as Postfix's `msg_vprintf` does.
///
/// postmap and postalias name themselves by the basename of argv[0]; postconf by argv[0] as invoked
/// (`msg_vstream_init(argv[0])`). Shared with table diagnostics, so it is `Sendable`: its switches are
/// atomics and the collected messages sit behind a mutex.
public final class MessageWriter: Sendable {
    /// The prefix of every message.
    public let program: String
    /// While set, warnings are dropped (a bulk load replayed after LMDB grew its map warns once).
    public let muted = Atomic<Bool>(false)
    /// With `smtputf8_enable`, a UTF-8 sequence counts as printable.
    public let utf8Printable = Atomic<Bool>(false)
    private let collecting: Bool
    /// `program: `, as bytes.
    private let prefix: [UInt8]
    private let collector = Mutex<[String]>([])

    /// A writer for `program`; with `collect`, messages are kept instead of written.
    public init(program: String, collect: Bool = false) {
        self.program = program
        self.collecting = collect
        self.prefix = ByteText.bytes(of: program) + [0x3A, 0x20]
    }

    /// The basename of argv[0], as postmap and postalias print it.
    public static func basename(_ argv0: String) -> String {
        let base = argv0.split(separator: "/", omittingEmptySubsequences: false).last.map(String.init) ?? argv0
        return base.isEmpty ? argv0 : base
    }

    /// Messages kept so far (collecting writers only).
    public var collected: [String] { collector.withLock { $0 } }

    /// Forget collected messages.
    public func clear() { collector.withLock { $0.removeAll() } }

    /// `msg_warn`.
    public func warning(_ text: String) {
        if muted.load(ordering: .relaxed) { return }
        emit("warning: " + text)
    }

    /// `msg_error`.
    public func error(_ text: String) { emit("error: " + text) }

    /// `msg_info`.
    public func info(_ text: String) { emit(text) }

    /// Print a fatal message; the caller ends the program with status 1.
    public func fatal(_ text: String) { emit("fatal: " + text) }

    private func emit(_ text: String) {
        if collecting {
            collector.withLock { $0.append(text) }
            return
        }
        var bytes = prefix
        bytes.append(contentsOf: ByteText.bytes(of: text))
        var line = Self.printable(bytes, utf8: utf8Printable.load(ordering: .relaxed))
        line.append(0x0A)
        OutputBuffer.writeAll(2, line)
    }

    /// Postfix's `printable()`: printable ASCII stays, and with `utf8` a UTF-8 lead byte keeps the
    /// continuation bytes after it (3.7), or a well-formed UTF-8 character stays (3.10,
    /// `ClientBehaviour.strictUTF8Printable`); anything else becomes `?`.
    public static func printable(_ bytes: [UInt8], utf8: Bool,
                                 strict: Bool = PostfixRelease.current.clients.strictUTF8Printable) -> [UInt8] {
        var out = bytes
        if utf8 && strict {
            var i = 0
            while i < out.count {
                let c = out[i]
                if c < 0x80 {
                    if c < 0x20 || c == 0x7F { out[i] = 0x3F }
                    i += 1
                } else if let end = ClientBehaviour.utf8CharacterEnd(out, at: i) {
                    i = end + 1
                } else {
                    out[i] = 0x3F
                    i += 1
                }
            }
            return out
        }
        var i = 0
        while i < out.count {
            let c = out[i]
            if c >= 0x20 && c < 0x7F {
                i += 1
            } else if utf8, c >= 194, c <= 254, i + 1 < out.count, out[i + 1] >= 128, out[i + 1] < 192 {
                i += 1
                while i < out.count, out[i] >= 128, out[i] < 192 { i += 1 }
            } else {
                out[i] = 0x3F
                i += 1
            }
        }
        return out
    }
}
