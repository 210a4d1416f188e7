/// POSIX `getopt(3)` as Postfix calls it on Linux (options stop at the first operand; `--` ends them),
/// one option at a time so that fatal option errors come in Postfix's order.
struct PostconfGetopt {
    /// One step: an option with its argument, or glibc's complaint (without the program prefix).
    enum Step {
        case option(Character, String?)
        case failure(String)
    }

    private let arguments: [String]
    private var takesArgument: [Character: Bool] = [:]
    private var index = 0
    private var pending: [Character] = []
    private var done = false

    init(_ arguments: [String], spec: String) {
        self.arguments = arguments
        let letters = Array(spec)
        var i = 0
        while i < letters.count {
            let hasArgument = i + 1 < letters.count && letters[i + 1] == ":"
            takesArgument[letters[i]] = hasArgument
            i += hasArgument ? 2 : 1
        }
    }

    /// The words after the options (valid once `next()` returned `nil`).
    var operands: [String] { Array(arguments[min(index, arguments.count)...]) }

    mutating func next() -> Step? {
        if pending.isEmpty {
            guard !done, index < arguments.count else { return nil }
            let word = arguments[index]
            if word == "--" {
                index += 1
                done = true
                return nil
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
}
