import PostfixText
import Testing

@Suite struct PostfixReleaseTests {
    @Test(arguments: [("3.7", PostfixRelease.v3_7), ("3.7.11", .v3_7), ("3.7.11-0+deb12u1", .v3_7),
                      ("3.10", .v3_10), ("3.10.13", .v3_10), ("3.10.13-0+deb13u1", .v3_10), ("3.8.6", .v3_7),
                      ("3.11.0", .v3_10)])
    func versions(text: String, release: PostfixRelease) {
        #expect(PostfixRelease(version: text) == release)
    }

    @Test(arguments: ["", "3", "2.11.3", "4.0", "x3.7", ".7", "3.", "99999999999.1"])
    func notVersions(text: String) {
        #expect(PostfixRelease(version: text) == nil)
    }

    @Test func dpkgStatus() {
        let status = """
            Package: postfix-lmdb
            Status: install ok installed
            Version: 3.7.11-0+deb12u1

            Package: postfix
            Status: install ok installed
            Priority: optional
            Version: 3.10.13-0+deb13u1
            Description: x

            Package: zsh
            Version: 5.9
            """
        #expect(PostfixRelease.packageVersion(named: "postfix", inStatus: Array(status.utf8)) == "3.10.13-0+deb13u1")
        let removed = "Package: postfix\nStatus: deinstall ok config-files\nVersion: 3.7.11-0+deb12u1\n"
        #expect(PostfixRelease.packageVersion(named: "postfix", inStatus: Array(removed.utf8)) == nil)
        let last = "Package: postfix\nVersion: 3.7.11\nStatus: install ok installed"
        #expect(PostfixRelease.packageVersion(named: "postfix", inStatus: Array(last.utf8)) == "3.7.11")
    }

    @Test func osRelease() {
        #expect(PostfixRelease.debianMajorRelease(osRelease: "PRETTY_NAME=\"Debian GNU/Linux 13 (trixie)\"\nVERSION_ID=\"13\"\nID=debian\n") == 13)
        #expect(PostfixRelease.debianMajorRelease(osRelease: "ID=debian\nVERSION_ID=\"12\"\n") == 12)
        #expect(PostfixRelease.debianMajorRelease(osRelease: "ID=ubuntu\nVERSION_ID=\"24.04\"\n") == nil)
    }

    @Test func order() {
        #expect(PostfixRelease.v3_10.isAtLeast(.v3_7) && !PostfixRelease.v3_7.isAtLeast(.v3_10))
        #expect(PostfixRelease.v3_10.mailVersion == "3.10.13" && PostfixRelease.v3_7.mailVersion == "3.7.11")
    }
}
