import Foundation
import Testing

/// Which Debian Postfix is the oracle: Debian 12's 3.7.11 on this machine, or Debian 13's 3.10.13 in a
/// trixie root (`scripts/trixie-root` makes it inside the build folder; `TRIXIE_ROOT` names another).
/// Ours runs on the host in both cases, with `MAPS_POSTFIX_RELEASE` set to the oracle's release, so it
/// follows the Postfix it is compared with.
public enum OracleRelease: String, Sendable, CaseIterable, CustomTestStringConvertible {
    case v3_7 = "3.7"
    case v3_10 = "3.10"

    public var testDescription: String { "Postfix \(rawValue)" }

    /// What ours runs with: the release it must follow.
    public var environment: [String: String] { ["MAPS_POSTFIX_RELEASE": rawValue] }

    /// The root the oracle's programs run in ("/" for the host's).
    public var root: String { self == .v3_7 ? "/" : Paths.trixieRoot }

    /// Whether this oracle's Postfix is installed (for 3.10: the trixie root exists with postfix in it).
    public var installed: Bool {
        self == .v3_7 ? Paths.oracleAvailable : Paths.executable(Paths.trixieRoot + "/usr/sbin/postmap")
    }

    /// In a test body: whether this oracle is there (missing and required: an issue is recorded).
    public func check(sourceLocation: SourceLocation = #_sourceLocation) -> Bool {
        Oracle.check(installed, self == .v3_7 ? "Debian's postfix" : "the Debian 13 root at \(Paths.trixieRoot) (scripts/trixie-root makes it)",
                     sourceLocation: sourceLocation)
    }

    /// Whether a module (`lmdb`, `pcre`, `cdb`, `ldap`, `sqlite`, `pgsql`, `mysql`) is installed for it.
    public func hasModule(_ name: String) -> Bool {
        Paths.exists((self == .v3_7 ? "" : Paths.trixieRoot) + "/usr/lib/postfix/postfix-\(name).so")
    }

    /// A fresh temporary directory that the oracle sees at the same absolute path as the host does not
    /// (for 3.10 it lies under the root's /tmp); run the oracle in it with relative arguments.
    public func tempDir(_ label: String = "postfix") -> TempDir {
        self == .v3_7 ? TempDir(label) : TempDir(label, in: URL(fileURLWithPath: Paths.trixieRoot + "/tmp"))
    }

    /// A host path as the oracle sees it (for 3.10: without the root's prefix).
    public func inside(_ path: String) -> String {
        guard self == .v3_10 else { return path }
        let root = Paths.trixieRoot
        if path == root { return "/" }
        if path.hasPrefix(root + "/") { return String(path.dropFirst(root.count)) }
        return path
    }

    /// The command line that runs the oracle's `tool` (postmap, postalias, postconf, …) in `directory`.
    public func command(_ tool: String, _ arguments: [String], in directory: URL) -> (executable: String, arguments: [String]) {
        let program = tool.hasPrefix("/") ? tool : "/usr/sbin/\(tool)"
        if self == .v3_7 { return (program, arguments) }
        // The host's LD_PRELOAD (make test's fast-fatal shim) names a host path that the root's loader
        // cannot open ("cannot be preloaded" on stderr): drop it before chroot, and preload the root's
        // copy of the shim instead when make test put one in the root's /tmp.
        var inner = ["/usr/bin/env", "-C", inside(directory.path)]
        if let preload = ProcessInfo.processInfo.environment["LD_PRELOAD"], !preload.isEmpty,
           preload.contains("fast-fatal"), Paths.exists(Paths.trixieRoot + Self.rootShim) {
            inner.append("LD_PRELOAD=" + Self.rootShim)
        }
        return ("/usr/bin/env", ["-u", "LD_PRELOAD", "/usr/sbin/chroot", Paths.trixieRoot] + inner + [program] + arguments)
    }

    /// Where make test copies its fast-fatal shim inside the trixie root (scripts/run-tests).
    public static let rootShim = "/tmp/postfix-maps-fast-fatal.so"

    /// Run the oracle's `tool` in `directory` (its cwd), awaiting nothing.
    public func run(_ tool: String, _ arguments: [String], in directory: URL, stdin: [UInt8]? = nil,
                    environment: [String: String] = [:], timeout: TimeInterval = 120) throws -> Outcome {
        let (exe, args) = command(tool, arguments, in: directory)
        return try TestSupport.run(exe, args, in: directory, stdin: stdin, environment: environment, timeout: timeout)
    }

    /// `run`, awaited: no thread is held while it runs.
    public func runAsync(_ tool: String, _ arguments: [String], in directory: URL, stdin: [UInt8]? = nil,
                         environment: [String: String] = [:], timeout: TimeInterval = 120) async throws -> Outcome {
        let (exe, args) = command(tool, arguments, in: directory)
        return try await TestSupport.runAsync(exe, args, in: directory, stdin: stdin, environment: environment, timeout: timeout)
    }

    /// The releases whose oracle is installed, for `@Test(arguments:)`; with `REQUIRE_ORACLE=1` all of
    /// them (a missing one then fails instead of being skipped).
    public static var available: [OracleRelease] { allCases.filter { $0.installed || Oracle.required } }
}

extension Paths {
    /// The Debian 13 root holding Postfix 3.10.13: `TRIXIE_ROOT`, else `.build/trixie-root` in the package.
    public static var trixieRoot: String {
        if let dir = ProcessInfo.processInfo.environment["TRIXIE_ROOT"], !dir.isEmpty { return dir }
        return root.appendingPathComponent(".build/trixie-root").path
    }
}
