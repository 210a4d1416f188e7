#if canImport(Glibc)
import Glibc
#endif

/// Write all of `bytes` to `fd`, retrying short writes and `EINTR`. Returns `false` on an error.
@discardableResult
func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) -> Bool {
    var offset = 0
    while offset < bytes.count {
        let n = write(fd, bytes.baseAddress! + offset, bytes.count - offset)
        if n > 0 { offset += n; continue }
        if n < 0, errno == EINTR { continue }
        return false
    }
    return true
}

/// Standard output with Postfix's VSTREAM behaviour: a 4096-byte buffer that is written when full and
/// at an explicit flush. A fatal error exits without flushing, so buffered lines are lost as in Postfix.
public final class StandardOutput {
    private var buffer: [UInt8] = []
    private let capacity = 4096

    public init() { buffer.reserveCapacity(capacity * 2) }

    /// Append bytes.
    public func write(_ bytes: [UInt8]) {
        buffer.append(contentsOf: bytes)
        if buffer.count >= capacity { drain(whole: false) }
    }

    /// Append a string's UTF-8 (or the raw bytes a `ByteText` string carries).
    public func write(_ text: String) {
        buffer.append(contentsOf: text.utf8)
        if buffer.count >= capacity { drain(whole: false) }
    }

    private func drain(whole: Bool) {
        let amount = whole ? buffer.count : buffer.count - buffer.count % capacity
        guard amount > 0 else { return }
        buffer.withUnsafeBytes { raw in _ = writeAll(1, UnsafeRawBufferPointer(rebasing: raw[0..<amount])) }
        buffer.removeFirst(amount)
    }

    /// Write everything buffered.
    public func flush() { drain(whole: true) }
}
