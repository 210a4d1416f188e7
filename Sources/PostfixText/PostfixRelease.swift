#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The Postfix release whose behaviour the tools follow: Debian 12's 3.7.11 or Debian 13's 3.10.13.
///
/// Every behaviour that differs between the two is per-release data keyed by this value (the parameter
/// table, deprecations, messages, client behaviours, the restriction table), never a scattered version
/// test. `PostfixRelease.current` is the release the tools stand beside:
///
/// 1. `MAPS_POSTFIX_RELEASE` in the environment (`3.7`, `3.10`, or a full version such as `3.10.13`),
///    the user's override;
/// 2. else the version of Debian's installed `postfix` package (`/var/lib/dpkg/status`);
/// 3. else the Debian release (`/etc/os-release`: 13 and later is 3.10, earlier is 3.7);
/// 4. else 3.7.
///
/// A version between or beyond the two known ones maps to the nearest release not newer than it
/// (3.8 and 3.9 behave as 3.7 here except where noted by the data; 3.11 as 3.10).
public enum PostfixRelease: Int, Sendable, CaseIterable, Comparable, CustomStringConvertible {
    /// Postfix 3.7.11, Debian 12 "bookworm".
    case v3_7 = 307
    /// Postfix 3.10.13, Debian 13 "trixie".
    case v3_10 = 310

    /// The environment variable that overrides detection.
    public static let environmentVariable = "MAPS_POSTFIX_RELEASE"

    /// The full version string of the release, as `postconf -d mail_version` prints it.
    public var mailVersion: String {
        switch self {
        case .v3_7: return "3.7.11"
        case .v3_10: return "3.10.13"
        }
    }

    /// `major.minor`.
    public var description: String {
        switch self {
        case .v3_7: return "3.7"
        case .v3_10: return "3.10"
        }
    }

    /// The Debian release that ships it.
    public var debianRelease: String {
        switch self {
        case .v3_7: return "Debian 12 (bookworm)"
        case .v3_10: return "Debian 13 (trixie)"
        }
    }

    public static func < (a: PostfixRelease, b: PostfixRelease) -> Bool { a.rawValue < b.rawValue }

    /// True from `release` on (`PostfixRelease.current.isAtLeast(.v3_10)`); for data tables that record
    /// the release that introduced a behaviour.
    public func isAtLeast(_ release: PostfixRelease) -> Bool { self >= release }

    /// The release for a version string: `3.10`, `3.10.13`, `3.10.13-0+deb13u1`, `3.7.11-0+deb12u1`.
    /// Nil when the text is not a Postfix 3 version.
    public init?(version text: String) {
        var numbers: [Int] = []
        var current = 0
        var digits = 0
        for byte in text.utf8 {
            if byte >= 0x30 && byte <= 0x39 {
                guard digits < 6 else { return nil }
                current = current * 10 + Int(byte - 0x30)
                digits += 1
            } else if byte == 0x2E && digits > 0 && numbers.count < 2 {
                numbers.append(current)
                current = 0
                digits = 0
            } else {
                break
            }
        }
        if digits > 0 { numbers.append(current) }
        guard numbers.count >= 2, numbers[0] == 3 else { return nil }
        self = numbers[1] >= 10 ? .v3_10 : .v3_7
    }

    /// Where the current release came from, for `--version` style reports and the documentation.
    public enum Source: String, Sendable {
        case environment = "MAPS_POSTFIX_RELEASE"
        case package = "the installed postfix package"
        case operatingSystem = "the Debian release"
        case fallback = "the default"
    }

    /// The release the tools follow in this process, found once.
    public static var current: PostfixRelease { detected.release }

    /// Where `current` came from.
    public static var currentSource: Source { detected.source }

    /// An invalid `MAPS_POSTFIX_RELEASE` value, if one was set (the tools report it as a warning and
    /// go on with detection).
    public static var invalidOverride: String? { detected.invalid }

    private static let detected: (release: PostfixRelease, source: Source, invalid: String?) = detect()

