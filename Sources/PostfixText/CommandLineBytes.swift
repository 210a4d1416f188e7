#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The command line with every byte kept. `CommandLine.arguments` replaces bytes that are not UTF-8;
/// these strings carry them through `ByteText`, so `postmap -q` can look up a Latin-1 key.
public enum CommandLineBytes {
    /// argv, each argument as a `ByteText` string.
    public static func arguments() -> [String] {
        (0..<Int(CommandLine.argc)).map { i in
            guard let p = CommandLine.unsafeArgv[i] else { return "" }
            return ByteText.string(Array(UnsafeBufferPointer(start: p, count: strlen(p))).map { UInt8(bitPattern: $0) })
        }
    }
}
