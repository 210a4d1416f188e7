import Foundation
import Testing
import TestSupport
@testable import Explain

/// postexplain's alias expansion against local(8) of a private, running Postfix 3.7.11: each alias
/// is sent to through smtpd; local(8) expands it (aliases, :include: files, loops between them, a
/// special file) and forwards what is not local to discard(8), or bounces. The forwarded addresses and
/// the bounces in the log must be the ones postexplain's tree shows.
struct OracleAliasTests {
    static let files = [
        "aliases": """
            team carol@example.net, :include:@DIR@/team.list
            list :include:@DIR@/a.list
            self :include:@DIR@/self.list
            zero :include:/dev/zero
            relative :include:team.list
            missing :include:@DIR@/no-such.list
            nested team, frank@example.net
            twice :include:@DIR@/team.list, :include:@DIR@/team.list, gina@example.net

            """,
        "team.list": "# the team\ndave@example.net\nerin@example.net, frank@example.net\n",
        "a.list": "alpha@example.net\n:include:@DIR@/b.list\n",
        "b.list": "beta@example.net, :include:@DIR@/a.list\n",
        "self.list": ":include:@DIR@/self.list\nselfie@example.net\n",
    ]

    static let mainCF = """
        mydestination = example.com
        local_transport = local
        alias_maps = texthash:@DIR@/aliases
        mailbox_transport = discard:mailbox
        allow_mail_to_commands =
        allow_mail_to_files =
        luser_relay =
        """

    static let aliases = ["team", "list", "self", "zero", "relative", "missing", "nested", "twice"]

    /// postexplain's answer: the addresses forwarded, or "bounced" when expansion stops on an error.
    func predicted(_ explainer: Explainer, _ alias: String) throws -> [String] {
        let e = try explainer.lookup(role: .aliasMaps, subject: Array(alias.utf8), table: nil)
        if e.verdict == .configurationError { return ["bounced"] }
        var out = Set<String>()
        func walk(_ node: ExplainNode) {
            if node.kind == .address, node.children.contains(where: { $0.text == "not a local address: forwarded as is" }), let key = node.key {
                out.insert(String(decoding: key, as: UTF8.self))
            }
            node.children.forEach(walk)
        }
        e.nodes.forEach(walk)
        return out.sorted()
    }

    /// What happened to each original recipient: discard's deliveries of forwarded mail (orig_to), or
    /// local(8)'s bounce.
    func observed(_ log: String) -> [String: [String]] {
        var out: [String: Set<String>] = [:]
        for line in log.split(separator: "\n") {
            guard let to = line.range(of: " to=<") else { continue }
            let address = String(line[to.upperBound...].prefix(while: { $0 != ">" }))
            var original = address
            if let orig = line.range(of: "orig_to=<") { original = String(line[orig.upperBound...].prefix(while: { $0 != ">" })) }
            let alias = String(original.prefix(while: { $0 != "@" }))
            if line.contains("postfix/discard["), line.contains("status=sent") { out[alias, default: []].insert(address) }
            if line.contains("postfix/local["), line.contains("status=bounced") { out[alias, default: []].insert("bounced") }
        }
        return out.mapValues { $0.sorted() }
    }

    @Test func aliasExpansionAgreesWithLocal() throws {
        guard Oracle.check(PrivatePostfix.available, "a private Postfix (/usr/sbin/postfix, run as root)") else { return }
        let local = "local unix - n n - - local\n"
        let pf = try PrivatePostfix(mainCF: Self.mainCF, services: [(name: "smtp", options: [])], files: Self.files, masterCF: local)
        defer { pf.stop() }
        try pf.start()
        for alias in Self.aliases {
            let reply = try pf.send(service: "smtp", sender: "sender@client.example", recipient: "\(alias)@example.com", message: "Subject: \(alias)\n\nbody\n")
            #expect(reply.hasPrefix("250 2.0.0 Ok: queued"), "\(alias): \(reply)")
        }
        let explainer = Explainer(context: try ExplainContext.load(directory: pf.path, service: nil, overrides: []))
        var expected: [String: [String]] = [:]
        for alias in Self.aliases { expected[alias] = try predicted(explainer, alias) }
        var got: [String: [String]] = [:]
        let deadline = Date().addingTimeInterval(30)
        repeat {
            usleep(250_000)
            got = observed(pf.log())
        } while Self.aliases.contains(where: { got[$0]?.count != expected[$0]?.count }) && Date() < deadline
        if ProcessInfo.processInfo.environment["ORACLE_DEBUG"] != nil { print("observed: \(got)\npredicted: \(expected)") }
        for alias in Self.aliases {
            #expect(got[alias] == expected[alias], "\(alias)")
        }
    }
}
