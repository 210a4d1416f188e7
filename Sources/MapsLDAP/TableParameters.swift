import Maps
import PostfixConfig

/// Where a database client table reads its settings, as Postfix's `cfg_parser` does: a name that starts
/// with `/` or `.` is a file in main.cf syntax (values taken literally), any other name is a prefix of
/// main.cf parameters (`NAME_server_host`, with `$name` expansion). Malformed values are fatal, with
/// Postfix's wording for each form.
public struct TableParameters: Sendable {
    /// The name after `ldap:` (the file name, or the main.cf prefix).
    public let name: String
    private let file: [String: String]?
    private let mainParameter: @Sendable (String) -> String?

    /// Read the settings of table `name`. `mainParameter` answers expanded main.cf values for the legacy
    /// form; file warnings (`overriding earlier entry`) go to `warn`.
    public init(name: String, mainParameter: @escaping @Sendable (String) -> String?,
                warn: @escaping (String) -> Void) throws(MapError) {
        self.name = name
        self.mainParameter = mainParameter
        if name.hasPrefix("/") || name.hasPrefix(".") {
            do {
                file = try ParameterFile.load(name, warn: warn)
            } catch {
                throw .configuration(error.message)
            }
        } else {
            file = nil
        }
    }

    /// Whether the settings come from a file of their own.
    public var isFile: Bool { file != nil }

    private func raw(_ parameter: String) -> String? {
        if let file { return file[parameter] }
        return mainParameter("\(name)_\(parameter)")
    }

    /// Postfix's label for a parameter in messages: `parameter` in a file (after `FILE: `), else the
    /// full main.cf name.
    private func label(_ parameter: String) -> (prefix: String, name: String) {
        file != nil ? ("\(name): ", parameter) : ("", "\(name)_\(parameter)")
    }

    /// A string; its length in bytes must be at least `min` and at most `max` (0: no limit).
    public func string(_ parameter: String, default fallback: String, min: Int = 0, max: Int = 0) throws(MapError) -> String {
        let value = raw(parameter) ?? fallback
        let length = ByteText.bytes(of: value).count
        let (prefix, shown) = label(parameter)
        if min > 0 && length < min {
            throw .configuration("\(prefix)bad string length \(length) < \(min): \(shown) = \(value)")
        }
        if max > 0 && length > max {
            throw .configuration("\(prefix)bad string length \(length) > \(max): \(shown) = \(value)")
        }
        return value
    }

    /// A string with no default: nil when unset or empty (Postfix's `cfg_get_str(..., NULL, ...)`).
    public func optionalString(_ parameter: String) throws(MapError) -> String? {
        let value = try string(parameter, default: "")
        return value.isEmpty ? nil : value
    }

    /// A decimal `int` as C's strtol() reads it; bounds apply when non-zero.
    public func int(_ parameter: String, default fallback: Int, min: Int = 0, max: Int = 0) throws(MapError) -> Int {
        let (prefix, shown) = label(parameter)
        var value = fallback
        if let text = raw(parameter) {
            guard let number = CInteger.parse(text) else {
                throw .configuration("\(prefix)bad numerical configuration: \(shown) = \(text)")
            }
            value = number
        }
        if min != 0 && value < min {
            throw .configuration("\(prefix)invalid \(shown) parameter value \(value) < \(min)")
        }
        if max != 0 && value > max {
            throw .configuration("\(prefix)invalid \(shown) parameter value \(value) > \(max)")
        }
        return value
    }

    /// `yes` or `no`, in any case.
    public func bool(_ parameter: String, default fallback: Bool) throws(MapError) -> Bool {
        guard let text = raw(parameter) else { return fallback }
        switch text.lowercased() {
        case "yes": return true
        case "no": return false
        default:
            let (prefix, shown) = label(parameter)
            throw .configuration("\(prefix)bad boolean configuration: \(shown) = \(text)")
        }
    }
}
