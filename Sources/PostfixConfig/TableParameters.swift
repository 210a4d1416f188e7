import PostfixText
import Maps

/// Where a database client table reads its settings, as Postfix's `cfg_parser` does: a name that starts
/// with `/` or `.` is a file in main.cf syntax (values taken literally), any other name is a prefix of
/// main.cf parameters (`NAME_server_host`, with `$name` expansion). Malformed values are fatal, with
/// Postfix's wording for each form. The ldap table reads its settings through this, and
/// `postconf --check` checks them with the same rules and texts.
public struct TableParameters: Sendable {
    /// A malformed value, in Postfix's words without the file name (`bad numerical configuration:
    /// timeout = 10s`), and the parameter it is about.
    public struct Problem: Error, Sendable {
        public var parameter: String
        public var text: String
    }

    /// The name after `ldap:` (the file name, or the main.cf prefix).
    public let name: String
    private let file: [String: String]?
    private let mainParameter: @Sendable (String) -> String?

    /// Whether `name` names a file of settings rather than a main.cf prefix.
    public static func isFileName(_ name: String) -> Bool {
        name.hasPrefix("/") || name.hasPrefix(".")
    }

    /// Read the settings of table `name`. `mainParameter` answers expanded main.cf values for the legacy
    /// form; file warnings (`overriding earlier entry`) go to `warn`.
    public init(name: String, mainParameter: @escaping @Sendable (String) -> String?,
                warn: @escaping (String) -> Void) throws(MapError) {
        var file: [String: String]?
        if Self.isFileName(name) {
            do {
                file = try ParameterFile.load(name, warn: warn)
            } catch {
                throw .configuration(error.message)
            }
        }
        self.init(name: name, file: file, mainParameter: mainParameter)
    }

    /// Settings already read: `file` for the file form (nil for the main.cf form, which asks
    /// `mainParameter` for `NAME_parameter`).
    public init(name: String, file: [String: String]?, mainParameter: @escaping @Sendable (String) -> String?) {
        self.name = name
        self.file = file
        self.mainParameter = mainParameter
    }

    private func raw(_ parameter: String) -> String? {
        if let file { return file[parameter] }
        return mainParameter("\(name)_\(parameter)")
    }

    /// Whether the parameter is given at all (in the file, or as `NAME_parameter` in main.cf).
    public func isSet(_ parameter: String) -> Bool { raw(parameter) != nil }

    /// How a parameter is named in messages: as written in a file, with its prefix in main.cf.
    private func shown(_ parameter: String) -> String {
        file != nil ? parameter : "\(name)_\(parameter)"
    }

    /// Postfix's fatal text for a problem: the file name first for the file form.
    public func message(_ problem: Problem) -> String {
        file != nil ? "\(name): \(problem.text)" : problem.text
    }

    // MARK: Checked values, problems returned

    /// A string whose length in bytes is at least `min` and at most `max` (0: no limit).
    public func checkedString(_ parameter: String, default fallback: String, min: Int = 0,
                              max: Int = 0) -> Result<String, Problem> {
        let value = raw(parameter) ?? fallback
        let length = ByteText.bytes(of: value).count
        if min > 0 && length < min {
            return .failure(Problem(parameter: parameter, text: "bad string length \(length) < \(min): \(shown(parameter)) = \(value)"))
        }
        if max > 0 && length > max {
            return .failure(Problem(parameter: parameter, text: "bad string length \(length) > \(max): \(shown(parameter)) = \(value)"))
        }
        return .success(value)
    }

    /// A decimal `int` as C's strtol() reads it; bounds apply when non-zero.
    public func checkedInt(_ parameter: String, default fallback: Int, min: Int = 0, max: Int = 0) -> Result<Int, Problem> {
        var value = fallback
        if let text = raw(parameter) {
            guard let number = CInteger.parse(text) else {
                return .failure(Problem(parameter: parameter, text: "bad numerical configuration: \(shown(parameter)) = \(text)"))
            }
            value = number
        }
        if min != 0 && value < min {
            return .failure(Problem(parameter: parameter, text: "invalid \(shown(parameter)) parameter value \(value) < \(min)"))
        }
        if max != 0 && value > max {
            return .failure(Problem(parameter: parameter, text: "invalid \(shown(parameter)) parameter value \(value) > \(max)"))
        }
        return .success(value)
    }

    /// `yes` or `no`, in any case.
    public func checkedBool(_ parameter: String, default fallback: Bool) -> Result<Bool, Problem> {
        guard let text = raw(parameter) else { return .success(fallback) }
        switch text.lowercased() {
        case "yes": return .success(true)
        case "no": return .success(false)
        default:
            return .failure(Problem(parameter: parameter, text: "bad boolean configuration: \(shown(parameter)) = \(text)"))
        }
    }

    // MARK: Values, problems fatal

    private func get<T>(_ result: Result<T, Problem>) throws(MapError) -> T {
        switch result {
        case .success(let value): return value
        case .failure(let problem): throw .configuration(message(problem))
        }
    }

    /// A string; see `checkedString`.
    public func string(_ parameter: String, default fallback: String, min: Int = 0, max: Int = 0) throws(MapError) -> String {
        try get(checkedString(parameter, default: fallback, min: min, max: max))
    }

    /// A string with no default: nil when unset or empty (Postfix's `cfg_get_str(..., NULL, ...)`).
    public func optionalString(_ parameter: String) throws(MapError) -> String? {
        let value = try string(parameter, default: "")
        return value.isEmpty ? nil : value
    }

    /// An integer; see `checkedInt`.
    public func int(_ parameter: String, default fallback: Int, min: Int = 0, max: Int = 0) throws(MapError) -> Int {
        try get(checkedInt(parameter, default: fallback, min: min, max: max))
    }

    /// A boolean; see `checkedBool`.
    public func bool(_ parameter: String, default fallback: Bool) throws(MapError) -> Bool {
        try get(checkedBool(parameter, default: fallback))
    }
}
