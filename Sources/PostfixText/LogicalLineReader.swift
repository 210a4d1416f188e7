/// One logical line of a Postfix table source, main.cf or aliases file.
public struct LogicalLine: Sendable {
    /// The joined text (continuations glued with no separator, their leading whitespace kept; CR kept).
    public var text: [UInt8]
    /// The number of the physical line it starts on (what Postfix reports).
    public var lineNumber: Int
    /// Warnings the reader gave while reading this line, for a caller that reads every line before it
    /// acts on them and must still interleave them with its own as Postfix does (`RuleSource`).
    public var readerWarnings: [String] = []

    public init(text: [UInt8], lineNumber: Int, readerWarnings: [String] = []) {
        self.text = text
        self.lineNumber = lineNumber
        self.readerWarnings = readerWarnings
    }
}

@inline(__always)
public func isCSpace(_ c: UInt8) -> Bool { c == 0x20 || (c >= 0x09 && c <= 0x0D) }

/// Postfix's `readllines()`: physical lines split on `\n`; blank lines and lines whose first non-blank
/// character is `#` are dropped everywhere, also between continuation lines; a line that starts with
/// whitespace continues the previous one. Text that starts a logical line with whitespace is skipped with
/// Postfix's warning.
public final class LogicalLineReader {
    public let reader: ByteReader
    private let warn: (String) -> Void
    private let nullByteWarning: String?
    private var lineNumber = 0

    /// `nullByteWarning`: the release's warning for a logical line that holds a NUL byte (3.10's
    /// readllines says `FILE, line N[-M]: text after null byte may be ignored`; 3.7 nothing).
    public init(_ reader: ByteReader, nullByteWarning: String? = PostfixRelease.current.clients.nullByteWarning,
                warning: @escaping (String) -> Void) {
        self.reader = reader
        self.warn = warning
        self.nullByteWarning = nullByteWarning
    }

    /// The name used in messages.
    public var path: String { reader.path }

    private static func isSkippable(_ line: [UInt8]) -> Bool {
        for c in line {
            if isCSpace(c) { continue }
            return c == 0x23 // '#'
        }
        return true
    }

    /// The next logical line, or `nil` at end of input.
    public func next() -> LogicalLine? {
        while true {
            var text: [UInt8] = []
            var first = 0
            var sawAny = false
            var gotNull = false
            while let line = reader.nextLine() {
                lineNumber += 1
                // A NUL anywhere counts, in skipped comment lines too (readllines sees every byte).
                if nullByteWarning != nil && !gotNull && line.contains(0) { gotNull = true }
                if !Self.isSkippable(line) {
                    if !sawAny {
                        first = lineNumber
                        sawAny = true
                        text = line
                    } else {
                        text.append(contentsOf: line)
                    }
                } else if !sawAny {
                    first = lineNumber
                }
                guard sawAny else { continue }
                // Continue while the next physical line starts with whitespace or '#'.
                guard let next = reader.peekByte(), next == 0x23 || isCSpace(next) else { break }
            }
            if gotNull, let why = nullByteWarning {
                let lines = first == lineNumber ? "\(lineNumber)" : "\(first)-\(lineNumber)"
                warn("\(reader.path), line \(lines): \(why)")
            }
            guard sawAny else { return nil }
            if let c = text.first, isCSpace(c) {
                let shown = ByteText.cString(text)
                let head = ByteText.string(Array(shown.prefix(30)))
                warn("\(reader.path): logical line must not start with whitespace: \"\(head)\(text.count > 30 ? "..." : "")\"")
                continue
            }
            return LogicalLine(text: text, lineNumber: first)
        }
    }

    /// Start again from the top of the file.
    public func rewind() -> Bool {
        lineNumber = 0
        return reader.rewind()
    }
}