    private static func detect() -> (release: PostfixRelease, source: Source, invalid: String?) {
        var invalid: String?
        if let raw = getenv(environmentVariable) {
            let text = String(cString: raw)
            if let release = PostfixRelease(version: text) { return (release, .environment, nil) }
            if !text.isEmpty { invalid = text }
        }
        if let version = installedPackageVersion(), let release = PostfixRelease(version: version) {
            return (release, .package, invalid)
        }
        if let debian = debianMajorRelease() {
            return (debian >= 13 ? .v3_10 : .v3_7, .operatingSystem, invalid)
        }
        return (.v3_7, .fallback, invalid)
    }

    /// The `Version:` of the installed `postfix` package in dpkg's status file, if installed.
    static func installedPackageVersion(statusPath: String = "/var/lib/dpkg/status") -> String? {
        guard let bytes = readSmallFile(statusPath, limit: 64 << 20) else { return nil }
        return packageVersion(named: "postfix", inStatus: bytes)
    }

    /// The `Version:` of package `name` in a dpkg status text whose `Status:` says it is installed.
    ///
    /// Every tool start that reads a configuration asks (through `current`), and the status file holds
    /// every package of the system (about 800 KB here): lines are found with memchr(3), and only the
    /// stanzas of `name` are read field by field.
    public static func packageVersion(named name: String, inStatus bytes: [UInt8]) -> String? {
        let needle = Array("Package: \(name)".utf8)
        return bytes.withUnsafeBufferPointer { buffer -> String? in
            guard let base = buffer.baseAddress else { return nil }
            let count = buffer.count
            /// The line at `start`: its end (the newline's index, or `count`).
            func lineEnd(_ start: Int) -> Int {
                guard start < count, let nl = memchr(base + start, 0x0A, count - start) else { return count }
                return base.distance(to: nl.assumingMemoryBound(to: UInt8.self))
            }
            var start = 0
            while start < count {
                var end = lineEnd(start)
                let isStanza = end - start == needle.count && memcmp(base + start, needle, needle.count) == 0
                start = end + 1
                guard isStanza else { continue }
                // The stanza's fields, up to its blank line.
                var installed = false
                var version: String?
                while start < count {
                    end = lineEnd(start)
                    let line = buffer[start..<end]
                    start = end + 1
                    if line.isEmpty { break }
                    if line.starts(with: "Status: ".utf8) {
                        installed = String(decoding: line, as: UTF8.self).hasSuffix(" installed")
                    } else if line.starts(with: "Version: ".utf8) {
                        version = String(decoding: line.dropFirst(9), as: UTF8.self)
                    }
                }
                if installed, let version { return version }
            }
            return nil
        }
    }

    /// The major number of `VERSION_ID` in /etc/os-release when `ID=debian`.
    static func debianMajorRelease(path: String = "/etc/os-release") -> Int? {
        guard let bytes = readSmallFile(path, limit: 1 << 16) else { return nil }
        return debianMajorRelease(osRelease: String(decoding: bytes, as: UTF8.self))
    }

    /// The major number of `VERSION_ID` in an os-release text when `ID=debian`.
    public static func debianMajorRelease(osRelease text: String) -> Int? {
        var isDebian = false
        var major: Int?
        for line in text.split(separator: "\n") {
            var value = Substring(line)
            if line.hasPrefix("ID=") {
                value = value.dropFirst(3)
                isDebian = value.trimmingQuotes == "debian"
            } else if line.hasPrefix("VERSION_ID=") {
                value = value.dropFirst(11)
                major = Int(value.trimmingQuotes.split(separator: ".").first ?? "")
            }
        }
        return isDebian ? major : nil
    }

    private static func readSmallFile(_ path: String, limit: Int) -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var result: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while result.count < limit {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { break }
            result.append(contentsOf: buffer[0..<n])
        }
        return result
    }
}

extension Substring {
    fileprivate var trimmingQuotes: Substring {
        var s = self
        while let f = s.first, f == "\"" || f == "'" { s = s.dropFirst() }
        while let l = s.last, l == "\"" || l == "'" || l == "\r" { s = s.dropLast() }
        return s
    }
}
