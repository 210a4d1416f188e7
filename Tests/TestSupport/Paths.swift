import Foundation

/// Where the programs under test and the oracle's programs are.
public enum Paths {
    /// The package root, found from this file's location (Tests/TestSupport/Paths.swift).
    public static let root: URL = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    /// A file under the package root (`testdata/ldap`, …).
    public static func inRoot(_ relative: String) -> String { root.appendingPathComponent(relative).path }
    /// Our built tools (`swift build` puts them in .build/debug; `MAPS_BIN_DIR` overrides).
    public static func ours(_ tool: String) -> String {
        if let dir = ProcessInfo.processInfo.environment["MAPS_BIN_DIR"] { return "\(dir)/\(tool)" }
        return root.appendingPathComponent(".build/debug/\(tool)").path
    }
    /// Debian's Postfix tools, the compatibility oracle. Run them only with `-c` and a directory of the
    /// test's own, never on the machine's /etc/postfix.
    public static func postfix(_ tool: String) -> String { "/usr/sbin/\(tool)" }
    public static func executable(_ path: String) -> Bool { FileManager.default.isExecutableFile(atPath: path) }
    public static func exists(_ path: String) -> Bool { FileManager.default.fileExists(atPath: path) }
    public static var oracleAvailable: Bool { executable("/usr/sbin/postmap") && executable("/usr/sbin/postalias") }
    public static var lmdbOracleAvailable: Bool { oracleAvailable && exists("/usr/lib/postfix/postfix-lmdb.so") }
    public static var pcreOracleAvailable: Bool { oracleAvailable && exists("/usr/lib/postfix/postfix-pcre.so") }
    public static var cdbOracleAvailable: Bool { oracleAvailable && exists("/usr/lib/postfix/postfix-cdb.so") }
    public static var postconfOracleAvailable: Bool { executable("/usr/sbin/postconf") }
}

/// A program the tests need is not installed.
public struct MissingProgram: Error, CustomStringConvertible {
    public let path: String
    public init(path: String) { self.path = path }
    public var description: String { "\(path) is not installed (scripts/ensure-deps test installs the oracle and test tools)" }
}

/// A helper process (a daemon, a set-up step) failed.
public struct TestSupportError: Error, CustomStringConvertible {
    public let description: String
    public init(_ text: String) { description = text }
}
