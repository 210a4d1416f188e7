import Glibc
import Synchronization

/// Load generator for scripts/bench-server: the same keys, connections and pipeline depth against
/// postmapd (socketmap or tcp_table) and Redis (GET), each request's answer checked. Not installed.
///
///   server-bench PROTOCOL PORT KEYFILE CONNECTIONS REQUESTS-PER-CONNECTION DEPTH
///   PROTOCOL: socketmap | tcp | redis
///
/// Prints one line: requests, seconds, requests/s, p50/p99/max batch latency (µs), found, not found.
@main
struct ServerBench {
    nonisolated static func main() {
        let args = CommandLine.arguments
        guard args.count == 7, let port = UInt16(args[2]), let connections = Int(args[4]),
              let perConnection = Int(args[5]), let depth = Int(args[6]), depth > 0 else {
            complain("usage: server-bench socketmap|tcp|redis PORT KEYFILE CONNECTIONS REQUESTS DEPTH")
            exit(2)
        }
        let proto = args[1]
        guard let keys = readLines(args[3]), !keys.isEmpty else {
            complain("server-bench: cannot read \(args[3])")
            exit(2)
        }
        let results = Mutex<(latencies: [UInt64], found: Int, missing: Int, errors: Int)>(([], 0, 0, 0))
        let start = now()
        var threads: [pthread_t] = []
        for c in 0..<connections {
            threads.append(spawn {
                var latencies: [UInt64] = []
                var found = 0, missing = 0, errors = 0
                guard let fd = connectTo(port) else {
                    results.withLock { $0.errors += 1 }
                    return
                }
                defer { close(fd) }
                var reader = Reader(fd: fd)
                var index = (c * 7919) % keys.count
                var sent = 0
                while sent < perConnection {
                    let batch = min(depth, perConnection - sent)
                    var out: [UInt8] = []
                    for _ in 0..<batch {
                        out += encode(proto, keys[index])
                        index = (index + 1) % keys.count
                    }
                    let t0 = now()
                    guard sendAll(fd, out) else { errors += 1; break }
                    for _ in 0..<batch {
                        switch reader.reply(proto) {
                        case .some(true): found += 1
                        case .some(false): missing += 1
                        case .none: errors += 1
                        }
                    }
                    latencies.append(now() - t0)
                    sent += batch
                    if errors > 0 { break }
                }
                results.withLock {
                    $0.latencies += latencies
                    $0.found += found
                    $0.missing += missing
                    $0.errors += errors
                }
            })
        }
        for t in threads { pthread_join(t, nil) }
        let elapsed = Double(now() - start) / 1e9
        let (latencies, found, missing, errors) = results.withLock { ($0.latencies.sorted(), $0.found, $0.missing, $0.errors) }
        let total = found + missing
        func percentile(_ p: Double) -> UInt64 { latencies.isEmpty ? 0 : latencies[min(latencies.count - 1, Int(Double(latencies.count) * p))] / 1000 }
        print("\(proto) requests=\(total) seconds=\(String(format3(elapsed))) rate=\(Int(Double(total) / elapsed)) p50us=\(percentile(0.5)) p99us=\(percentile(0.99)) maxus=\(latencies.last.map { $0 / 1000 } ?? 0) found=\(found) notfound=\(missing) errors=\(errors)")
        exit(errors == 0 ? 0 : 1)
    }

    static func format3(_ x: Double) -> String {
        let scaled = Int((x * 1000).rounded())
        let frac = String(scaled % 1000)
        return "\(scaled / 1000).\(String(repeating: "0", count: 3 - frac.count))\(frac)"
    }

    static func encode(_ proto: String, _ key: [UInt8]) -> [UInt8] {
        switch proto {
        case "redis": return Array("*2\r\n$3\r\nGET\r\n$\(key.count)\r\n".utf8) + key + [13, 10]
        case "tcp": return Array("get ".utf8) + key + [10]
        default:
            let payload = Array("virtual ".utf8) + key
            return Array("\(payload.count):".utf8) + payload + [0x2C]
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

    static func connectTo(_ port: UInt16) -> Int32? {
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

/// Buffered reads of replies: true found, false not found, nil error.
struct Reader {
    let fd: Int32
    var buffer: [UInt8] = []
    var position = 0

    init(fd: Int32) { self.fd = fd }

    mutating func fill() -> Bool {
        if position > 0 { buffer.removeFirst(position); position = 0 }
        var chunk = [UInt8](repeating: 0, count: 65536)
        let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        if n <= 0 { return false }
        buffer += chunk[0..<n]
        return true
    }

    mutating func line() -> [UInt8]? {
        while true {
            if let nl = buffer[position...].firstIndex(of: 10) {
                let out = Array(buffer[position..<nl])
                position = nl + 1
                return out
            }
            guard fill() else { return nil }
        }
    }

    mutating func take(_ n: Int) -> [UInt8]? {
        while buffer.count - position < n { guard fill() else { return nil } }
        let out = Array(buffer[position..<(position + n)])
        position += n
        return out
    }

    mutating func reply(_ proto: String) -> Bool? {
        switch proto {
        case "redis":
            guard let head = line(), head.first == UInt8(ascii: "$") else { return nil }
            let length = Int(String(decoding: head.dropFirst().filter { $0 != 13 }, as: UTF8.self)) ?? -2
            if length == -1 { return false }
            guard length >= 0, take(length + 2) != nil else { return nil }
            return true
        case "tcp":
            guard let l = line(), l.count >= 3 else { return nil }
            return l[0] == UInt8(ascii: "2") ? true : l[0] == UInt8(ascii: "5") ? false : nil
        default:
            var digits: [UInt8] = []
            while true {
                guard let b = take(1) else { return nil }
                if b[0] == UInt8(ascii: ":") { break }
                digits += b
            }
            guard let n = Int(String(decoding: digits, as: UTF8.self)), let payload = take(n + 1) else { return nil }
            if payload.starts(with: Array("OK".utf8)) { return true }
            if payload.starts(with: Array("NOTFOUND".utf8)) { return false }
            return nil
        }
    }
}

func complain(_ text: String) {
    let bytes = Array((text + "\n").utf8)
    _ = bytes.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
}

final class ThreadBody {
    let body: @Sendable () -> Void
    init(_ body: @escaping @Sendable () -> Void) { self.body = body }
}

func spawn(_ body: @escaping @Sendable () -> Void) -> pthread_t {
    var thread = pthread_t()
    let box = Unmanaged.passRetained(ThreadBody(body)).toOpaque()
    pthread_create(&thread, nil, { raw in
        guard let raw else { return nil }
        Unmanaged<ThreadBody>.fromOpaque(raw).takeRetainedValue().body()
        return nil
    }, box)
    return thread
}
