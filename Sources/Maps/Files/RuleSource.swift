import PostfixText
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The rules of a pattern table (`regexp`, `pcre`, `cidr`): a file, or the inline form `{ {rule}, ... }`,
/// read as logical lines with Postfix's rules (Postfix's `dict_stream_open` + `readllines`).
public struct RuleSource {
    /// The logical lines with their line numbers.
    public var lines: [LogicalLine]
    /// What messages call the source: the file name, or the whole `{...}` text of an inline table.
    public var path: String
    /// Whether the rules came from the inline form.
    public var isInline: Bool
    /// Warnings the reader gave after the last line (at the end of the input); each line carries those
    /// given while it was read (`LogicalLine.readerWarnings`). Postfix reads and parses line by line, so
    /// a consumer gives a line's reader warnings before its own for that line, and these after the last.
    public var trailingWarnings: [String] = []

    /// Give `line`'s reader warnings (before the consumer's own for it).
    public func replayWarnings(of line: LogicalLine, to diagnostics: Diagnostics) {
        for warning in line.readerWarnings { diagnostics.warning(warning) }
    }

    /// Give the warnings from after the last line.
    public func replayTrailingWarnings(to diagnostics: Diagnostics) {
        for warning in trailingWarnings { diagnostics.warning(warning) }
    }

    /// Read the rules named by `name` for a table of `type`. Errors carry Postfix's text:
    /// `open FILE: ...` or `TYPE map: missing '}' in "..."`.
    public static func load(type: String, name: String, diagnostics: Diagnostics) throws(MapError) -> RuleSource {
        if name.hasPrefix("{") {
            switch BraceText.inlineRules(name) {
            case .failure(let e):
                throw .configuration("\(type) map: \(e.message)")
            case .success(let text):
                let (lines, trailing) = collect(ByteReader(bytes: text, path: name))
                return RuleSource(lines: lines, path: name, isInline: true, trailingWarnings: trailing)
            }
        }
        let fd = open(name, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            let e = errno
            throw .temporary("open \(name): \(systemErrorText(e))", errno: e)
        }
        defer { close(fd) }
        let byteReader = ByteReader(fd: fd, path: name)
        let (lines, trailing) = collect(byteReader)
        if byteReader.readError != 0 {
            let e = byteReader.readError
            throw .temporary("read \(name): \(systemErrorText(e))", errno: e)
        }
        return RuleSource(lines: lines, path: name, isInline: false, trailingWarnings: trailing)
    }

    /// Every logical line, each with the reader's warnings given while it was read, and those after.
    private static func collect(_ byteReader: ByteReader) -> ([LogicalLine], [String]) {
        final class Pending { var warnings: [String] = [] }
        let pending = Pending()
        let reader = LogicalLineReader(byteReader, warning: { pending.warnings.append($0) })
        var lines: [LogicalLine] = []
        while var line = reader.next() {
            line.readerWarnings = pending.warnings
            pending.warnings.removeAll()
            lines.append(line)
        }
        return (lines, pending.warnings)
    }

    /// Logical lines of in-memory text.
    static func logicalLines(of text: [UInt8], path: String, diagnostics: Diagnostics) -> [LogicalLine] {
        let reader = LogicalLineReader(ByteReader(bytes: text, path: path), warning: { diagnostics.warning($0) })
        var lines: [LogicalLine] = []
        while let line = reader.next() { lines.append(line) }
        return lines
    }

    /// The prefix of a per-line message: `regexp map FILE, line N`.
    public func location(_ type: String, _ line: Int) -> String {
        "\(type) map \(path), line \(line)"
    }
}
