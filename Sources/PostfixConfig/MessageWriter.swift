import Maps
#if canImport(Glibc)
import Glibc
#endif

/// Where postconf's warnings go: standard error, one unbuffered write per message, prefixed with the
/// program name exactly as invoked (`msg_vstream_init(argv[0])`: postconf does not strip the path).
public final class MessageWriter {
    /// The prefix of every message.
    public let program: String
    /// Warnings, when collecting instead of writing (tests, `--check`).
    public private(set) var collected: [String] = []
    private let collect: Bool
    /// `program: `, as bytes.
    private lazy var prefix: [UInt8] = ByteText.bytes(of: program) + [0x3A, 0x20]

    /// A writer for `program` (argv[0]); with `collect`, messages are kept instead of written.
    public init(program: String, collect: Bool = false) {
        self.program = program
        self.collect = collect
    }

    /// Forget collected messages.
    public func clear() { collected.removeAll() }

    /// `msg_warn`.
    public func warning(_ text: String) { emit("warning: " + text) }

    /// `msg_info`.
    public func info(_ text: String) { emit(text) }

    /// Print a fatal message (the caller exits).
    public func fatal(_ text: String) { emit("fatal: " + text) }

    private func emit(_ text: String) {
        if collect {
            collected.append(text)
            return
        }
        var bytes = prefix
        // Postfix's printable(): postconf never enables UTF-8 output, so every byte that is not printable
        // ASCII becomes '?'.
        for b in ByteText.bytes(of: text) { bytes.append(b >= 0x20 && b < 0x7F ? b : 0x3F) }
        bytes.append(0x0A)
        OutputBuffer.writeAll(2, bytes)
    }
}
