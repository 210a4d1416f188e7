import PostfixText
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Values that name files (`postmap -F`, Postfix's `DICT_FLAG_SRC_RHS_IS_FILE` and `dict_file.c`): a
/// source value is a list of file names, separated by commas and blanks; the table stores the files'
/// contents, joined with a newline between files, base64-encoded. Lookups under the flag decode the
/// stored value again.
public enum ValueFiles {
    /// Why a value could not be turned into file contents, in Postfix's words (`open FILE: %m`).
    public struct Failure: Error, Sendable {
        public let message: String
    }

    /// The base64 text of the contents of the files `pathnames` names (Postfix's `dict_file_to_b64`).
    public static func encodedContents(of pathnames: [UInt8]) -> Result<[UInt8], Failure> {
        switch contents(of: pathnames) {
        case .failure(let failure): return .failure(failure)
        case .success(let bytes): return .success(encode(bytes))
        }
    }

    /// The files' contents, joined with a newline between files (`dict_file_to_buf`).
    public static func contents(of pathnames: [UInt8]) -> Result<[UInt8], Failure> {
        let names = pathnames.split(whereSeparator: { $0 == 0x2C || $0 == 0x20 || $0 == 0x09 || $0 == 0x0D || $0 == 0x0A })
        guard !names.isEmpty else {
            return .failure(Failure(message: "empty pathname list: >>\(ByteText.string(pathnames))<<'"))
        }
        var out: [UInt8] = []
        for (n, nameBytes) in names.enumerated() {
            let name = ByteText.string(Array(nameBytes))
            let fd = open(name, O_RDONLY | O_CLOEXEC)
            var st = stat()
            guard fd >= 0, fstat(fd, &st) == 0 else {
                let e = errno
                if fd >= 0 { close(fd) }
                return .failure(Failure(message: "open \(name): \(systemErrorText(e))"))
            }
            defer { close(fd) }
            let size = Int(st.st_size)
            var buffer = [UInt8](repeating: 0, count: size)
            var done = 0
            while done < size {
                let got = buffer.withUnsafeMutableBytes { raw in
                    read(fd, raw.baseAddress.map { $0 + done }, size - done)
                }
                if got < 0, errno == EINTR { continue }
                if got <= 0 {
                    // A short read is `read FILE: %m`, with whatever errno says (0 at end of file).
                    return .failure(Failure(message: "read \(name): \(systemErrorText(got < 0 ? errno : 0))"))
                }
                done += got
            }
            out.append(contentsOf: buffer)
            if n + 1 < names.count { out.append(0x0A) }
        }
        return .success(out)
    }

    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    /// Standard base64 with `=` padding.
    public static func encode(_ bytes: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity((bytes.count + 2) / 3 * 4)
        var i = 0
        while i + 3 <= bytes.count {
            let v = UInt32(bytes[i]) << 16 | UInt32(bytes[i + 1]) << 8 | UInt32(bytes[i + 2])
            for shift in [18, 12, 6, 0] { out.append(alphabet[Int((v >> UInt32(shift)) & 63)]) }
            i += 3
        }
        let rest = bytes.count - i
        if rest > 0 {
            let v = UInt32(bytes[i]) << 16 | (rest > 1 ? UInt32(bytes[i + 1]) << 8 : 0)
            out.append(alphabet[Int((v >> 18) & 63)])
            out.append(alphabet[Int((v >> 12) & 63)])
            out.append(rest > 1 ? alphabet[Int((v >> 6) & 63)] : 0x3D)
            out.append(0x3D)
        }
        return out
    }

    private static let decodeTable: [UInt8] = {
        var table = [UInt8](repeating: 0xFF, count: 256)
        for (n, c) in alphabet.enumerated() { table[Int(c)] = UInt8(n) }
        return table
    }()

    /// Postfix's `base64_decode`: the length must be a multiple of 4; decoding stops at the first `=`
    /// in the third or fourth place of a group; any other byte outside the alphabet fails (nil).
    public static func decode(_ text: [UInt8]) -> [UInt8]? {
        guard text.count % 4 == 0 else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(text.count / 4 * 3)
        var i = 0
        while i < text.count {
            let c0 = decodeTable[Int(text[i])], c1 = decodeTable[Int(text[i + 1])]
            if c0 == 0xFF || c1 == 0xFF { return nil }
            out.append(c0 << 2 | c1 >> 4)
            if text[i + 2] == 0x3D { break }
            let c2 = decodeTable[Int(text[i + 2])]
            if c2 == 0xFF { return nil }
            out.append(c1 << 4 | c2 >> 2)
            if text[i + 3] == 0x3D { break }
            let c3 = decodeTable[Int(text[i + 3])]
            if c3 == 0xFF { return nil }
            out.append(c2 << 6 | c3)
            i += 4
        }
        return out
    }

    /// The warning for a stored value that does not decode (`malformed BASE64 value: ` and at most 30 bytes).
    public static func malformed(_ value: [UInt8]) -> String {
        "malformed BASE64 value: \(ByteText.string(Array(value.prefix(30))))"
    }
}
