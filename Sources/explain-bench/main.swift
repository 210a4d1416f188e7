// Measures what a trace costs: the same keys searched in a 5-table map list with plain lookups
// (each table's lookup() in order until one answers) and with MapList.find (which records the trace),
// and the full postexplain address search against the plain lookups of the keys it tries.
// Run by scripts/bench-explain; not installed.
import Explain
import MapBackends
import Maps
import PostfixConfig
import PostfixText
#if canImport(Glibc)
import Glibc
#endif

func now() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

let args = CommandLine.arguments
guard args.count == 3, let rounds = Int(args[2]) else {
    print("usage: explain-bench DIR ROUNDS   (DIR has hash tables t1..t5 and a file keys)")
    exit(2)
}
let dir = args[1]
let specs = (1...5).map { "hash:\(dir)/t\($0)" }.joined(separator: ", ")
var keys: [[UInt8]] = []
let reader = ByteReader(bytes: {
    var out: [UInt8] = []
    let fd = open("\(dir)/keys", O_RDONLY)
    var buf = [UInt8](repeating: 0, count: 65536)
    while true { let n = buf.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }; if n <= 0 { break }; out += buf[0..<n] }
    close(fd)
    return out
}(), path: "keys")
while let line = reader.nextLine() { keys.append(line) }

let request = OpenRequest(mode: .readOnly, flags: [.lock, .foldFixed, .utf8Request])
let list = MapList(title: "virtual_alias_maps", specs: MapList.split(specs), registry: MapBackends.registry, request: request, lazily: true)
let tables = try (0..<5).map { try list.table($0) }

@MainActor func plain(_ key: [UInt8]) -> Bool {
    for t in tables { if (try? t.lookup(key)) != nil { return true } }
    return false
}

@MainActor func best(_ body: () -> Int) -> (Double, Int) {
    var times: [Double] = []
    var found = 0
    for _ in 0..<rounds {
        let t0 = now()
        found = body()
        times.append(now() - t0)
    }
    return (times.sorted()[times.count / 2], found)
}

// 1. One key per search: plain lookups against the map list's traced search.
let (plainTime, plainFound) = best { keys.reduce(0) { $0 + (plain($1) ? 1 : 0) } }
let (traceTime, traceFound) = best {
    keys.reduce(0) { n, k in
        if case .found = list.find(k).outcome { return n + 1 }
        return n
    }
}
precondition(plainFound == traceFound, "answers differ")

// 2. The whole postexplain address search (partial keys, recorded nodes) against plain lookups of the
// keys it tries, in the same order.
var config = MainConfig(directory: dir)
config.set("virtual_alias_maps", specs)
config.set("recipient_delimiter", "+")
config.set("mydestination", "localhost")
config.set("myorigin", "localhost")
let context = try ExplainContext(config: config)
let explainer = Explainer(context: context)
let vlist = context.mapList(title: "virtual_alias_maps", value: specs)
var searchKeys: [[[UInt8]]] = []
for k in keys.prefix(2000) {
    var tried: [[UInt8]] = []
    let search = explainer.addressSearch()
    _ = search.find(k, inForm: .internal, queryForm: .external, strategy: .standard) { q in
        tried.append(q.key)
        if case .found(let v) = vlist.find(q.key, keys: q.partial ? .fixed : nil).outcome { return .found(v) }
        return .notFound
    }
    searchKeys.append(tried)
}
let (plainSearch, _) = best { searchKeys.reduce(0) { n, tried in n + (tried.contains(where: plain) ? 1 : 0) } }
let (explainSearch, _) = best {
    var n = 0
    for k in keys.prefix(2000) {
        if let e = try? explainer.lookup(role: .relayRecipientMaps, subject: k, table: specs), e.verdict == .found { n += 1 }
    }
    return n
}
print("keys \(keys.count), found \(plainFound), 5 hash tables, median of \(rounds) rounds")
func fmt(_ x: Double, _ digits: Int) -> String {
    var scale = 1.0
    for _ in 0..<digits { scale *= 10 }
    let n = Int((x * scale).rounded())
    let whole = n / Int(scale), frac = String(n % Int(scale))
    return "\(whole)." + String(repeating: "0", count: digits - frac.count) + frac
}
print("plain lookups:            \(fmt(plainTime, 4)) s")
print("MapList.find with trace:  \(fmt(traceTime, 4)) s   ratio \(fmt(traceTime / plainTime, 2))")
print("plain lookups of the partial keys (2000 addresses): \(fmt(plainSearch, 4)) s")
print("postexplain lookup, full explanation (2000 addresses): \(fmt(explainSearch, 4)) s   ratio \(fmt(explainSearch / plainSearch, 2))")
