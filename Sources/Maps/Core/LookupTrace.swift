import PostfixText
/// Where a rule of a pattern or cidr table is written.
public struct RuleLocation: Sendable, Equatable, CustomStringConvertible {
    /// The rule file, or the table name for the inline `{ {rule}, ... }` form.
    public var file: String
    /// The line of the rule (of its first physical line).
    public var line: Int

    public init(file: String, line: Int) {
        self.file = file
        self.line = line
    }

    public var description: String { "\(file), line \(line)" }
}

/// What one table did with one key: the exact keys it tried, the rule that matched, the members of a
/// composite, and notes (such as a proxy opened directly).
public struct LookupDetail: Sendable {
    /// The keys as the table tried them, in order, after folding, the UTF-8 layer and the trailing-NUL
    /// rules of indexed files (a key with its NUL shows it as its last byte).
    public var keys: [[UInt8]]
    /// The rule that answered, for regexp, pcre and cidr tables.
    public var rule: RuleLocation?
    /// What each member table did, for unionmap, pipemap and proxy.
    public var members: [TraceStep]
    /// Remarks in words.
    public var notes: [String]

    public init(keys: [[UInt8]], rule: RuleLocation? = nil, members: [TraceStep] = [], notes: [String] = []) {
        self.keys = keys
        self.rule = rule
        self.members = members
        self.notes = notes
    }
}

/// One step of a trace: a table, what it answered, and how.
public struct TraceStep: Sendable {
    /// What came of the lookup.
    public enum Outcome: Sendable {
        case found([UInt8])
        case notFound
        /// Not asked: the key class did not fit (`reason` says why), or an earlier table answered.
        case skipped(String)
        case failed(MapError)
    }

    /// The table as `type:name`.
    public var table: String
    /// The key given to the table.
    public var key: [UInt8]
    public var outcome: Outcome
    public var detail: LookupDetail

    public init(table: String, key: [UInt8], outcome: Outcome, detail: LookupDetail) {
        self.table = table
        self.key = key
        self.outcome = outcome
        self.detail = detail
    }
}

extension LookupTable {
    /// Look up `key` and say how: run a traced lookup and turn it into a trace step.
    public func traceStep(_ key: [UInt8]) -> TraceStep {
        let label = "\(type):\(name)"
        do {
            let (value, detail) = try lookupTraced(key)
            return TraceStep(table: label, key: key, outcome: value.map { .found($0) } ?? .notFound, detail: detail)
        } catch {
            return TraceStep(table: label, key: key, outcome: .failed(error), detail: LookupDetail(keys: [key]))
        }
    }
}
