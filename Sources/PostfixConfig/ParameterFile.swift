import PostfixText

/// A configuration file in main.cf syntax that belongs to one table, such as an `ldap:/etc/postfix/x.cf`
/// client file: `name = value` logical lines, read as Postfix's `dict_load_file_xt()` reads them (a file
/// modified within the last second is read again once it has cooled down). Values are not expanded.
public enum ParameterFile {
    /// The parameters in file order, later lines overriding earlier ones with a warning. Errors carry
    /// Postfix's text: `open PATH: ERROR`, or a syntax error with its file and line.
    public static func load(_ path: String, warn: @escaping (String) -> Void) throws(Fatal) -> [String: String] {
        let table = ParameterDictionary()
        do {
            try ConfigFileReader.load(path, into: table, warn: warn, rereadHotFile: true)
        } catch {
            switch error {
            case .open(let e): throw Fatal("open \(path): \(systemErrorText(e))")
            case .fatal(let f): throw Fatal(f.message)
            }
        }
        var values: [String: String] = [:]
        for (name, value) in table.entries { values[ByteText.string(name)] = ByteText.string(value) }
        return values
    }
}
