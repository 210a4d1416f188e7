#if canImport(Glibc)
import Glibc
#endif

/// `postconf`: print and edit Postfix configuration (main.cf and master.cf).
public enum Postconf {
    /// Run postconf with `arguments` (argv[0] first); returns the exit status.
    public static func main(_ arguments: [String]) -> Int32 {
        let message = "postconf: fatal: not implemented yet\n"
        _ = message.withCString { write(2, $0, strlen($0)) }
        return 1
    }
}
