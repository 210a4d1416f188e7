import Maps
import PostfixText

/// One line of an explanation, with the lines it leads to: a query, a key tried, a table's answer, a
/// restriction, an alias, a header rule. Keys and values are bytes; they become text only when printed.
public struct ExplainNode: Sendable {
    /// What the line is about; the JSON `kind`.
    public enum Kind: String, Sendable {
        /// A question: a role and the address or name asked about.
        case query
        /// One key as Postfix's search tries it (`maps_find` with this key).
        case key
        /// One table's answer for one key.
        case table
        /// A remark (a rule of the search order, why a key was skipped).
        case note
        /// Something Postfix would warn about or defer for.
        case warning
        /// A restriction of a restriction list.
        case restriction
        /// What a restriction list or lookup decided.
        case decision
        /// Something not evaluated offline: it needs DNS, a policy service or data not given.
        case notEvaluated = "not-evaluated"
        /// An address produced by an expansion (virtual alias, alias, canonical).
        case address
        /// An alias expansion item: `:include:`, `|command`, `/file`.
        case delivery
        /// A header or body line of a message.
        case line
        /// A failure: a table that could not be opened or read.
        case error
    }

    public var kind: Kind
    /// The line's text, for people.
    public var text: String
    /// The key looked up (for `key` and `table` nodes).
    public var key: [UInt8]?
    /// The table as `type:name` (for `table` nodes).
    public var table: String?
    /// The exact keys the table tried, after folding and the trailing-NUL rules.
    public var tried: [[UInt8]] = []
    /// For an indexed table (hash, btree, lmdb, cdb) that tried one form of the key: the other form
    /// (with or without the trailing NUL), and why it was not tried.
    public var untried: [[UInt8]] = []
    public var untriedWhy: String?
    /// `found`, `not found`, `skipped`, `error`.
    public var outcome: String?
    /// The value found.
    public var value: [UInt8]?
    /// The rule that matched, for regexp, pcre and cidr tables.
    public var rule: RuleLocation?
    public var children: [ExplainNode] = []

    public init(_ kind: Kind, _ text: String, key: [UInt8]? = nil, table: String? = nil, outcome: String? = nil,
                value: [UInt8]? = nil, rule: RuleLocation? = nil, children: [ExplainNode] = []) {
        self.kind = kind
        self.text = text
        self.key = key
        self.table = table
        self.outcome = outcome
        self.value = value
        self.rule = rule
        self.children = children
    }

    /// The node of one table's step of a map-list search, with composite members below it.
    public static func step(_ traced: TraceStep) -> ExplainNode {
        let step = traced
        var node = ExplainNode(.table, step.table, key: step.key, table: step.table)
        node.tried = step.detail.keys
        node.rule = step.detail.rule
        node.otherNulForm(step)
        switch step.outcome {
        case .found(let value):
            node.outcome = "found"
            node.value = value
            if step.table.hasPrefix("regexp:") || step.table.hasPrefix("pcre:") {
                node.children.append(ExplainNode(.note, "\(step.table.prefix(while: { $0 != ":" })) patterns match case-insensitively unless the rule turns the i flag off"))
            }
        case .notFound:
            node.outcome = "not found"
        case .skipped(let why):
            node.outcome = "skipped"
            node.children.append(ExplainNode(.note, why))
        case .failed(let error):
            node.outcome = "error"
            node.children.append(ExplainNode(.error, error.message))
            if error.message.contains("open database"), error.message.contains("No such file or directory") {
                node.children.append(ExplainNode(.note, "fix: build the table with postmap \(step.table) (postalias for an alias table)"))
            }
        }
        for note in step.detail.notes { node.children.append(ExplainNode(.note, note)) }
        for member in step.detail.members { node.children.append(ExplainNode.step(member)) }
        return node
    }
}

extension ExplainNode {
    /// An indexed table's key is stored with or without a trailing NUL, and Postfix's dict flags
    /// (DICT_FLAG_TRY1NULL, DICT_FLAG_TRY0NULL) say which forms a lookup tries: both at first, the
    /// with-NUL form first; after a hit only the form that matched. Both forms are shown: the one
    /// tried, and the other with the reason it was not.
    /// The table types whose keys are stored with or without a NUL (the catalog's indexed types).
    static let indexedTypes: Set<String> = Set(MapCatalog.entries.filter(\.isIndexed).map(\.name))

    mutating func otherNulForm(_ step: TraceStep) {
        guard step.detail.keys.count == 1, let first = step.detail.keys.first else { return }
        if case .skipped = step.outcome { return }
        if case .failed = step.outcome { return }
        guard Self.indexedTypes.contains(String(step.table.prefix(while: { $0 != ":" }))) else { return }
        let withNul = first.last == 0
        let other = withNul ? Array(first.dropLast()) : first + [0]
        untried = [other]
        if withNul, case .found = step.outcome {
            untriedWhy = "the form with NUL answered first"
        } else if withNul {
            untriedWhy = "an earlier hit in this table had the NUL, so Postfix tries only that form (DICT_FLAG_TRY1NULL)"
        } else {
            untriedWhy = "an earlier hit in this table had no NUL (or the table was built without one), so Postfix tries only that form (DICT_FLAG_TRY0NULL)"
        }
    }
}

/// The answer to one question: what was decided, and how.
public struct Explanation: Sendable {
    /// The outcome class, which gives the exit status.
    public enum Verdict: String, Sendable {
        /// A lookup found a value (exit 0).
        case found
        /// A restriction list or check decided: permit, reject, defer, or an action fired (exit 0).
        case decided
        /// Nothing matched (exit 1).
        case notFound = "not found"
        /// The answer depends on something not evaluated offline (exit 3).
        case undetermined
        /// A table failed with a temporary error (exit 75, EX_TEMPFAIL).
        case temporaryError = "temporary error"
        /// A table or the configuration is broken (exit 4).
        case configurationError = "configuration error"

        /// The exit status; see the README's postexplain section.
        public var exitStatus: Int32 {
            switch self {
            case .found, .decided: return 0
            case .notFound: return 1
            case .undetermined: return 3
            case .configurationError: return 4
            case .temporaryError: return 75
            }
        }
    }

    /// What was asked, in one line.
    public var subject: String
    public var verdict: Verdict
    /// The result in one line (the value found, the reply smtpd would send).
    public var summary: String
    /// The value found, for lookups.
    public var value: [UInt8]?
    public var nodes: [ExplainNode]
    /// Warnings Postfix would log (and tables' own warnings).
    public var warnings: [String] = []

    public init(subject: String, verdict: Verdict, summary: String, value: [UInt8]? = nil, nodes: [ExplainNode]) {
        self.subject = subject
        self.verdict = verdict
        self.summary = summary
        self.value = value
        self.nodes = nodes
    }
}
