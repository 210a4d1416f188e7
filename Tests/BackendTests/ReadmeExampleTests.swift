import Foundation
import Maps
import MapsBerkeleyDB
import MapsLMDB
import Testing

/// The library example in the README, kept compiling and working.
@Test(.temporaryDirectory) func readmeLibraryExample() throws {
    let name = tempName()
    try build("lmdb", name, [("user@example.com", "mailbox@store.example.net")])
    let registry = MapRegistry([BerkeleyDBMaps.hash, BerkeleyDBMaps.btree, LMDBMaps.lmdb])
    let table = try registry.open(MapSpec(parsing: "lmdb:\(name)", defaultType: "hash"),
                                  OpenRequest(flags: DictFlags.commandLineDefault.union(.lock)))
    var printed: [String] = []
    func print(_ items: String...) { printed.append(items.joined(separator: " ")) }
    do {
        if let value = try table.lookup(Array("user@example.com".utf8)) {
            print(String(decoding: value, as: UTF8.self))
        } else {
            print("not found")
        }
    } catch {  // a MapError: typed throws
        print(error.code == .temporary ? "try again later:" : "bad table:", error.message)
    }
    #expect(printed == ["mailbox@store.example.net"])
}
