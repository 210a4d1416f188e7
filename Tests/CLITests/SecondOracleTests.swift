import Foundation
import TestSupport
import Testing

/// The two oracles run side by side: Debian 12's Postfix 3.7.11 on the host and Debian 13's 3.10.13 in the
/// trixie root, each beside ours following the same release.
@Suite struct SecondOracleTests {
    @Test(arguments: OracleRelease.available)
    func sameAnswersOnBothReleases(release: OracleRelease) throws {
        guard release.check() else { return }
        let twin = Twin(files: ["t": Array("alice\tone\nbob two\n# c\n".utf8)], release: release)
        try twin.same("postmap", ["-q", "alice", "texthash:t"])
        // An in-memory table lists in a per-process random order (hash_fnv's seed): compare sorted.
        try twin.same("postmap", ["-s", "texthash:t"], normalize: ReleaseBehaviourTests.sortedLines)
        try twin.same("postmap", ["-q", "carol", "texthash:t"])
        try twin.same("postmap", ["-q", "k", "inline:{k=v}"])
    }

    @Test func theOracleIsTheReleaseItClaims() throws {
        for release in OracleRelease.available {
            guard release.check() else { continue }
            let dir = release.tempDir()
            let out = try Oracle.run("postconf", ["-dh", "mail_version"], config: dir, release: release)
            #expect(out.out.hasPrefix(release.rawValue + "."), "\(release): \(out)")
        }
    }
}
