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

    /// Read the rules named by `name` for a table of `type`. Errors carry Postfix's text:
    /// `open FILE: ...` or `TYPE map: missing '}' in "..."`.
    public static func load(type: String, name: String, diagnostics: Diagnostics) throws(MapError) -> RuleSource {
        if name.hasPrefix("{") {
            switch BraceText.inlineRules(name) {
            case .failure(let e):
                throw .configuration("\(type) map: \(e.message)")
            case .success(let text):
                return RuleSource(lines: logicalLines(of: text, path: name, diagnostics: diagnostics), path: name, isInline: true)
            }
        }
        let fd = open(name, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            let e = errno
            throw .temporary("open \(name): \(systemErrorText(e))", errno: e)
        }
        defer { close(fd) }
        let reader = LogicalLineReader(ByteReader(fd: fd, path: name), warning: { diagnostics.warning($0) })
        var lines: [LogicalLine] = []
        while let line = reader.next() { lines.append(line) }
        if reader.reader.readError != 0 {
            let e = reader.reader.readError
            throw .temporary("read \(name): \(systemErrorText(e))", errno: e)
        }
        return RuleSource(lines: lines, path: name, isInline: false)
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
