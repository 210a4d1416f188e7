import Maps
import ToolSupport
import PostfixConfig
import PostfixText
/// One problem found by `postconf --check`.
struct LintFinding {
    enum Severity: String { case error, warning }
    var severity: Severity
    /// The file (`DIR/main.cf`, `DIR/master.cf`, or a table's file).
    var file: String
    var line: Int?
    var parameter: String?
    var message: String
    var suggestions: [String] = []
}
