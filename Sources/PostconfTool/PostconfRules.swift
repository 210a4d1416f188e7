import PostfixConfig
import PostfixText

/// What postconf does differently from one Postfix release to the next, as data keyed by
/// `PostfixRelease` (the parameter table itself is `BuiltinParameters.table(for:)`, the deprecated
/// names `DeprecatedParameters`).
struct PostconfRules: Sendable {
    /// `#comment after other text is not allowed` when a value that postconf scans for database
    /// references has a `#word` after other text (3.9's `mystrtokq_cw`); the rest of the value is
    /// then not scanned.
    let warnsCommentAfterText: Bool
    /// Types whose inline `{...}` text is patterns, not table references: not scanned further (3.9).
    let patternTypes: Set<String>
    /// Brace syntax warnings name the full path of main.cf or master.cf (3.9), not the bare file name.
    let bracesWarningFullPath: Bool
    /// `-e` and friends end a file's last line with a newline before they edit it (3.9's
    /// `pcf_next_cf_line`).
    let editTerminatesLines: Bool
    /// `ignoring earlier request` only when the earlier `-e` request for a name set another value (3.9).
    let editWarnsOnlyChangedRequest: Bool
    /// The release these rules are of (for the data tables keyed by it: `DeprecatedParameters`).
    let release: PostfixRelease

    static func rules(for release: PostfixRelease) -> PostconfRules {
        switch release {
        case .v3_7:
            return PostconfRules(warnsCommentAfterText: false, patternTypes: [],
                                 bracesWarningFullPath: false,
                                 editTerminatesLines: false, editWarnsOnlyChangedRequest: false, release: release)
        case .v3_10:
            return PostconfRules(warnsCommentAfterText: true, patternTypes: ["regexp", "pcre"],
                                 bracesWarningFullPath: true,
                                 editTerminatesLines: true, editWarnsOnlyChangedRequest: true, release: release)
        }
    }

    /// The rules of the release the tools follow.
    static var current: PostconfRules { rules(for: PostfixRelease.current) }
}
