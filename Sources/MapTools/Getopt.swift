/// POSIX `getopt(3)` as Postfix calls it on Linux (`"+"` prefix: options stop at the first operand),
/// with glibc's diagnostics.
public struct Getopt {
    /// One parsed option: its letter and, for options that take one, its argument.
    public struct Option: Equatable, Sendable {
        public var letter: Character
        public var argument: String?
    }

    /// A parse failure; `message` is glibc's text without the program prefix.
    public struct Failure: Error, Sendable {
        public var message: String
    }

    /// Parse `arguments` (without argv[0]) against a getopt spec like `"bc:d:fq:"`.
    /// Returns the options in order and the remaining operands.
    public static func parse(_ arguments: [String], spec: String) -> Result<(options: [Option], operands: [String]), Failure> {
        var takesArgument: [Character: Bool] = [:]
        let letters = Array(spec)
        var i = 0
        while i < letters.count {
            let c = letters[i]
            let hasArg = i + 1 < letters.count && letters[i + 1] == ":"
            takesArgument[c] = hasArg
            i += hasArg ? 2 : 1
        }
        var options: [Option] = []
        var index = 0
        while index < arguments.count {
            let word = arguments[index]
            if word == "--" { index += 1; break }
            guard word.hasPrefix("-"), word.count > 1 else { break }
            var chars = Array(word.dropFirst())
            while !chars.isEmpty {
                let c = chars.removeFirst()
                guard c != ":", let hasArg = takesArgument[c] else {
                    return .failure(Failure(message: "invalid option -- '\(c)'"))
                }
                if hasArg {
                    if !chars.isEmpty {
                        options.append(Option(letter: c, argument: String(chars)))
                        chars.removeAll()
                    } else if index + 1 < arguments.count {
                        index += 1
                        options.append(Option(letter: c, argument: arguments[index]))
                    } else {
                        return .failure(Failure(message: "option requires an argument -- '\(c)'"))
                    }
                } else {
                    options.append(Option(letter: c, argument: nil))
                }
            }
            index += 1
        }
        return .success((options, Array(arguments[index...])))
    }
}
