import PostfixText
/// Postfix's `pcf_param_table`: every name postconf accepts, with where it comes from and how to get its
/// default value.
public final class ParameterRegistry {
    /// What kind of name this is (Postfix's `PCF_PARAM_FLAG_*`).
    public struct Flags: OptionSet, Sendable {
        public let rawValue: Int
        public init(rawValue: Int) { self.rawValue = rawValue }
        public static let raw = Flags(rawValue: 1 << 0)
        public static let builtin = Flags(rawValue: 1 << 1)
        public static let service = Flags(rawValue: 1 << 2)
        public static let user = Flags(rawValue: 1 << 3)
        public static let legacy = Flags(rawValue: 1 << 4)
        public static let readOnly = Flags(rawValue: 1 << 5)
        public static let dbms = Flags(rawValue: 1 << 6)
        /// The classes `-C` selects from.
        public static let classes: Flags = [.builtin, .service, .user]
    }

    /// Where a default value comes from.
    public enum Source {
        /// The built-in table entry at this index.
        case builtin(Int)
        /// A service parameter: `$` followed by this name.
        case service([UInt8])
        /// A user-defined name (no default).
        case user

        public var isUser: Bool {
            if case .user = self { return true }
            return false
        }
    }

    /// One name.
    public struct Node {
        public var flags: Flags
        public let source: Source
        public init(flags: Flags, source: Source) {
            self.flags = flags
            self.source = source
        }
    }

    private(set) var nodes: [[UInt8]: Node] = [:]
    /// Names in the order they were entered (Postfix walks its hash table; we keep a stable order).
    public private(set) var order: [[UInt8]] = []

    public init() {
        nodes.reserveCapacity(1200)
        order.reserveCapacity(1200)
    }

    public subscript(name: [UInt8]) -> Node? { nodes[name] }

    public func contains(_ name: [UInt8]) -> Bool { nodes[name] != nil }

    public func enter(_ name: [UInt8], _ node: Node) {
        if nodes.updateValue(node, forKey: name) == nil { order.append(name) }
    }

    /// Replace the class bits of `name` (`PCF_PARAM_CLASS_OVERRIDE`).
    public func overrideClass(_ name: [UInt8], _ cls: Flags) {
        guard var node = nodes[name] else { return }
        node.flags = node.flags.subtracting(.classes).union(cls)
        nodes[name] = node
    }

    /// All names sorted as `strcmp` sorts.
    public var sortedNames: [[UInt8]] {
        nodes.keys.sorted { $0.lexicographicallyPrecedes($1) }
    }
}
