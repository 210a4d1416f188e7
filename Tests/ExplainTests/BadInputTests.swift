import Foundation
import Testing
import TestSupport

/// Bad input gets a message and a defined exit status from the binary, never a crash.
struct BadInputTests {
    let dir = Paths.root.appendingPathComponent("testdata/explain").path

    @Test(arguments: [
        (["lookup", "virtual_alias_mapz", "a@b.example"], Int32(2), "unknown parameter name or role: virtual_alias_mapz"),
        (["lookup", "-o", "mydestinaton=x", "virtual_alias_maps", "a@b.example"], 2, "unknown parameter name: mydestinaton (did you mean mydestination?)"),
        (["lookup", "virtual_alias_maps", "no-domain"], 2, "malformed address no-domain: no @domain"),
        (["lookup", "virtual_alias_maps", "a@[2001:db8::1]"], 2, "must be written [IPv6:2001:db8::1]"),
        (["lookup", "virtual_alias_maps", "jürgen@example.com", "-o", "smtputf8_enable=no"], 2, "8-bit address"),
        (["lookup", "virtual_alias_maps", "a@b.example", "--table", "hash:/nonexistent/table"], 75, "open database /nonexistent/table.db"),
        (["lookup", "transport_maps", "a@b.example", "--table", "nosuchtype:/x"], 4, "unsupported dictionary type: nosuchtype"),
        (["restrictions", "--client", "not-an-address"], 2, "malformed client address"),
        (["lookup", "check_client_access", "x[192.0.2.1]"], 2, "needs --table"),
    ] as [([String], Int32, String)])
    func badInput(arguments: [String], status: Int32, message: String) throws {
        let r = try run(Paths.postexplain, [arguments[0], "-c", dir] + arguments.dropFirst())
        #expect(r.status == status, "\(arguments): \(r.stderr)\(r.out)")
        #expect((r.stderr + r.out).contains(message), "\(arguments): \(r.stderr)\(r.out)")
        #expect(!r.stderr.contains("Fatal error"))
    }

    @Test func ipv6LiteralIsAccepted() throws {
        let r = try run(Paths.postexplain, ["lookup", "-c", dir, "relocated_maps", "a@[IPv6:2001:db8::1]", "--json"])
        #expect(r.status == 1)
        #expect(r.out.hasPrefix("{\"subject\": "))
    }
}
