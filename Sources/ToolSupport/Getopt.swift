import PostfixText
/// POSIX `getopt(3)` as Postfix calls it on Linux: options stop at the first operand, `--` ends them,
/// and the diagnostics are glibc's. One option at a time, so that a tool can act on each option in the
/// order Postfix does (and fail on the first bad one); `parse` runs the whole loop.
///
/// The one addition to Postfix's command lines is `--version`: the word exactly, where an option may
/// stand, is `.version`. Any other word that starts with `--` (`--help`, `--versio`, `--version=1`) is
/// still glibc's `invalid option -- '-'`, as in Postfix.
public struct Getopt {
    /// One step: an option with its argument, `--version`, or glibc's complaint (without the program prefix).
    public enum Step: Equatable, Sendable {
        case option(Character, String?)
        /// `--version`, the only long option the Postfix-compatible tools accept.
        case version
        case failure(String)
    }

    /// The long option every tool accepts.
    public static let versionOption = "--version"

    /// One parsed option: its letter and, for options that take one, its argument.
    public struct Option: Equatable, Sendable {
        public var letter: Character
        public var argument: String?
    }

    /// A parse failure; `message` is glibc's text without the program prefix.
    public struct Failure: Error, Sendable {
        public var message: String
    }

    private let arguments: [String]
    private var takesArgument: [Character: Bool] = [:]
    private var index = 0
    private var pending: [Character] = []
    private var done = false

    /// A parser over `arguments` (without argv[0]) for a getopt spec like `"bc:d:fq:"`.
    public init(_ arguments: [String], spec: String) {
        self.arguments = arguments
        self.takesArgument = Self.letters(of: spec)
    }

    /// The option letters of a getopt spec, each with whether it takes an argument.
    public static func letters(of spec: String) -> [Character: Bool] {
        var out: [Character: Bool] = [:]
        let letters = Array(spec)
        var i = 0
        while i < letters.count {
            let hasArgument = i + 1 < letters.count && letters[i + 1] == ":"
            out[letters[i]] = hasArgument
            i += hasArgument ? 2 : 1
        }
        return out
    }

    /// The words after the options (valid once `next()` returned `nil`).
    public var operands: [String] { Array(arguments[min(index, arguments.count)...]) }

    /// The next option, a failure, or `nil` at the end of the options.
    public mutating func next() -> Step? {
        if pending.isEmpty {
            guard !done, index < arguments.count else { return nil }
            let word = arguments[index]
            if word == "--" {
                index += 1
                done = true
                return nil
            }
            if word == Self.versionOption {
                index += 1
                return .version
            }
            guard word.hasPrefix("-"), word.count > 1 else {
                done = true
                return nil
            }
            pending = Array(word.dropFirst())
            index += 1
        }
        let c = pending.removeFirst()
        guard c != ":", let hasArgument = takesArgument[c] else {
            return .failure("invalid option -- '\(c)'")
        }
        guard hasArgument else { return .option(c, nil) }
        if !pending.isEmpty {
            let argument = String(pending)
            pending.removeAll()
            return .option(c, argument)
        }
        guard index < arguments.count else { return .failure("option requires an argument -- '\(c)'") }
        index += 1
        return .option(c, arguments[index - 1])
    }

    /// What `parse` found: the options and operands, and whether `--version` stopped the parse (the
    /// options before it are kept; the tool prints its version and exits 0).
    public struct Parsed: Sendable {
        public var options: [Option]
        public var operands: [String]
        public var version: Bool
    }

    /// Parse every option; the first bad one is the failure; `--version` ends the parse.
    public static func parse(_ arguments: [String], spec: String) -> Result<Parsed, Failure> {
        var parser = Getopt(arguments, spec: spec)
        var options: [Option] = []
        while let step = parser.next() {
            switch step {
            case .option(let letter, let argument): options.append(Option(letter: letter, argument: argument))
            case .version: return .success(Parsed(options: options, operands: [], version: true))
            case .failure(let message): return .failure(Failure(message: message))
            }
        }
        return .success(Parsed(options: options, operands: parser.operands, version: false))
    }
}
