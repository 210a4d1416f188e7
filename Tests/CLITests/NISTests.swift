import Foundation
import Testing
import TestSupport

/// `nis:` against Debian's postmap, whose build has NIS: with no NIS domain (this machine), and with a
/// domain set in a private UTS namespace but no ypbind to answer.
@Suite(.enabled(if: Oracle.enabled(Paths.oracleAvailable), "needs Debian's postfix package"))
struct NISTests {
    @Test("no NIS domain: one warning per process, every lookup not found, Postfix's refusals")
    func noDomain() throws {
        guard Oracle.postmap(for: "hash") else { return }
        // Only meaningful where the machine has no NIS domain, as Postfix's default alias_maps assumes.
        let domain = try run("/bin/domainname", [], in: URL(fileURLWithPath: "/"))
        guard domain.out == "(none)\n" || domain.out == "\n" else { return }
        let twin = Twin(files: ["src": Array("a b\n".utf8)])
        try twin.same("postmap", ["-q", "root", "nis:mail.aliases"])
        try twin.same("postmap", ["-q", "root", "nis:mail.aliases", "nis:other", "inline:{root=found}"])
        try twin.same("postmap", ["-q", "-", "nis:mail.aliases", "nis:x"], stdin: Array("root\nRoot\n".utf8))
        try twin.same("postmap", ["-s", "nis:mail.aliases"])
        try twin.same("postmap", ["-d", "root", "nis:mail.aliases"])
        try twin.same("postmap", ["-i", "nis:src"], stdin: Array("x y\n".utf8))
        try twin.same("postmap", ["nis:src"])
        try twin.same("postalias", ["-q", "root", "nis:mail.aliases"])
        try twin.same("postalias", ["-q", "-", "hash:missing", "nis:mail.aliases"], stdin: Array("root\n".utf8))
    }

    @Test("a NIS domain without ypbind: Postfix's warning and a temporary error")
    func domainWithoutServer() throws {
        guard Oracle.postmap(for: "hash") else { return }
        // A private UTS namespace, so the domain name of the machine is not touched; skipped where
        // unshare(1) is not allowed.
        let probe = try run("/usr/bin/unshare", ["-u", "/bin/true"], in: URL(fileURLWithPath: "/"))
        guard probe.status == 0 else { return }
        let dir = TempDir("nis")
        dir.write("main.cf", "compatibility_level = 3.6\n")
        for args in [["-q", "Root", "nis:mail.aliases"], ["-q", "-", "nis:mail.aliases"], ["-fq", "Root", "nis:mail.aliases"]] {
            var outcomes: [Outcome] = []
            for exe in [Paths.ours("postmap"), Paths.postfix("postmap")] {
                let script = "domainname testdomain.invalid && exec \"$0\" -c . \"$@\""
                outcomes.append(try run("/usr/bin/unshare", ["-u", "/bin/sh", "-c", script, exe] + args, in: dir.url,
                                        stdin: Array("root\nalias\n".utf8)))
            }
            #expect(outcomes[0] == outcomes[1], "\(args)")
            #expect(outcomes[0].stderr.contains("NIS domain testdomain.invalid"))
        }
    }
}
