/// A `regexp:` or `pcre:` table: rules tried in file order, the first match wins; `if`/`endif` blocks
/// are skipped when their condition fails. A literal prefilter decides most non-matching rules without
/// running their expression, so only rules whose required text occurs in the key are executed.
public final class PatternTable<D: PatternDialect>: LookupTable {
    public let type: String
    public let name: String
    private let program: PatternProgram<D>
    private let diagnostics: Diagnostics
    private let source: RuleSource
    /// Scratch bit sets, reused across lookups.
    private var present: [UInt64]

    public init(name: String, request: OpenRequest) throws(MapError) {
        if request.mode != .readOnly {
            throw .configuration("\(D.mapType):\(name) map requires O_RDONLY access mode")
        }
        self.type = D.mapType
        self.name = name
        self.diagnostics = request.diagnostics
        let source = try RuleSource.load(type: D.mapType, name: name, diagnostics: request.diagnostics)
        self.source = source
        self.program = PatternProgram<D>(source: source, diagnostics: request.diagnostics)
        self.present = [UInt64](repeating: 0, count: (program.rules.count + 63) / 64)
    }

    /// The outcome of one pattern for the key, using the prefilter when it decides.
    @inline(__always)
    private func test(_ pattern: CompiledPattern<D>, index: Int, key: [UInt8], captures: Int,
                      line: Int, groups: inout [Range<Int>?]) throws(MapError) -> Bool {
        if pattern.literal != nil, program.filter.isUseful, present[index >> 6] & (1 << UInt64(index & 63)) == 0 {
            return !pattern.positive
        }
        do {
            if let m = try D.match(pattern.compiled, key, captures: captures) {
                groups = m
                return pattern.positive
            }
            return !pattern.positive
        } catch {
            let text = "\(source.location(D.mapType, line)): \(error.text)"
            diagnostics.warning(text)
            throw .temporary(text)
        }
    }

    public func lookup(_ key: [UInt8]) throws(MapError) -> [UInt8]? {
        let key = KeyCodec.cString(key)
        if program.filter.isUseful {
            for i in present.indices { present[i] = 0 }
            var lowered = key
            lowered.withUnsafeMutableBufferPointer { b in
                for i in b.indices where b[i] &- 0x41 < 26 { b[i] |= 0x20 }
            }
            program.filter.mark(key, lowered: lowered, into: &present)
        }
        var groups: [Range<Int>?] = []
        var index = 0
        let rules = program.rules
        while index < rules.count {
            switch rules[index] {
            case .match(let first, let second, let replacement, let maxGroup, let line):
                guard try test(first, index: index, key: key, captures: maxGroup, line: line, groups: &groups) else {
                    index += 1
                    continue
                }
                if let second {
                    // The second pattern (`/a/!/b/`) has no prefilter bit of its own; run it.
                    let matched: Bool
                    do {
                        matched = try D.match(second.compiled, key, captures: 0) != nil
                    } catch {
                        let text = "\(source.location(D.mapType, line)): \(error.text)"
                        diagnostics.warning(text)
                        throw .temporary(text)
                    }
                    if matched != second.positive {
                        index += 1
                        continue
                    }
                }
                return expand(replacement, key: key, groups: groups)
            case .ifRule(let pattern, let endIndex, let line):
                if try test(pattern, index: index, key: key, captures: 0, line: line, groups: &groups) {
                    index += 1
                } else if let endIndex {
                    index = endIndex + 1
                } else {
                    return nil
                }
            case .endif:
                index += 1
            }
        }
        return nil
    }

    private func expand(_ parts: [ReplacementPart], key: [UInt8], groups: [Range<Int>?]) -> [UInt8] {
        var out: [UInt8] = []
        for part in parts {
            switch part {
            case .text(let t): out.append(contentsOf: t)
            case .group(let n):
                if n < groups.count, let r = groups[n], !r.isEmpty { out.append(contentsOf: key[r]) }
            }
        }
        return out
    }
}
