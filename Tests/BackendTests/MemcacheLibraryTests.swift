import Foundation
import Testing
import TestSupport
import Maps
import MapsLMDB
import MapsMemcache

/// Updates through the library. Postfix's postmap cannot reach `dict_memcache_update` (`-i` needs a
/// bulk-mode creator, which memcache lacks), so these follow its code: the cache first, then the
/// backup table, whose result is the result; a key that cannot be a memcache key is skipped with a
/// warning; a value over `data_size_limit` is not cached, but still reaches the backup.
@Suite(.serialized, .enabled(if: Oracle.enabled(Memcached.available), "needs memcached"))
struct MemcacheLibraryTests {
    final class Warnings: @unchecked Sendable {
        // Proof: `texts` is only touched under `lock`.
        private let lock = NSLock()
        private var texts: [String] = []
        func add(_ text: String) { lock.withLock { texts.append(text) } }
        var all: [String] { lock.withLock { texts } }
    }

    static let registry = MapRegistry([LMDBMaps.lmdb, MemcacheMaps.memcache])

    static func open(_ name: String, mode: AccessMode, warnings: Warnings) throws -> any LookupTable {
        let diagnostics = Diagnostics(warning: { warnings.add($0) })
        return try registry.open(MapSpec(type: "memcache", name: name),
                                 OpenRequest(mode: mode, flags: DictFlags.commandLineDefault.union(.lock),
                                             diagnostics: diagnostics))
    }

    @Test("update and delete: the cache, then the backup")
    func updateWithBackup() throws {
        let server = try Memcached()
        try server.reset()
        let dir = TempDir("mclib")
        dir.write("backup", "old value\n")
        // The backup, built with the library's lmdb builder (as `postmap lmdb:backup` builds it).
        try build("lmdb", dir.file("backup"), [("old", "value")])
        let cf = dir.file("mc.cf")
        dir.write("mc.cf", "memcache = \(server.service)\nbackup = lmdb:\(dir.file("backup"))\nflags = 3\ndata_size_limit = 10\n")
        let warnings = Warnings()
        let table = try Self.open(cf, mode: .readWrite, warnings: warnings)
        _ = try table.update(Array("New".utf8), Array("value".utf8))
        #expect(try server.dump([Array("new".utf8)]) == "VALUE new 3 5\r\nvalue\r\nEND\r\n")
        _ = try table.update(Array("a b".utf8), Array("x".utf8))
        _ = try table.update(Array("big".utf8), Array("0123456789abc".utf8))
        #expect(try server.dump([Array("big".utf8)]) == "END\r\n")
        #expect(warnings.all == [
            "\(cf): skipping update for name \"a b\": name contains space",
            "database memcache:\(cf): data for key big is too long (data_size_limit=10) -- not stored",
        ])
        #expect(try table.delete(Array("new".utf8)))
        #expect(try server.dump([Array("new".utf8)]) == "END\r\n")
        // Only in the cache: the backup's "not found" is the answer, and the cache entry is gone too.
        try server.send("set cached 0 0 1\r\nx\r\n", until: "\r\n")
        #expect(try !table.delete(Array("cached".utf8)))
        #expect(try server.dump([Array("cached".utf8)]) == "END\r\n")
        // A traced lookup shows the memcache key, and the backup's own trace when the backup answered.
        try server.reset()
        let first = try table.lookupTraced(Array("OLD".utf8))
        #expect(first.value == Array("value".utf8))
        #expect(first.detail.keys == [Array("old".utf8)] && first.detail.members.count == 1)
        #expect(first.detail.notes.contains("memcache: stored in the cache"))
        let second = try table.lookupTraced(Array("old".utf8))
        #expect(second.value == Array("value".utf8) && second.detail.members.isEmpty)
        #expect(second.detail.notes == ["memcache: in the cache"])
        table.close()
        // What the backup holds (as `postmap -s lmdb:backup` lists it).
        var listed: [String] = []
        let backup = try BackendTests.open("lmdb", dir.file("backup"))
        try backup.forEach { key, value in
            listed.append(String(decoding: key, as: UTF8.self) + "\t" + String(decoding: value, as: UTF8.self))
        }
        backup.close()
        #expect(listed.sorted() == ["big\t0123456789abc", "old\tvalue"])
    }

    @Test("without a backup, a failed update is a temporary error")
    func updateFailure() throws {
        let server = try Memcached()
        let dir = TempDir("mclib")
        dir.write("mc.cf", "memcache = \(server.service)\nretry_pause = 1\n")
        let warnings = Warnings()
        let table = try Self.open(dir.file("mc.cf"), mode: .readWrite, warnings: warnings)
        _ = try table.update(Array("k".utf8), Array("v".utf8))
        #expect(try table.lookup(Array("k".utf8)) == Array("v".utf8))
        server.stop()
        #expect(throws: MapError.self) { _ = try table.update(Array("k".utf8), Array("w".utf8)) }
        #expect(throws: MapError.self) { _ = try table.lookup(Array("k".utf8)) }
        #expect(warnings.all.contains { $0.hasPrefix("connect to 127.0.0.1:") })
        table.close()
        let readOnly = try Self.open(dir.file("mc.cf"), mode: .readOnly, warnings: warnings)
        // Opened read-only, as Postfix: no update method at all.
        let refused = #expect(throws: MapError.self) { _ = try readOnly.update(Array("k".utf8), Array("v".utf8)) }
        #expect(refused?.code == .notSupported)
        #expect(refused?.message == "table memcache:\(dir.file("mc.cf")): update operation is not supported")
    }
}
