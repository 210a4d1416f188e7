#if canImport(Glibc)
import Glibc
#endif

/// libpcre2-8, loaded on first use so that postconf does not link it.
enum PCRE2Loader {
    private typealias Compile = @convention(c) (UnsafePointer<UInt8>?, Int, UInt32, UnsafeMutablePointer<Int32>?,
                                                UnsafeMutablePointer<Int>?, OpaquePointer?) -> OpaquePointer?
    private typealias Free = @convention(c) (OpaquePointer?) -> Void
    private typealias ErrorMessage = @convention(c) (Int32, UnsafeMutablePointer<UInt8>?, Int) -> Int32

    /// Postfix's `error in regex at offset N: TEXT`, or `nil` when the pattern compiles (or when the
    /// library is not installed).
    static func compileError(_ pattern: [UInt8], options: UInt32) -> String? {
        guard let handle = dlopen("libpcre2-8.so.0", RTLD_LAZY | RTLD_LOCAL) else { return nil }
        defer { dlclose(handle) }
        guard let c = dlsym(handle, "pcre2_compile_8"), let f = dlsym(handle, "pcre2_code_free_8"),
              let m = dlsym(handle, "pcre2_get_error_message_8") else { return nil }
        let compile = unsafeBitCast(c, to: Compile.self)
        let free = unsafeBitCast(f, to: Free.self)
        let message = unsafeBitCast(m, to: ErrorMessage.self)
        var code: Int32 = 0
        var offset = 0
        let compiled = pattern.withUnsafeBufferPointer { compile($0.baseAddress, pattern.count, options, &code, &offset, nil) }
        if let compiled {
            free(compiled)
            return nil
        }
        var buffer = [UInt8](repeating: 0, count: 256)
        _ = message(code, &buffer, buffer.count)
        return "error in regex at offset \(offset): \(ConfigText.text(Array(buffer.prefix(while: { $0 != 0 }))))"
    }
}
