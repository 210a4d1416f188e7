import PostfixText
/// `inline:{key=value, { key = value with spaces }, ...}`: a table written in its own name (Postfix's
/// `dict_inline.c`). Items are separated by commas or blanks outside braces; a later duplicate replaces
/// an earlier one silently.
public enum Inline {
    /// The type name.
    public static let typeName = "inline"

    /// Parse `name` into a table. Every syntax error is a configuration error in Postfix's words:
    /// `ERROR: "inline:NAME"; need "inline:{name=value...}"`.
    public static func open(_ name: String, _ request: OpenRequest) throws(MapError) -> any LookupTable {
        guard request.mode == .readOnly else {
            throw .usage("\(typeName):\(name) map requires O_RDONLY access mode")
        }
        // With -F the values name files, whose contents are stored base64-encoded.
        let fileValues = request.flags.contains(.sourceValueIsFile)
        let need = "need \"\(typeName):{name=\(fileValues ? "filename" : "value")...}\""
        // Bytes a caller carried through `ByteText` count as themselves.
        let bytes = ByteText.bytes(of: name)
        if request.utf8Active, !CaseFolding.isASCII(bytes), !CaseFolding.isValidUTF8(bytes) {
            throw .configuration("bad UTF-8 syntax: \"\(typeName):\(name)\"; \(need)")
        }
        let length = BraceText.balancedLength(bytes)
        guard length > 2, length == bytes.count else {
            throw .configuration("bad syntax: \"\(typeName):\(name)\"; \(need)")
        }
        let inner = ByteText.string(bytes[1..<(length - 1)])
        var entries = PostfixHashTable()
        for item in BraceText.tokens(inner) {
            var text = item
            if item.hasPrefix("{") {
                switch BraceText.extract(item, strip: true) {
                case .failure(let error):
                    throw .configuration("\(error.message): \"\(typeName):\(name)\"; \(need)")
                case .success(let stripped):
                    text = stripped
                }
            }
            switch splitNameValue(ByteText.bytes(of: text)) {
            case .failure(let error):
                throw .configuration("\(error.message): \"\(typeName):\(name)\"; \(need)")
            case .success(let pair):
                var value = pair.value
                if fileValues {
                    switch ValueFiles.encodedContents(of: value) {
                    case .failure(let failure):
                        throw .configuration("\(failure.message): \"\(typeName):\(name)\"; \(need)")
                    case .success(let encoded):
                        value = encoded
                    }
                }
                entries.set(request.storedFixedKey(pair.key), value)
            }
        }
        if entries.count == 0 {
            throw .configuration("empty table: \"\(typeName):\(name)\"; \(need)")
        }
        let table = MemoryTable(type: typeName, name: name, entries: entries,
                                foldLookups: !request.utf8Active && request.flags.contains(.foldFixed))
        return request.withUTF8Layer(table, fold: request.flags.contains(.foldFixed))
    }

    /// Postfix's `split_qnameval`: `key = value`, where the key ends at an unquoted blank or `=` and keeps
    /// its quotes and backslashes, and the value is trimmed.
    static func splitNameValue(_ text: [UInt8]) -> Result<(key: [UInt8], value: [UInt8]), BraceError> {
        var start = 0
        while start < text.count, isCSpace(text[start]) { start += 1 }
        if start == text.count {
            return .failure(BraceError(message: "no key found; expected format: key = value"))
        }
        var end = start
        var inQuotes = false
        while end < text.count {
            let c = text[end]
            if c == 0x5C {
                end += 1
                if end == text.count { break }
            } else if isCSpace(c) || c == 0x3D {
                if !inQuotes { break }
            } else if c == 0x22 {
                inQuotes.toggle()
            }
            end += 1
        }
        if inQuotes { return .failure(BraceError(message: "unbalanced '\"'")) }
        var value = end
        while value < text.count, isCSpace(text[value]) { value += 1 }
        guard value < text.count, text[value] == 0x3D else {
            return .failure(BraceError(message: "missing '=' after attribute name"))
        }
        value += 1
        while value < text.count, isCSpace(text[value]) { value += 1 }
        var last = text.count
        while last > value, isCSpace(text[last - 1]) { last -= 1 }
        return .success((Array(text[start..<min(end, text.count)]), Array(text[value..<last])))
    }
}
