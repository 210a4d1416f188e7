#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The text of an `errno` value, exactly as `strerror(3)` prints it (the tail of a Postfix `%m` message).
public func systemErrorText(_ code: Int32) -> String {
    // Postfix prints "Application error" for %m when errno is 0.
    if code == 0 { return "Application error" }
    guard let text = strerror(code) else { return "Unknown error \(code)" }
    return String(cString: text)
}

/// The current `errno`.
@inline(__always)
public func currentErrno() -> Int32 { errno }
