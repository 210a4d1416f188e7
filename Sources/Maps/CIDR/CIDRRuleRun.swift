import PostfixText
/// Consecutive positive rules of one address family in a `cidr` table, with no `if`, `endif` or
/// negated rule between them: the first rule in file order whose network contains the key wins.
///
/// A short run is scanned in order, as Postfix scans it. A long one is flattened once into the sorted
/// boundaries of the address ranges on which the answer is constant. Networks are prefixes, so any two
/// are nested or disjoint; the answer on a range is the earliest rule among the networks that cover it,
/// and a lookup is one binary search.
struct CIDRRuleRun {
    /// Below this many rules a scan is as cheap as the search.
    static let indexThreshold = 8
    /// "No rule" in `answers`.
    static let none = Int32.max

    private var networks: [UInt128] = []
    private var masks: [UInt128] = []
    private var values: [Int] = []
    /// For an indexed run: the first address of each range, ascending, starting at 0.
    private var starts: [UInt128] = []
    /// The same for IPv4 runs, as 32-bit numbers: a quarter of the memory for the search to touch.
    /// (An IPv4 range starts on a multiple of 2^96 in the left-aligned space.)
    private var starts32: [UInt32] = []
    /// The position (in this run) of the rule that answers each range, or `none`.
    private var answers: [Int32] = []

    /// The value index of the first rule whose network contains `address`.
    func firstMatch(_ address: UInt128) -> Int? {
        let range: Int
        if !starts32.isEmpty {
            range = Self.lastAtOrBelow(UInt32(truncatingIfNeeded: address >> 96), in: starts32)
        } else if !starts.isEmpty {
            range = Self.lastAtOrBelow(address, in: starts)
        } else {
            for n in networks.indices where address & masks[n] == networks[n] { return values[n] }
            return nil
        }
        let position = answers[range]
        return position == Self.none ? nil : values[Int(position)]
    }

    /// The index of the last element at or below `value` in ascending `sorted`, whose first element is 0.
    @inline(__always)
    static func lastAtOrBelow<T: FixedWidthInteger>(_ value: T, in sorted: [T]) -> Int {
        sorted.withUnsafeBufferPointer { buffer in
            // Halve the window without a data-dependent branch, so the search does not stall on mispredictions.
            var base = 0, length = buffer.count
            while length > 1 {
                let half = length / 2
                base = buffer[base + half] <= value ? base + half : base
                length -= half
            }
            return base
        }
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
            // Outer networks before the networks nested in them; for the same network, the earliest rule.
            let order = run.networks.indices.sorted { a, b in
                let (na, nb) = (run.networks[a], run.networks[b])
                if na != nb { return na < nb }
                if run.masks[a] != run.masks[b] { return run.masks[a] < run.masks[b] }
                return a < b
            }
            var starts: [UInt128] = [0]
            var answers: [Int32] = [CIDRRuleRun.none]
            func emit(_ start: UInt128, _ answer: Int32) {
                if starts.last == start {
                    answers[answers.count - 1] = answer
                } else if answers.last != answer {
                    starts.append(start)
                    answers.append(answer)
                }
            }
            // The networks covering the current address, innermost last, with the earliest rule among
            // each and those around it.
            var open: [(end: UInt128, answer: Int32)] = []
            func closeUntil(_ address: UInt128?) {
                while let top = open.last, address.map({ top.end < $0 }) ?? true {
                    open.removeLast()
                    // An end of all ones closes nothing after it: no address follows.
                    if top.end != ~UInt128(0) { emit(top.end + 1, open.last?.answer ?? CIDRRuleRun.none) }
                }
            }
            for n in order {
                let start = run.networks[n]
                closeUntil(start)
                let answer = min(Int32(n), open.last?.answer ?? CIDRRuleRun.none)
                open.append((start | ~run.masks[n], answer))
                emit(start, answer)
            }
            closeUntil(nil)
            if starts.allSatisfy({ $0 & (UInt128(1) << 96 - 1) == 0 }) {
                run.starts32 = starts.map { UInt32(truncatingIfNeeded: $0 >> 96) }
            } else {
                run.starts = starts
            }
            run.answers = answers
            return run
        }
    }
}
