import PostfixText
#if canImport(Glibc)
import Glibc
#endif

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
    public static func writeAll(_ fd: Int32, _ bytes: [UInt8]) {
        _ = bytes.withUnsafeBytes { writeAll(fd, $0) }
    }

    @discardableResult
    public static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) -> Bool {
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
