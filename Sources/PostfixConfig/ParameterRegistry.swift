/// Postfix's `pcf_param_table`: every name postconf accepts, with where it comes from and how to get its
/// default value.
final class ParameterRegistry {
    /// What kind of name this is (Postfix's `PCF_PARAM_FLAG_*`).
    struct Flags: OptionSet {
        let rawValue: Int
        static let raw = Flags(rawValue: 1 << 0)
        static let builtin = Flags(rawValue: 1 << 1)
        static let service = Flags(rawValue: 1 << 2)
        static let user = Flags(rawValue: 1 << 3)
        static let legacy = Flags(rawValue: 1 << 4)
        static let readOnly = Flags(rawValue: 1 << 5)
        static let dbms = Flags(rawValue: 1 << 6)
        /// The classes `-C` selects from.
        static let classes: Flags = [.builtin, .service, .user]
    }

    /// Where a default value comes from.
    enum Source {
        /// The built-in table entry at this index.
        case builtin(Int)
        /// A service parameter: `$` followed by this name.
        case service([UInt8])
        /// A user-defined name (no default).
        case user

        var isUser: Bool {
            if case .user = self { return true }
            return false
        }
    }

    /// One name.
    struct Node {
        var flags: Flags
        let source: Source
    }

    private(set) var nodes: [[UInt8]: Node] = [:]
    /// Names in the order they were entered (Postfix walks its hash table; we keep a stable order).
    private(set) var order: [[UInt8]] = []

    init() {
        nodes.reserveCapacity(1200)
        order.reserveCapacity(1200)
    }

    subscript(name: [UInt8]) -> Node? { nodes[name] }

    func contains(_ name: [UInt8]) -> Bool { nodes[name] != nil }

    func enter(_ name: [UInt8], _ node: Node) {
        if nodes.updateValue(node, forKey: name) == nil { order.append(name) }
    }

    /// Replace the class bits of `name` (`PCF_PARAM_CLASS_OVERRIDE`).
    func overrideClass(_ name: [UInt8], _ cls: Flags) {
        guard var node = nodes[name] else { return }
        node.flags = node.flags.subtracting(.classes).union(cls)
        nodes[name] = node
    }

    /// All names sorted as `strcmp` sorts.
    var sortedNames: [[UInt8]] {
        nodes.keys.sorted { $0.lexicographicallyPrecedes($1) }
    }
}
