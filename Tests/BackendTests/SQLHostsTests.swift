import Testing
@testable import MapsRemoteSQL

/// Postfix's rules for choosing among the servers of a pgsql or mysql table (`SQLHosts`).
@Suite struct SQLHostsTests {
    typealias Hosts = SQLHosts<Int>

    /// The handles a host list closed.
    final class Released {
        var handles: [Int] = []
    }

    static func hosts(_ kinds: [Hosts.Kind], idle: Int = 60, released: Released = Released()) -> Hosts {
        Hosts(kinds.enumerated().map { ("host\($0.offset)", $0.element) }, idleInterval: idle,
              release: { released.handles.append($0) })
    }

    @Test("sockets are tried before TCP hosts, TCP hosts before URIs")
    func order() {
        var h = Self.hosts([.uri, .inet, .unix])
        #expect(h.nextActive() == nil)
        #expect(h.nextToTry() == 2)
        h.down(2)
        #expect(h.nextToTry() == 1)
        h.down(1)
        #expect(h.nextToTry() == 0)
        h.down(0)
        #expect(h.nextToTry() == nil, "failed hosts wait for their retry time")
    }

    @Test("an open connection is used first; a failed one is closed and held off")
    func active() {
        let released = Released()
        var h = Self.hosts([.unix, .inet], released: released)
        h.up(1, 42)
        #expect(h.nextActive() == 1)
        h.down(1)
        #expect(released.handles == [42])
        #expect(h.nextActive() == nil)
        #expect(h.nextToTry() == 0)
        #expect(h.hosts[1].state == .failed && h.hosts[1].retryAt > 0)
    }

    @Test("equal candidates are chosen at random, as Postfix does")
    func random() {
        var seen: Set<Int> = []
        for _ in 0..<200 {
            let h = Self.hosts([.inet, .inet, .inet])
            if let i = h.nextToTry() { seen.insert(i) }
        }
        #expect(seen == [0, 1, 2])
    }

    @Test("an idle connection is closed, not held against the server")
    func idle() {
        let released = Released()
        var h = Self.hosts([.inet], idle: -1, released: released)
        h.up(0, 7)
        h.closeIdle()
        #expect(released.handles == [7])
        #expect(h.hosts[0].state == .untried)
        #expect(h.nextToTry() == 0)
    }
}
