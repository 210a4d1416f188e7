import Glibc

/// Load generator for scripts/bench-server: the same keys, connections and pipeline depth against
/// postmapd (socketmap or tcp_table) and Redis (GET), each answer checked. One thread drives every
/// connection through poll(2) (as Redis's own redis-benchmark drives its clients from one event loop), so that the generator takes one
/// core however many connections it opens. Not installed.
///
///   server-bench PROTOCOL ADDRESS KEYFILE CONNECTIONS REQUESTS-PER-CONNECTION DEPTH
///   PROTOCOL: socketmap | socketmap:TABLE | tcp | redis
///   ADDRESS: a loopback port, or the path of a UNIX socket
///
///   server-bench churn ADDRESS KEYFILE SECONDS [PER-SECOND]
///   Connection churn against a socketmap listener for SECONDS, one connection at a time, in turn:
///   two requests and a partial one then a half-close (both answers expected, then EOF); a netstring
///   length of 99,999,999 bytes (the server must close); a partial request then a reset (SO_LINGER 0);
///   one request, its answer, and a close; at most PER-SECOND connections a second when given. Prints
///   the connections made and the failures.
///
/// Each connection sends DEPTH requests, waits for their DEPTH replies, and sends the next DEPTH; the
/// latency of a batch is from its send to its last reply. Prints one line: requests, seconds,
/// requests/s, p50/p99/p99.9/max batch latency (µs), found, not found, errors.
@main
struct ServerBench {
    nonisolated static func main() {
        let args = CommandLine.arguments
        if args.count == 5 || args.count == 6, args[1] == "churn", let seconds = Int(args[4]) {
            guard let keys = readLines(args[3]), !keys.isEmpty else {
                complain("server-bench: cannot read \(args[3])")
                exit(2)
            }
            let pace = args.count == 6 ? Int(args[5]) ?? 0 : 0
            exit(churn(args[2], keys.map { encode(.socketmap, "virtual", $0) }, seconds: seconds, perSecond: pace))
        }
        guard args.count == 7, let connections = Int(args[4]), connections > 0,
              let perConnection = Int(args[5]), let depth = Int(args[6]), depth > 0 else {
            complain("usage: server-bench socketmap|tcp|redis PORT|PATH KEYFILE CONNECTIONS REQUESTS DEPTH")
            exit(2)
        }
        let proto = args[1]
        let kind: Kind = proto == "redis" ? .redis : proto == "tcp" ? .tcp : .socketmap
        let table = proto.hasPrefix("socketmap:") ? String(proto.dropFirst("socketmap:".count)) : "virtual"
        guard let keys = readLines(args[3]), !keys.isEmpty else {
            complain("server-bench: cannot read \(args[3])")
            exit(2)
        }
        let requests = keys.map { encode(kind, table, $0) }
        var conns: [Connection] = []
        for c in 0..<connections {
            guard let fd = connectTo(args[2]) else {
                complain("server-bench: cannot connect to \(args[2])")
                exit(1)
            }
            conns.append(Connection(fd: fd, next: (c * 7919) % requests.count))
        }
        var latencies: [UInt64] = []
        latencies.reserveCapacity(connections * (perConnection / depth + 1))
        var found = 0, missing = 0, errors = 0, active = connections
        let start = now()
        func sendBatch(_ conn: inout Connection) {
            let batch = min(depth, perConnection - conn.sent)
            var out: [UInt8] = []
            for _ in 0..<batch {
                out += requests[conn.next]
                conn.next = (conn.next + 1) % requests.count
            }
            conn.outstanding = batch
            conn.sent += batch
            conn.batchStart = now()
            if !sendAll(conn.fd, out) { conn.failed = true }
        }
        for c in conns.indices { sendBatch(&conns[c]) }
        var fds = conns.map { pollfd(fd: $0.fd, events: Int16(POLLIN), revents: 0) }
        var index = Array(conns.indices)
        var chunk = [UInt8](repeating: 0, count: 65536)
        while active > 0 {
            let n = poll(&fds, nfds_t(fds.count), 10_000)
            if n < 0 { if errno == EINTR { continue }; break }
            if n == 0 { complain("server-bench: no reply for 10 s"); errors += active; break }
            var closedAny = false
            for slot in fds.indices where fds[slot].revents != 0 {
                let c = index[slot]
                guard !conns[c].done else { continue }
                let got = chunk.withUnsafeMutableBytes { recv(conns[c].fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
                if got < 0, errno == EAGAIN || errno == EINTR { continue }
                if got <= 0 { conns[c].failed = true } else { conns[c].input += chunk[0..<got] }
                while !conns[c].failed, conns[c].outstanding > 0 {
                    guard let (used, hit) = parse(kind, conns[c].input, from: conns[c].position) else { break }
                    conns[c].position = used
                    switch hit {
                    case .some(true): found += 1
                    case .some(false): missing += 1
                    case .none: errors += 1; conns[c].failed = true
                    }
                    conns[c].outstanding -= 1
                    if conns[c].outstanding == 0 {
                        latencies.append(now() - conns[c].batchStart)
                        if conns[c].sent < perConnection { sendBatch(&conns[c]) }
                    }
                }
                if conns[c].position > 0, conns[c].position == conns[c].input.count {
                    conns[c].input.removeAll(keepingCapacity: true)
                    conns[c].position = 0
                }
                if conns[c].failed || (conns[c].outstanding == 0 && conns[c].sent >= perConnection) {
                    if conns[c].failed, conns[c].outstanding > 0 { errors += 1 }
                    conns[c].done = true
                    close(conns[c].fd)
                    active -= 1
                    closedAny = true
                }
            }
            if closedAny {
                index = index.filter { !conns[$0].done }
                fds = index.map { pollfd(fd: conns[$0].fd, events: Int16(POLLIN), revents: 0) }
            }
        }
        let elapsed = Double(now() - start) / 1e9
        latencies.sort()
        let total = found + missing
        func percentile(_ p: Double) -> UInt64 {
            latencies.isEmpty ? 0 : latencies[min(latencies.count - 1, Int(Double(latencies.count) * p))] / 1000
        }
        let name = proto.split(separator: ":").first.map(String.init) ?? proto
        print("\(name) requests=\(total) seconds=\(format3(elapsed)) rate=\(Int(Double(total) / elapsed)) p50us=\(percentile(0.5)) p99us=\(percentile(0.99)) p999us=\(percentile(0.999)) maxus=\(latencies.last.map { $0 / 1000 } ?? 0) found=\(found) notfound=\(missing) errors=\(errors)")
        exit(errors == 0 ? 0 : 1)
    }

    enum Kind { case socketmap, tcp, redis }

    /// The churn loop (see the usage above); 0 when every connection behaved.
    static func churn(_ address: String, _ requests: [[UInt8]], seconds: Int, perSecond: Int) -> Int32 {
        let start = now()
        let end = start + UInt64(seconds) * 1_000_000_000
        var made = 0, failures = 0, next = 0
        var chunk = [UInt8](repeating: 0, count: 4096)
        /// Read until EOF (or a reset); the socketmap replies seen, or nil on a timeout.
        func drain(_ fd: Int32) -> Int? {
            var input: [UInt8] = [], replies = 0, position = 0
            while true {
                let got = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
                if got < 0, errno == EINTR { continue }
                if got < 0, errno == EAGAIN || errno == EWOULDBLOCK { return nil }
                if got <= 0 { return replies }
                input += chunk[0..<got]
                while let (used, _) = parse(.socketmap, input, from: position) {
                    position = used
                    replies += 1
                }
            }
        }
        while now() < end {
            if perSecond > 0 {
                let due = start + UInt64(made) * 1_000_000_000 / UInt64(perSecond)
                let at = now()
                if due > at { usleep(UInt32(min(due - at, 1_000_000_000) / 1000)) }
            }
            let kind = made % 4
            made += 1
            guard let fd = connectTo(address) else {
                failures += 1
                complain("server-bench churn: cannot connect")
                usleep(100_000)
                continue
            }
            var timeout = timeval(tv_sec: 5, tv_usec: 0)
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            let request = requests[next % requests.count], second = requests[(next + 1) % requests.count]
            next += 2
            switch kind {
            case 0:
                // Two whole requests and half of a third, then EOF on our side: two answers, then EOF.
                let ok = sendAll(fd, request + second + Array(second.prefix(second.count / 2)))
                shutdown(fd, Int32(SHUT_WR))
                if !ok || drain(fd) != 2 { failures += 1 }
            case 1:
                // An oversize netstring: the server closes without an answer.
                _ = sendAll(fd, Array("99999999:".utf8) + [UInt8](repeating: 0x61, count: 512))
                if drain(fd) != 0 { failures += 1 }
            case 2:
                // A partial request, then a reset.
                _ = sendAll(fd, Array(request.prefix(request.count / 2)))
                var linger = Glibc.linger(l_onoff: 1, l_linger: 0)
                setsockopt(fd, SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<Glibc.linger>.size))
            default:
                // One request, its answer, and a close.
                var got = 0
                if sendAll(fd, request) {
                    var input: [UInt8] = []
                    while got == 0 {
                        let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
                        if n < 0, errno == EINTR { continue }
                        if n <= 0 { break }
                        input += chunk[0..<n]
                        if parse(.socketmap, input, from: 0) != nil { got = 1 }
                    }
                }
                if got != 1 { failures += 1 }
            }
            close(fd)
        }
        print("churn connections=\(made) failures=\(failures)")
        return failures == 0 ? 0 : 1
    }

    struct Connection {
        let fd: Int32
        var next: Int
        var sent = 0
        var outstanding = 0
        var batchStart: UInt64 = 0
        var input: [UInt8] = []
        var position = 0
        var failed = false
        var done = false

        init(fd: Int32, next: Int) {
            self.fd = fd
            self.next = next
        }
    }

    static func format3(_ x: Double) -> String {
        let scaled = Int((x * 1000).rounded())
        let frac = String(scaled % 1000)
        return "\(scaled / 1000).\(String(repeating: "0", count: 3 - frac.count))\(frac)"
    }

    static func encode(_ kind: Kind, _ table: String, _ key: [UInt8]) -> [UInt8] {
        switch kind {
        case .redis: return Array("*2\r\n$3\r\nGET\r\n$\(key.count)\r\n".utf8) + key + [13, 10]
        case .tcp: return Array("get ".utf8) + key + [10]
        case .socketmap:
            let payload = Array("\(table) ".utf8) + key
            return Array("\(payload.count):".utf8) + payload + [0x2C]
        }
    }

    /// One reply at `from`: where it ends and whether it was found (nil: an error reply); nil when the
    /// reply is not complete yet.
    static func parse(_ kind: Kind, _ b: [UInt8], from: Int) -> (Int, Bool?)? {
        func lineEnd(_ at: Int) -> Int? { b[at...].firstIndex(of: 10) }
        func number(_ range: Range<Int>) -> Int? {
            var n = 0, negative = false, any = false
            for i in range {
                let c = b[i]
                if c == UInt8(ascii: "-") { negative = true; continue }
                if c == 13 { break }
                guard (0x30...0x39).contains(c) else { return nil }
                n = n * 10 + Int(c - 0x30)
                any = true
            }
            return any ? (negative ? -n : n) : nil
        }
        guard from < b.count else { return nil }
        switch kind {
        case .redis:
            guard let nl = lineEnd(from) else { return nil }
            guard b[from] == UInt8(ascii: "$"), let length = number((from + 1)..<nl) else { return (nl + 1, nil) }
            if length == -1 { return (nl + 1, false) }
            guard b.count >= nl + 1 + length + 2 else { return nil }
            return (nl + 1 + length + 2, true)
        case .tcp:
            guard let nl = lineEnd(from) else { return nil }
            let code = b[from]
            return (nl + 1, code == UInt8(ascii: "2") ? true : code == UInt8(ascii: "5") ? false : nil)
        case .socketmap:
            guard let colon = b[from...].firstIndex(of: UInt8(ascii: ":")) else { return nil }
            guard let n = number(from..<colon) else { return (colon + 1, nil) }
            guard b.count >= colon + 1 + n + 1 else { return nil }
            let payload = b[(colon + 1)..<(colon + 1 + n)]
            let ok = payload.starts(with: [UInt8(ascii: "O"), UInt8(ascii: "K")])
            let notFound = payload.starts(with: Array("NOTFOUND".utf8))
            return (colon + n + 2, ok ? true : notFound ? false : nil)
        }
    }

    static func readLines(_ path: String) -> [[UInt8]]? {
        guard let f = fopen(path, "r") else { return nil }
        defer { fclose(f) }
        var out: [[UInt8]] = []
        var line: UnsafeMutablePointer<CChar>?
        var cap = 0
        while true {
            let n = getline(&line, &cap, f)
            if n < 0 { break }
            guard let line else { break }
            var bytes = [UInt8](UnsafeRawBufferPointer(start: line, count: n))
            if bytes.last == 10 { bytes.removeLast() }
            if !bytes.isEmpty { out.append(bytes) }
        }
        free(line)
        return out
    }

    static func now() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }

