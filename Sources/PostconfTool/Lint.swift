import ToolSupport
import PostfixConfig
import PostfixText
import Maps
#if canImport(Glibc)
import Glibc
#endif

/// `postconf --check [--json] [-c config_dir]`: what Postfix's daemons would reject or silently
/// ignore, found before mail bounces. Postfix's postconf only checks names; this also checks each
/// value's syntax as the daemon that reads it would (`bad boolean configuration: ...` and the other
/// daemon texts), enumerations, every `type:name` table that main.cf and master.cf `-o` settings use,
/// and suggests names for unknown parameters. Exit status 1 when there are errors.
enum Lint {
    /// Run the lint; `arguments` are postconf's arguments without argv[0].
    static func main(_ arguments: [String], program: String) -> Int32 {
        var json = false
        var directory: String?
        var i = 0
        while i < arguments.count {
            let a = arguments[i]
            if a == "--check" {
                // the mode itself
            } else if a == "--json" {
                json = true
            } else if a == "-c", i + 1 < arguments.count {
                directory = arguments[i + 1]
                i += 1
            } else if a.hasPrefix("-c"), a.count > 2 {
                directory = String(a.dropFirst(2))
            } else {
                MessageWriter(program: program).fatal("usage: \(program) --check [--json] [-c config_dir]")
                return 1
            }
            i += 1
        }
        if directory == nil, let env = getenv("MAIL_CONFIG") {
            directory = String(decoding: UnsafeRawBufferPointer(start: env, count: strlen(env)), as: UTF8.self)
        }
        let run = LintRun(directory: directory, program: program)
        run.check()
        let out = OutputBuffer()
        out.write(json ? run.json() : run.text())
        out.flush()
        return run.findings.contains { $0.severity == .error } ? 1 : 0
    }
}
