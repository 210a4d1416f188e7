import Foundation
import Testing
import TestSupport
@testable import Explain

/// Every key explain tries goes through Debian's `postmap -q` on the same hash table, in order: the
/// first key postmap finds must be the key explain reports as found, with the same value.
@Suite(.enabled(if: Paths.oracle))
struct OracleOrderTests {
    let base = "compatibility_level = 3.6\nmyorigin = example.com\nmydestination = example.com, localhost\ninet_interfaces = loopback-only\ninet_protocols = ipv4\nrecipient_delimiter = +\n"

    /// Explain `role` for `key` over `entries`, then replay its keys through postmap.
    func check(_ role: Explainer.Role, _ key: String, entries: [String], parent: Bool,
               expectKeys: [String]? = nil, expectFound: String?) throws {
        let pdms = parent ? "parent_domain_matches_subdomains = smtpd_access_maps, transport_maps\n" : "parent_domain_matches_subdomains =\n"
        let config = try TempConfig(mainCF: base + pdms, files: ["table": entries.joined(separator: "\n") + "\n"])
        try config.postmapBuild("table")
        let table = "hash:\(config.path)/table"
        let explainer = try config.explainer()
        let e = try explainer.lookup(role: role, subject: Array(key.utf8), table: table)
        let keys = e.keys
        if let expectKeys { #expect(keys.map(\.key) == expectKeys, "\(role.rawValue) \(key) parent=\(parent)") }
        let ours = keys.first(where: \.found)?.key
        #expect(ours == expectFound, "\(role.rawValue) \(key) parent=\(parent)")
        var theirs: (String, String)?
        for k in keys.map(\.key) {
            if let v = try config.postmapQuery(Array(k.utf8), table) { theirs = (k, v); break }
        }
        #expect(theirs?.0 == ours, "postmap's first hit differs for \(role.rawValue) \(key): \(String(describing: theirs))")
        if let theirs { #expect(Array(theirs.1.utf8) == e.value || role.isAccess == false, "value differs") }
    }

    @Test("a client with a name and an IPv4 address", arguments: [false, true])
    func clientIPv4(parent: Bool) throws {
        let order = parent ? ["mail.sub.example.com", "sub.example.com", "example.com", "com", "192.0.2.10", "192.0.2", "192.0", "192"]
                           : ["mail.sub.example.com", ".sub.example.com", ".example.com", ".com", "192.0.2.10", "192.0.2", "192.0", "192"]
        try check(.checkClientAccess, "mail.sub.example.com[192.0.2.10]", entries: ["192.0 REJECT"], parent: parent,
                  expectKeys: Array(order.prefix(7)), expectFound: "192.0")
        try check(.checkClientAccess, "mail.sub.example.com[192.0.2.10]", entries: ["example.com OK", ".example.com REJECT"], parent: parent,
                  expectFound: parent ? "example.com" : ".example.com")
    }

    @Test("a client with an IPv6 address", arguments: [false, true])
    func clientIPv6(parent: Bool) throws {
        try check(.checkClientAccess, "[2001:db8:1:2::5]", entries: ["2001:db8:1 REJECT"], parent: parent,
                  expectKeys: ["unknown", "2001:db8:1:2::5", "2001:db8:1:2:", "2001:db8:1:2", "2001:db8:1"], expectFound: "2001:db8:1")
    }

    @Test("a sender with an extension", arguments: [false, true])
    func senderExtension(parent: Bool) throws {
        let domainKeys = parent ? ["sub.example.org", "example.org", "org"] : ["sub.example.org", ".example.org", ".org"]
        try check(.checkSenderAccess, "user+tag@sub.example.org", entries: ["user@ OK"], parent: parent,
                  expectKeys: ["user+tag@sub.example.org", "user@sub.example.org"] + domainKeys + ["user+tag@", "user@"], expectFound: "user@")
        try check(.checkSenderAccess, "user+tag@sub.example.org", entries: ["user@sub.example.org OK", "example.org REJECT"], parent: parent,
                  expectFound: "user@sub.example.org")
    }

    @Test("a recipient in a subdomain", arguments: [false, true])
    func recipientSubdomain(parent: Bool) throws {
        try check(.checkRecipientAccess, "bob@a.b.example.net", entries: ["example.net REJECT", ".example.net DUNNO"], parent: parent,
                  expectFound: parent ? "example.net" : ".example.net")
    }

    @Test("a helo name", arguments: [false, true])
    func heloName(parent: Bool) throws {
        try check(.checkHeloAccess, "host.Example.COM", entries: ["example.com REJECT", ".example.com OK"], parent: parent,
                  expectKeys: ["host.example.com", parent ? "example.com" : ".example.com"], expectFound: parent ? "example.com" : ".example.com")
        // A numeric HELO name is looked up only as is.
        try check(.checkHeloAccess, "192.0.2.1", entries: ["192.0.2 REJECT"], parent: parent, expectKeys: ["192.0.2.1"], expectFound: nil)
    }

    @Test("address roles", arguments: [Explainer.Role.virtualAliasMaps, .virtualMailboxMaps, .relayRecipientMaps, .relocatedMaps,
                                        .canonicalMaps, .senderDependentRelayhostMaps])
    func addressRoles(role: Explainer.Role) throws {
        try check(role, "user+x@remote.example", entries: ["@remote.example target@else.example"], parent: false,
                  expectKeys: role == .virtualAliasMaps || role == .canonicalMaps ? nil : ["user+x@remote.example", "user@remote.example", "@remote.example"],
                  expectFound: "@remote.example")
        try check(role, "joe+x@example.com", entries: ["joe target@else.example"], parent: false, expectFound: "joe")
    }

    @Test("transport_maps with .domain and *", arguments: [false, true])
    func transport(parent: Bool) throws {
        try check(.transportMaps, "u@a.example.net", entries: ["example.net smtp:one", ".example.net smtp:two"], parent: parent,
                  expectFound: parent ? "example.net" : ".example.net")
        try check(.transportMaps, "u@other.example", entries: ["* smtp:wild"], parent: parent,
                  expectKeys: ["u@other.example", "other.example", parent ? "example" : ".example", "*"], expectFound: "*")
    }
}
