/// Consecutive positive rules of one address family in a `cidr` table, with no `if`, `endif` or
/// negated rule between them: the first rule in file order whose network contains the key wins.
///
/// A short run is scanned in order, as Postfix scans it. A long one is indexed by prefix length: one
/// hash table per length maps each network to the position of its first rule, so a lookup probes once
/// per distinct length and takes the smallest position found, which is exactly the first match in
/// file order.
struct CIDRRuleRun {
    /// Below this many rules a scan is as cheap as the probes.
    static let indexThreshold = 8

    /// One prefix length of the index.
    struct Level {
        var mask: UInt128
        /// The smallest position at this length, so a search can stop once it cannot do better.
        var firstPosition: Int32
        /// Network → position of its first rule.
        var positions: [UInt128: Int32]

        /// Record a rule unless an earlier rule has the same network (that one answers every such key).
        mutating func keepFirst(_ network: UInt128, at position: Int32) {
            if positions[network] == nil { positions[network] = position }
        }
    }

    private var networks: [UInt128] = []
    private var masks: [UInt128] = []
    private var values: [Int] = []
    /// Levels ordered by `firstPosition`; empty for a scanned run.
    private var levels: [Level] = []

    /// The value index of the first rule whose network contains `address`.
    func firstMatch(_ address: UInt128) -> Int? {
        if levels.isEmpty {
            for n in networks.indices where address & masks[n] == networks[n] { return values[n] }
            return nil
        }
        var best = Int32.max
        for level in levels {
            // Levels are ordered by their earliest rule: none of the rest can beat a match found.
            if level.firstPosition >= best { break }
            if let position = level.positions[address & level.mask], position < best { best = position }
        }
        return best == Int32.max ? nil : values[Int(best)]
    }

    /// Collects a run's rules in file order.
    struct Builder {
        private var run = CIDRRuleRun()

        var isEmpty: Bool { run.networks.isEmpty }

        mutating func append(_ pattern: CIDRPattern, value: Int) {
            run.networks.append(pattern.network)
            run.masks.append(CIDRPattern.mask(pattern.length))
            run.values.append(value)
        }

        func build() -> CIDRRuleRun {
            var run = self.run
            guard run.networks.count >= CIDRRuleRun.indexThreshold else { return run }
            var byMask: [UInt128: Level] = [:]
            for n in run.networks.indices {
                let mask = run.masks[n]
                // Mutated in place through the default subscript, so no level's table is copied.
                byMask[mask, default: Level(mask: mask, firstPosition: Int32(n), positions: [:])]
                    .keepFirst(run.networks[n], at: Int32(n))
            }
            run.levels = byMask.values.sorted { $0.firstPosition < $1.firstPosition }
            return run
        }
    }
}