    /// A connected socket: a port on 127.0.0.1, or a UNIX socket path.
    static func connectTo(_ address: String) -> Int32? {
        if address.hasPrefix("/") {
            let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
            guard fd >= 0 else { return nil }
            var addr = sockaddr_un()
            addr.sun_family = sa_family_t(AF_UNIX)
            let path = Array(address.utf8)
            guard path.count < MemoryLayout.size(ofValue: addr.sun_path) else { close(fd); return nil }
            withUnsafeMutableBytes(of: &addr.sun_path) { raw in
                for (i, b) in path.enumerated() { raw[i] = b }
            }
            let rc = withUnsafePointer(to: &addr) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
            }
            if rc != 0 { close(fd); return nil }
            return fd
        }
        guard let port = UInt16(address) else { return nil }
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return nil }
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = port.bigEndian
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        if rc != 0 { close(fd); return nil }
        return fd
    }

    /// Send every byte (the socket is blocking; replies are read with MSG_DONTWAIT).
    static func sendAll(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let n = send(fd, raw.baseAddress.map { $0 + offset }, raw.count - offset, Int32(MSG_NOSIGNAL))
                if n < 0, errno == EINTR { continue }
                if n <= 0 { return false }
                offset += n
            }
            return true
        }
    }
}

func complain(_ text: String) {
    let bytes = Array((text + "\n").utf8)
    _ = bytes.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
}
