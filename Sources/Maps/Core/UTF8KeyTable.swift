import PostfixText
/// The checks of the UTF-8 layer, shared by lookups and builds; warnings in Postfix's words.
struct UTF8Check {
    let label: String
    let diagnostics: Diagnostics

    static func isValid(_ bytes: [UInt8]) -> Bool {
        CaseFolding.isASCII(bytes) || CaseFolding.isValidUTF8(bytes)
    }

    /// `false` (with a warning) when the key is not UTF-8.
    func key(_ key: [UInt8]) -> Bool {
        if Self.isValid(key) { return true }
        diagnostics.warning("\(label): non-UTF-8 key \"\(ByteText.string(key))\": malformed UTF-8 or invalid codepoint")
        return false
    }

    /// The warning text for a value that is not UTF-8.
    func badValue(key: [UInt8], value: [UInt8]) -> String {
        "\(label): key \"\(ByteText.string(key))\": non-UTF-8 value \"\(ByteText.string(value))\": malformed UTF-8 or invalid codepoint"
    }
}

/// The `smtputf8_enable = yes` layer (Postfix's `dict_utf8`): keys must be valid UTF-8 and are folded with
/// full Unicode case folding before the wrapped table sees them; values must be valid UTF-8 too.
public final class UTF8KeyTable: LookupTable {
    private let inner: any LookupTable
    private let fold: Bool
    private let diagnostics: Diagnostics

    /// Wrap `inner`, which must have been opened without `.foldFixed`; `fold` says whether keys are folded here.
    public init(wrapping inner: any LookupTable, fold: Bool, diagnostics: Diagnostics) {
        self.inner = inner
        self.fold = fold
        self.diagnostics = diagnostics
        self.check = UTF8Check(label: "\(inner.type):\(inner.dictName)", diagnostics: diagnostics)
    }

    public var type: String { inner.type }
    public var name: String { inner.name }
    public var duplicateLabel: String { inner.duplicateLabel }
    public var dictName: String { inner.dictName }
    /// Whether this layer folds keys: what `unionmap:`/`pipemap:` inherit from their first member.
    public var foldsKeys: Bool { fold }

    private let check: UTF8Check

    private func checkedKey(_ key: [UInt8], fold: Bool = true) -> [UInt8]? {
        guard check.key(key) else { return nil }
        return fold && self.fold ? CaseFolding.unicodeFolded(key) : key
    }

    public func lookup(_ key: [UInt8]) throws(MapError) -> [UInt8]? {
        guard let k = checkedKey(key) else { return nil }
        guard let value = try inner.lookup(k) else { return nil }
        if !UTF8Check.isValid(value) {
            let text = check.badValue(key: key, value: value)
            diagnostics.warning(text)
            throw .configuration(text)
        }
        return value
    }

    public func lookupTraced(_ key: [UInt8]) throws(MapError) -> (value: [UInt8]?, detail: LookupDetail) {
        guard let k = checkedKey(key) else {
            return (nil, LookupDetail(keys: [], notes: ["not valid UTF-8: not looked up"]))
        }
        let (value, detail) = try inner.lookupTraced(k)
        guard let value else { return (nil, detail) }
        if !UTF8Check.isValid(value) {
            let text = check.badValue(key: key, value: value)
            diagnostics.warning(text)
            throw .configuration(text)
        }
        return (value, detail)
    }

    public func update(_ key: [UInt8], _ value: [UInt8], options: RecordOptions) throws(MapError) -> UpdateOutcome {
        guard let k = checkedKey(key, fold: options.fold) else { return .stored }
        if !UTF8Check.isValid(value) {
            diagnostics.warning(check.badValue(key: key, value: value))
            return .stored
        }
        return try inner.update(k, value, options: options)
    }

    public func delete(_ key: [UInt8]) throws(MapError) -> Bool {
        guard let k = checkedKey(key) else { return false }
        return try inner.delete(k)
    }

    public func forEach(_ body: ([UInt8], [UInt8]) throws(MapError) -> Void) throws(MapError) {
        try inner.forEach(body)
    }

    public func close() { inner.close() }
    public var concurrentLookups: Bool { inner.concurrentLookups }
    public var sourceFiles: [String] { inner.sourceFiles }
    public func beginBatch() throws(MapError) { try inner.beginBatch() }
    public func endBatch() { inner.endBatch() }
    public func prefetch(_ keys: [[UInt8]]) {
        // Only keys the lookup would pass on, transformed as it will; invalid ones are left to warn there.
        inner.prefetch(keys.compactMap { UTF8Check.isValid($0) ? (fold ? CaseFolding.unicodeFolded($0) : $0) : nil })
    }
}

/// The same layer for bulk builds.
final class UTF8RecordSink: RecordSink {
    let inner: any RecordSink
    let fold: Bool
    let spec: MapSpec
    let diagnostics: Diagnostics

    init(inner: any RecordSink, fold: Bool, spec: MapSpec, diagnostics: Diagnostics) {
        self.inner = inner
        self.fold = fold
        self.spec = spec
        self.diagnostics = diagnostics
    }

    var duplicateLabel: String { inner.duplicateLabel }
    var dictName: String { inner.dictName }

    func put(_ key: [UInt8], _ value: [UInt8], options: RecordOptions) throws(MapError) -> UpdateOutcome {
        let check = UTF8Check(label: "\(spec.type):\(dictName)", diagnostics: diagnostics)
        guard check.key(key) else { return .stored }
        if !UTF8Check.isValid(value) {
            diagnostics.warning(check.badValue(key: key, value: value))
            return .stored
        }
        return try inner.put(fold && options.fold ? CaseFolding.unicodeFolded(key) : key, value, options: options)
    }
}

/// A builder whose sink applies the UTF-8 layer.
final class UTF8TableBuilder: TableBuilder {
    let inner: any TableBuilder
    let fold: Bool
    let spec: MapSpec
    let diagnostics: Diagnostics

    init(inner: any TableBuilder, fold: Bool, spec: MapSpec, diagnostics: Diagnostics) {
        self.inner = inner
        self.fold = fold
        self.spec = spec
        self.diagnostics = diagnostics
    }

    func load(_ feed: (Bool, any RecordSink) throws -> Void) throws {
        try inner.load { replay, sink in
            try feed(replay, UTF8RecordSink(inner: sink, fold: fold, spec: spec, diagnostics: diagnostics))
        }
    }

    func commit() throws(MapError) { try inner.commit() }
    var temporaryPath: String { inner.temporaryPath }
    func abort() { inner.abort() }
}
