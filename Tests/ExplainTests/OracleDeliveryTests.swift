import Foundation
import Testing
import TestSupport
@testable import Explain

/// postexplain's rewriting and transport choice against a private, running Postfix 3.7.11: each
/// recipient goes through smtpd and cleanup (canonical_maps, then virtual_alias_maps) to qmgr, whose
/// transport_maps choice sends it to discard(8) with the next-hop as its text. The final addresses
/// (discard's to= and orig_to=) and the next-hop in the log must be the ones postexplain computes.
struct OracleDeliveryTests {
    static let files = [
        "canonical": "old@example.org new@example.org\n@legacy.example @example.net\nchain1@example.org chain2@example.org\nchain2@example.org chain3@example.org\n"
            + (0..<12).map { "n\($0)@example.org n\($0 + 1)@example.org\n" }.joined(),
        "virtual": "info@virtual.example a@example.net, b@example.net\nbob@virtual.example bob@example.net\n@catch.example catch@example.net\nself@virtual.example self@virtual.example, copy@example.net\n",
        "transport": "example.net discard:net-domain\n.sub.example.org discard:sub-parent\nspecial@example.org discard:special-user\nexample.org discard:org-domain\n",
    ]

    static let mainCF = """
        mydestination = example.com
        canonical_maps = texthash:@DIR@/canonical
        virtual_alias_domains = virtual.example
        virtual_alias_maps = texthash:@DIR@/virtual
        transport_maps = texthash:@DIR@/transport
        recipient_delimiter = +
        """

    static let recipients = [
        "old@example.org", "x@legacy.example", "info@virtual.example", "bob+tag@virtual.example", "any@catch.example",
        "special@example.org", "a@deep.sub.example.org", "plain@example.org", "z@unrouted.test", "chain1@example.org",
        "self@virtual.example", "Mixed.Case@Example.NET", "special+ext@example.org", "b@sub.example.org",
        // A canonical chain longer than cleanup's 10 rounds: accepted with the address reached.
        "n0@example.org",
    ]

    /// postexplain's answer: (final address, next-hop) for each address a recipient ends up as.
    func predicted(_ explainer: Explainer, _ recipient: String) throws -> [String] {
        let canonical = try explainer.lookup(role: .canonicalMaps, subject: Array(recipient.utf8), table: nil)
        let rewritten = canonical.value.map { String(decoding: $0, as: UTF8.self) } ?? recipient
        let virtual = try explainer.lookup(role: .virtualAliasMaps, subject: Array(rewritten.utf8), table: nil)
        let finals = virtual.value.map { String(decoding: $0, as: UTF8.self).components(separatedBy: ", ") } ?? [rewritten]
        return try finals.map { final in
            // An address of a virtual alias domain that stays as it is resolves to the error transport.
            if final.lowercased().hasSuffix("@virtual.example") { return "\(final.lowercased()) (bounced: user unknown in virtual alias table)" }
            let transport = try explainer.lookup(role: .transportMaps, subject: Array(final.utf8), table: nil)
            let nexthop: String
            if let value = transport.value.map({ String(decoding: $0, as: UTF8.self) }), let colon = value.firstIndex(of: ":") {
                nexthop = String(value[value.index(after: colon)...])
            } else {
                nexthop = String(final[final.index(after: final.lastIndex(of: "@") ?? final.startIndex)...])
            }
            return "\(final.lowercased()) (\(nexthop.lowercased()))"
        }.sorted()
    }

    /// discard(8)'s deliveries in the log, by the sender of their message.
    func delivered(_ log: String) -> [String: [String]] {
        var senders: [String: String] = [:]
        var out: [String: [String]] = [:]
        for line in log.split(separator: "\n") {
            let fields = line.split(separator: " ")
            guard fields.count > 6 else { continue }
            let id = String(fields[5].dropLast())
            if line.contains("postfix/qmgr["), let from = line.range(of: "from=<") {
                senders[id] = String(line[from.upperBound...].prefix(while: { $0 != ">" }))
            }
            if line.contains("postfix/discard["), let to = line.range(of: " to=<"), let status = line.range(of: "status=sent (") {
                let final = String(line[to.upperBound...].prefix(while: { $0 != ">" }))
                let nexthop = String(line[status.upperBound...].prefix(while: { $0 != ")" }))
                out[senders[id] ?? "?", default: []].append("\(final.lowercased()) (\(nexthop.lowercased()))")
            }
            if line.contains("postfix/error["), let to = line.range(of: " to=<"), let status = line.range(of: "status=bounced (") {
                let final = String(line[to.upperBound...].prefix(while: { $0 != ">" }))
                let text = String(line[status.upperBound...].prefix(while: { $0 != ")" }))
                out[senders[id] ?? "?", default: []].append("\(final.lowercased()) (bounced: \(text.lowercased()))")
            }
        }
        return out.mapValues { $0.sorted() }
    }

    @Test func rewritingAndTransportsAgreeWithPostfix() throws {
        guard Oracle.check(PrivatePostfix.available, "a private Postfix (/usr/sbin/postfix, run as root)") else { return }
        let pf = try PrivatePostfix(mainCF: Self.mainCF, services: [(name: "smtp", options: [])], files: Self.files)
        defer { pf.stop() }
        try pf.start()
        for (i, recipient) in Self.recipients.enumerated() {
            let reply = try pf.send(service: "smtp", sender: "case\(i)@client.example", recipient: recipient, message: "Subject: case \(i)\n\nbody\n")
            #expect(reply.hasPrefix("250 2.0.0 Ok: queued"), "\(recipient): \(reply)")
        }
        let explainer = Explainer(context: try ExplainContext.load(directory: pf.path, service: nil, overrides: []))
        var expected: [String: [String]] = [:]
        for (i, recipient) in Self.recipients.enumerated() { expected["case\(i)@client.example"] = try predicted(explainer, recipient) }
        // qmgr delivers in its own time: wait until every expected delivery is logged, at most 20 s.
        var got: [String: [String]] = [:]
        let deadline = Date().addingTimeInterval(20)
        repeat {
            usleep(250_000)
            got = delivered(pf.log())
        } while got.values.map(\.count).reduce(0, +) < expected.values.map(\.count).reduce(0, +) && Date() < deadline
        for (i, recipient) in Self.recipients.enumerated() {
            let sender = "case\(i)@client.example"
            #expect(got[sender] == expected[sender], "\(recipient)")
        }
    }
}
