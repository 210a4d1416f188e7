import Maps
#if canImport(Glibc)
import Glibc
#endif

/// A fatal error: Postfix prints `PROG: fatal: MESSAGE` and exits with status 1.
public struct PostconfFatal: Error, Sendable {
    /// The text after `fatal: `.
    public var message: String
    /// A fatal error with Postfix's text.
    public init(_ message: String) { self.message = message }
}

/// Where postconf's warnings go: standard error, one unbuffered write per message, prefixed with the
/// program name exactly as invoked (`msg_vstream_init(argv[0])`: postconf does not strip the path).
public final class MessageWriter {
    /// The prefix of every message.
    public let program: String
    /// Warnings, when collecting instead of writing (tests, `--check`).
    public private(set) var collected: [String] = []
    private let collect: Bool

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
        var bytes = ByteText.bytes(of: program)
        bytes.append(contentsOf: [0x3A, 0x20])
        bytes.append(contentsOf: ByteText.bytes(of: text))
        bytes.append(0x0A)
        OutputBuffer.writeAll(2, bytes)
    }
}

/// Standard output as Postfix's VSTREAM buffers it: whole 4096-byte blocks are written when the buffer
/// fills, the rest at an explicit flush. A fatal error exits without flushing, so the tail is lost as in
/// Postfix.
public final class OutputBuffer {
    private var buffer: [UInt8] = []
    private let blockSize = 4096
    private let fd: Int32
    /// Bytes, when capturing instead of writing.
    public private(set) var captured: [UInt8] = []
    private let capture: Bool

    /// Standard output, or an in-memory capture.
    public init(fd: Int32 = 1, capture: Bool = false) {
        self.fd = fd
        self.capture = capture
        buffer.reserveCapacity(blockSize * 4)
    }

    /// Append bytes.
    public func write(_ bytes: [UInt8]) {
        buffer.append(contentsOf: bytes)
        if buffer.count >= blockSize { drain(whole: false) }
    }

    /// Append bytes from a slice.
    public func write(_ bytes: ArraySlice<UInt8>) {
        buffer.append(contentsOf: bytes)
        if buffer.count >= blockSize { drain(whole: false) }
    }

    /// Append one byte.
    public func write(byte: UInt8) {
        buffer.append(byte)
        if buffer.count >= blockSize { drain(whole: false) }
    }

    /// Append a string's bytes (`ByteText` strings keep their raw bytes).
    public func write(_ text: String) { write(ByteText.bytes(of: text)) }

    /// Write everything buffered.
    public func flush() { drain(whole: true) }

    private func drain(whole: Bool) {
        let amount = whole ? buffer.count : buffer.count - buffer.count % blockSize
        guard amount > 0 else { return }
        if capture {
            captured.append(contentsOf: buffer[0..<amount])
        } else {
            _ = buffer.withUnsafeBytes { raw in
                Self.writeAll(fd, UnsafeRawBufferPointer(rebasing: raw[0..<amount]))
            }
        }
        buffer.removeFirst(amount)
    }

    /// Write all of `bytes`, retrying short writes and `EINTR`.
    static func writeAll(_ fd: Int32, _ bytes: [UInt8]) {
        _ = bytes.withUnsafeBytes { writeAll(fd, $0) }
    }

    @discardableResult
    static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) -> Bool {
        guard let base = bytes.baseAddress else { return true }
        var offset = 0
        while offset < bytes.count {
            let n = Glibc.write(fd, base + offset, bytes.count - offset)
            if n > 0 { offset += n; continue }
            if n < 0, errno == EINTR { continue }
            return false
        }
        return true
    }
}
