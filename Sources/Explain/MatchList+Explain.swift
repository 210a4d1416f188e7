import Maps
import PostfixConfig
import PostfixText

/// A match list's answer with the table lookups it made, as trace nodes.
struct ExplainedMatch {
    var matched: Bool
    var pattern: String?
    var error: String?
    var nodes: [ExplainNode]
}

extension MatchList where Table == MapList {
    /// Match as Postfix does (`MatchList.match`); each table lookup becomes a node with its trace.
    func explain(_ subject: [UInt8], address: [UInt8]? = nil) -> ExplainedMatch {
        var nodes: [ExplainNode] = []
        let title = self.title
        let result = match(subject, address: address) { table, key in
            let (outcome, trace) = table.find(key)
            var node = ExplainNode(.key, "\(title) pattern \(table.specs.map(\.description).joined(separator: ","))", key: key)
            node.children = trace.map(ExplainNode.step)
            nodes.append(node)
            switch outcome {
            case .found: return .found
            case .notFound: return .notFound
            case .failed(let spec, let error, _): return .failed("\(spec): table lookup problem: \(error.message)")
            }
        }
        return ExplainedMatch(matched: result.matched, pattern: result.pattern, error: result.error, nodes: nodes)
    }
}
