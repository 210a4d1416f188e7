import PostfixText

/// The toolkit's version and the Postfix release it is compatible with: the one source of truth for
/// every tool's `--version`, the man pages and the Debian package (the Makefile reads the two string
/// literals below with sed, so keep each on its own line, in this form).
public enum ToolVersion {
    /// The package name, as `--version` and the Debian package print it.
    public static let package = "postfix-maps"
    /// This toolkit's version.
    public static let version = "0.9.0"
    /// The oldest Postfix release whose behaviour the tools reproduce (Debian 12's); the other is
    /// Debian 13's 3.10.13 (`PostfixRelease`).
    public static let postfixVersion = "3.7.11"

    /// What `PROGRAM --version` prints (without the newline): the release the tools follow here
    /// (`PostfixRelease.current`), `postmap (postfix-maps) 0.9.0, compatible with Postfix 3.7.11`.
    public static func line(program: String) -> String {
        "\(program) (\(package)) \(version), compatible with Postfix \(PostfixRelease.current.mailVersion)"
    }

    /// Print the `--version` line on standard output; the exit status is 0.
    public static func write(program: String) -> Int32 {
        let out = OutputBuffer()
        out.write(Array((line(program: program) + "\n").utf8))
        out.flush()
        return 0
    }
}
