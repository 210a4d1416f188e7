import PostfixText
import Maps
import PostfixConfig
#if canImport(Glibc)
import Glibc
#endif

/// The `domain` setting of a database client table: Postfix's string match list. Items are separated
/// by commas or white space; each is a literal domain (matched without regard to case), a `type:name`
/// table (the domain is looked up), or a `/file/name` whose lines hold more items. A leading `!` negates
/// an item; the first item that matches decides. The SQL tables (MapsRemoteSQL) use it too.
public final class DomainList {
    private enum Pattern {
        case literal([UInt8])
        case table(any LookupTable)
    }

    private var patterns: [(match: Bool, pattern: Pattern)] = []
    /// The table's name, which Postfix puts before list warnings.
    private let owner: String
    private let unicodeFold: Bool
    private let diagnostics: Diagnostics

    public init(_ text: String, owner: String, request: OpenRequest) throws(MapError) {
        self.owner = owner
        self.unicodeFold = request.settings.utf8Enabled
        self.diagnostics = request.diagnostics
        try parse(ByteText.bytes(of: text), match: true, request: request)
    }

    private func fold(_ bytes: [UInt8]) -> [UInt8] {
        unicodeFold ? CaseFolding.unicodeFolded(bytes) : CaseFolding.asciiLowercased(bytes)
    }

    private func parse(_ text: [UInt8], match initial: Bool, request: OpenRequest) throws(MapError) {
        // Items as Postfix's mystrtokq() splits them: delimiters inside `{ }` do not split.
        for range in ConfigText.quotedTokenRanges(text, ConfigText.isCommaOrBlank) {
            let token = text[range]
            let rest = text[min(range.upperBound + 1, text.count)...]
            if token.first == 0x23 {
                diagnostics.warning("\(owner): comment at end of line is not supported: \(ByteText.string(Array(token))) \(ByteText.string(Array(rest)))")
                break
            }
            var match = initial
            var item = token
            while item.first == 0x21 { match.toggle(); item = item.dropFirst() }
            if item.isEmpty { throw .configuration("\(owner): no pattern after '!'") }
            if item.first == 0x2F {
                try parseFile(String(decoding: item, as: UTF8.self), bytes: Array(item), match: match, request: request)
            } else if item.first != 0x5B, let colon = item.firstIndex(of: 0x3A) {
                let spec = MapSpec(type: ByteText.string(Array(item[..<colon])),
                                   name: ByteText.string(Array(item[(colon + 1)...])))
                guard let opener = request.opener else {
                    throw .configuration("unsupported dictionary type: \(spec.type)")
                }
                var inner = OpenRequest(mode: .readOnly, flags: [.lock, .utf8Request], settings: request.settings,
                                        diagnostics: request.diagnostics)
                inner.opener = opener
                patterns.append((match, .table(try opener(spec, inner))))
            } else {
                patterns.append((match, .literal(fold(Array(item)))))
            }
        }
    }

    private func parseFile(_ path: String, bytes: [UInt8], match: Bool, request: OpenRequest) throws(MapError) {
        let fd = open(ByteText.string(bytes), O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            throw .configuration("open file \(ByteText.string(bytes)): \(systemErrorText(errno))")
        }
        defer { Glibc.close(fd) }
        let reader = ByteReader(fd: fd, path: path)
        var line: [UInt8] = []
        while reader.nextLine(into: &line) {
            if line.first == 0x23 { continue }
            try parse(line, match: match, request: request)
        }
        if reader.readError != 0 {
            throw .configuration("match_list_parse: read file \(ByteText.string(bytes)): \(systemErrorText(reader.readError))")
        }
    }

    /// Whether the list holds literal domains only, so checking it has no side effects.
    public var isLiteral: Bool {
        patterns.allSatisfy { if case .literal = $0.pattern { return true } else { return false } }
    }

    /// Whether `domain` is on the list; a table that fails makes the whole check fail (temporarily).
    public func contains(_ domain: [UInt8]) throws(MapError) -> Bool {
        let folded = fold(domain)
        for (match, pattern) in patterns {
            switch pattern {
            case .literal(let literal):
                if literal == folded { return match }
            case .table(let table):
                do {
                    if try table.lookup(folded) != nil { return match }
                } catch {
                    diagnostics.warning("\(owner): \(table.type):\(table.name): table lookup problem")
                    throw error
                }
            }
        }
        return false
    }

    public func close() {
        for case (_, .table(let table)) in patterns { table.close() }
    }
}
