#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A buffered reader over a file descriptor that hands out lines as bytes. It never closes the descriptor.
public final class ByteReader {
    /// The name used in messages (the source path, or `stdin`).
    public let path: String
    public let fd: Int32
    private var buffer: [UInt8]
    private var start = 0
    private var end = 0
    private var eof = false
    /// The first read error, as an errno value. Reading stops there.
    public private(set) var readError: Int32 = 0

    public init(fd: Int32, path: String, bufferSize: Int = 1 << 16) {
        self.fd = fd
        self.path = path
        self.buffer = [UInt8](repeating: 0, count: bufferSize)
    }

    /// A reader over bytes in memory (no descriptor; `rewind()` starts over).
    public init(bytes: [UInt8], path: String) {
        self.fd = -1
        self.path = path
        self.buffer = bytes
        self.end = bytes.count
        self.eof = true
        self.memory = true
    }

    private var memory = false

    private func fill() {
        if eof { return }
        if start > 0 {
            if start < end {
                buffer.withUnsafeMutableBytes { raw in
                    let base = raw.baseAddress!
                    _ = memmove(base, base + start, end - start)
                }
            }
            end -= start
            start = 0
        }
        if end == buffer.count { buffer.append(contentsOf: repeatElement(0, count: buffer.count)) }
        while true {
            let n = buffer.withUnsafeMutableBytes { raw in
                read(fd, raw.baseAddress! + end, raw.count - end)
            }
            if n > 0 { end += n; return }
            if n == 0 { eof = true; return }
            if errno == EINTR { continue }
            readError = errno
            eof = true
            return
        }
    }

    /// The next line without its newline (a last line without one counts), or `nil` at end of input.
    public func nextLine() -> [UInt8]? {
        var line: [UInt8] = []
        return nextLine(into: &line) ? line : nil
    }

    /// The next line into `line` (its storage reused), without the newline; `false` at end of input.
    public func nextLine(into line: inout [UInt8]) -> Bool {
        line.removeAll(keepingCapacity: true)
        var scanFrom = start
        while true {
            let found: Int? = buffer.withUnsafeBytes { raw in
                guard scanFrom < end, let base = raw.baseAddress else { return nil }
                guard let hit = memchr(base + scanFrom, 0x0A, end - scanFrom) else { return nil }
                return base.distance(to: UnsafeRawPointer(hit))
            }
            if let nl = found {
                line.append(contentsOf: buffer[start..<nl])
                start = nl + 1
                return true
            }
            if eof {
                guard start < end else { return false }
                line.append(contentsOf: buffer[start..<end])
                start = end
                return true
            }
            let scanned = end - start
            fill()
            scanFrom = start + scanned
        }
    }

    /// Whether a whole line (or the end of input) is already buffered, so reading it will not block.
    public var hasBufferedLine: Bool {
        if eof { return true }
        return buffer.withUnsafeBytes { raw in
            guard start < end, let base = raw.baseAddress else { return false }
            return memchr(base + start, 0x0A, end - start) != nil
        }
    }

    /// Peek at the next byte without consuming it.
    public func peekByte() -> UInt8? {
        if start == end { fill() }
        return start < end ? buffer[start] : nil
    }

    /// Restart from the beginning of the file (for a bulk load that must be replayed).
    public func rewind() -> Bool {
        if memory {
            start = 0
            return true
        }
        guard lseek(fd, 0, SEEK_SET) == 0 else { return false }
        start = 0; end = 0; eof = false; readError = 0
        return true
    }
}
