import PostfixText
/// The table types that need no external library: `texthash`, `inline`, `unionmap`, `pipemap`, `fail`
/// and `environ`, as Postfix 3.7 defines them.
public enum SimpleTables {
    /// `texthash:FILE`: a postmap source read into memory.
    public static let texthash = MapType(name: TextHash.typeName, handlesUTF8: true, open: TextHash.open)

    /// `inline:{key=value, ...}`.
    public static let inline = MapType(name: Inline.typeName, handlesUTF8: true, open: Inline.open)

    /// `unionmap:{type:name, ...}`: every member's value, joined with commas.
    public static let unionmap = MapType(name: UnionTable.typeName, fixedKeys: false, handlesUTF8: true,
                                         open: UnionTable.open)

    /// `pipemap:{type:name, ...}`: each member's result is the next member's key.
    public static let pipemap = MapType(name: PipeTable.typeName, fixedKeys: false, handlesUTF8: true,
                                        open: PipeTable.open)

    /// `fail:NAME`: every operation fails with a temporary error; it can be "built".
    public static let fail = MapType(
        name: FailTable.typeName, fixedKeys: false,
        open: { name, request throws(MapError) in FailTable(name: name, request: request) },
        build: { name, request throws(MapError) in FailTable.builder(name, request) })

    /// `environ:NAME`: the process environment.
    public static let environ = MapType(
        name: EnvironTable.typeName,
        open: { name, request throws(MapError) in EnvironTable(name: name, request: request) })

    /// All of them.
    public static let all: [MapType] = [texthash, inline, unionmap, pipemap, fail, environ]
}

extension OpenRequest {
    /// Whether the UTF-8 layer applies to a table opened with this request: `smtputf8_enable` is on and
    /// the caller asked for it (Postfix's `DICT_NEED_UTF8_ACTIVATION`).
    public var utf8Active: Bool { settings.utf8Enabled && flags.contains(.utf8Request) }

    /// How a fixed key is stored by a table that folds while loading: as Postfix's UTF-8 layer folds it
    /// (full case folding) when that layer is active, else ASCII-lowercased, and as given under `-f`.
    func storedFixedKey(_ key: [UInt8]) -> [UInt8] {
        guard flags.contains(.foldFixed) else { return key }
        return utf8Active ? CaseFolding.unicodeFolded(key) : CaseFolding.asciiLowercased(key)
    }

    /// `table` behind the UTF-8 layer when that layer is active; `fold` says whether the layer folds keys.
    func withUTF8Layer(_ table: any LookupTable, fold: Bool) -> any LookupTable {
        guard utf8Active else { return table }
        return UTF8KeyTable(wrapping: table, fold: fold, diagnostics: diagnostics)
    }
}
