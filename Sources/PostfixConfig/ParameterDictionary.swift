import PostfixText
/// An in-memory `name = value` table like Postfix's `dict_ht` (main.cf's `CONFIG_DICT`, a master.cf
/// service's `-o` settings). Iteration follows insertion order; Postfix iterates in hash order, which
/// only affects the order of warnings.
public final class ParameterDictionary {
    private var names: [[UInt8]] = []
    private var values: [[UInt8]?] = []
    private var index: [[UInt8]: Int] = [:]

    /// An empty table.
    public init() {}

    /// The value of `name`, if set.
    public subscript(name: [UInt8]) -> [UInt8]? {
        guard let i = index[name] else { return nil }
        return values[i]
    }

    /// Set or replace a value (a replaced value keeps its place).
    public func set(_ name: [UInt8], _ value: [UInt8]) {
        if let i = index[name] {
            values[i] = value
        } else {
            index[name] = names.count
            names.append(name)
            values.append(value)
        }
    }

    /// Remove `name`; returns whether it was there.
    @discardableResult
    public func remove(_ name: [UInt8]) -> Bool {
        guard let i = index.removeValue(forKey: name) else { return false }
        values[i] = nil
        return true
    }

    /// Whether the table has no entries.
    public var isEmpty: Bool { index.isEmpty }

    /// The number of entries.
    public var count: Int { index.count }

    /// The entries in insertion order, as a snapshot (safe to modify the table while walking it).
    public var entries: [(name: [UInt8], value: [UInt8])] {
        var out: [(name: [UInt8], value: [UInt8])] = []
        out.reserveCapacity(index.count)
        for (i, name) in names.enumerated() {
            if let value = values[i] { out.append((name, value)) }
        }
        return out
    }
}
