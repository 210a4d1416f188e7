/// A tool's command line as data: its options with their arguments and descriptions. The tool parses
/// with the getopt string derived from it, and the completions are generated from it
/// (`completion-spec` prints it for `scripts/gen-completions`), so the two cannot drift apart.
public struct CommandSpec: Sendable {
    /// What follows the options.
    public enum Operands: String, Sendable {
        /// `[map_type:]file...`
        case maps
        /// postconf's parameter names and master.cf services.
        case params
        case none
    }

    public let name: String
    public let summary: String
    public let operands: Operands
    public let options: [CommandOption]

    public init(name: String, summary: String, operands: Operands, options: [CommandOption]) {
        self.name = name
        self.summary = summary
        self.operands = operands
        self.options = options
    }

    /// The `getopt(3)` option string: each letter, with `:` after those that take an argument.
    public var getopt: String {
        options.map { $0.argument == .none ? String($0.letter) : "\($0.letter):" }.joined()
    }

    /// The options as `scripts/gen-completions` reads them: `COMMAND LETTER ARGUMENT DESCRIPTION`, one
    /// line each, hidden options left out.
    public var completionLines: [String] {
        options.filter { !$0.hidden }.map { "\(name) \($0.letter) \($0.argument.completionWord) \($0.summary)" }
    }
}

/// One option letter.
public struct CommandOption: Sendable {
    /// What an option's argument is.
    public enum Argument: Sendable, Equatable {
        case none
        /// A directory.
        case directory(String)
        /// Free text.
        case key(String)
        /// One of these words.
        case words([String])
        /// A parameter name followed by `=`.
        case parameter(String)

        var completionWord: String {
            switch self {
            case .none: return "-"
            case .directory(let n): return "dir:\(n)"
            case .key(let n): return "key:\(n)"
            case .words(let w): return "words:" + w.joined(separator: ",")
            case .parameter(let n): return "param:\(n)"
            }
        }
    }

    public let letter: Character
    public let argument: Argument
    public let summary: String
    /// Accepted but not offered (Postfix's undocumented letters).
    public let hidden: Bool

    public init(_ letter: Character, _ argument: Argument, _ summary: String, hidden: Bool = false) {
        self.letter = letter
        self.argument = argument
        self.summary = summary
        self.hidden = hidden
    }
}
