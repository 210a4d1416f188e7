#if canImport(Glibc)
import Glibc
#endif

/// The servers of one pgsql or mysql table and Postfix's rules for choosing among them (`PLPGSQL`,
/// `PLMYSQL`): an open connection is used first (Unix-domain sockets before TCP before connection
/// URIs, at random among equals); otherwise an untried server or one whose retry time has passed is
/// connected to, again preferring sockets. A server that fails is left alone for `retryInterval`
/// seconds; a connection that has answered no query for `idleInterval` seconds is closed (Postfix's
/// daemons close it from a timer).
struct SQLHosts<Handle> {
    enum Kind: Int { case unix = 1, inet = 2, uri = 4 }
    enum State { case untried, active, failed }

    struct Host {
        /// As written in `hosts`, for messages.
        let label: String
        let kind: Kind
        var state: State = .untried
        /// Until when a failed host is skipped.
        var retryAt: time_t = 0
        /// The last successful query (for the idle rule).
        var lastUsed: time_t = 0
        var handle: Handle?
    }

    var hosts: [Host]
    let retryInterval: time_t
    let idleInterval: time_t
    /// Closes a handle.
    let release: (Handle) -> Void

    init(_ hosts: [(label: String, kind: Kind)], retryInterval: Int = 60, idleInterval: Int = 60,
         release: @escaping (Handle) -> Void) {
        self.hosts = hosts.map { Host(label: $0.label, kind: $0.kind) }
        self.retryInterval = time_t(retryInterval)
        self.idleInterval = time_t(idleInterval)
        self.release = release
    }

    private static func now() -> time_t { time(nil) }

    private func eligible(_ host: Host, _ states: [State], _ kind: Kind, _ t: time_t) -> Bool {
        guard states.contains(where: { $0 == host.state }), host.kind == kind else { return false }
        // Try not to hammer dead hosts too often.
        if host.state == .failed && host.retryAt > 0 && host.retryAt >= t { return false }
        return true
    }

    private func find(_ states: [State], _ kind: Kind) -> Int? {
        let t = Self.now()
        let candidates = hosts.indices.filter { eligible(hosts[$0], states, kind, t) }
        guard !candidates.isEmpty else { return nil }
        return candidates.count > 1 ? candidates[Int.random(in: 0..<candidates.count)] : candidates[0]
    }

    /// Close connections idle for longer than the idle interval.
    mutating func closeIdle() {
        let t = Self.now()
        for i in hosts.indices where hosts[i].state == .active && t - hosts[i].lastUsed > idleInterval {
            close(i)
        }
    }

    /// An open connection, else a server to connect to next (nil: none left).
    func nextActive() -> Int? {
        for kind in [Kind.unix, .inet, .uri] {
            if let i = find([.active], kind) { return i }
        }
        return nil
    }

    func nextToTry() -> Int? {
        for kind in [Kind.unix, .inet, .uri] {
            if let i = find([.untried, .failed], kind) { return i }
        }
        return nil
    }

    /// The connection to host `i` works.
    mutating func up(_ i: Int, _ handle: Handle) {
        hosts[i].handle = handle
        hosts[i].state = .active
        hosts[i].lastUsed = Self.now()
    }

    /// Host `i` answered a query.
    mutating func used(_ i: Int) { hosts[i].lastUsed = Self.now() }

    /// Host `i` failed: close it and stay away for the retry interval.
    mutating func down(_ i: Int) {
        if let handle = hosts[i].handle { release(handle) }
        hosts[i].handle = nil
        hosts[i].retryAt = Self.now() + retryInterval
        hosts[i].state = .failed
    }

    /// Close host `i` without holding it against the server.
    mutating func close(_ i: Int) {
        if let handle = hosts[i].handle { release(handle) }
        hosts[i].handle = nil
        hosts[i].state = .untried
    }

    mutating func closeAll() {
        for i in hosts.indices { if let handle = hosts[i].handle { release(handle) }; hosts[i].handle = nil }
    }
}
