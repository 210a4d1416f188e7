import PostfixText
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A cdb file mapped read-only into memory, with tinycdb's consistency checks: a file shorter than its
/// header is refused when it opens, and a table or record that points outside the file is `EPROTO` when
/// a lookup meets it (Postfix then says `error reading NAME.cdb: Protocol error`).
///
/// The mapping never changes after `init`, so lookups may run on several threads at once.
final class CDBReader: Sendable {
    /// The start of the mapping. Read-only memory owned by this object until `deinit`; it is never
    /// written, so sharing the address between threads is safe.
    nonisolated(unsafe) let base: UnsafeRawPointer
    /// The mapped length (the file size, at most 4 GiB - 1 as tinycdb caps it).
    private let size: Int
    /// The end of the record section: the first hash table's position, kept within
    /// `[headerSize, size]` as tinycdb does.
    let dataEnd: Int

    /// Map the open file `fd`; `EPROTO` for a file too short for the header, or the `mmap` error.
    init(fd: Int32) throws(SystemErrorCode) {
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw SystemErrorCode(errno) }
        guard st.st_size >= CDBFormat.headerSize else { throw SystemErrorCode(EPROTO) }
        let length = Int(min(Int64(st.st_size), 0xFFFF_FFFF))
        let mapped = mmap(nil, length, PROT_READ, MAP_SHARED, fd, 0)
        guard let mapped, mapped != MAP_FAILED else { throw SystemErrorCode(errno) }
        base = UnsafeRawPointer(mapped)
        size = length
        let first = Int(CDBFormat.load(base, 0))
        dataEnd = first < CDBFormat.headerSize ? CDBFormat.headerSize : min(first, length)
    }

    deinit { munmap(UnsafeMutableRawPointer(mutating: base), size) }

    /// The value of the first record whose key is `key` (tinycdb's `cdb_find`), copied and cut at its
    /// first NUL as Postfix reads it; nil when there is none; `EPROTO` when the file is inconsistent.
    func find(_ key: UnsafeRawBufferPointer) -> Result<[UInt8]?, SystemErrorCode> {
        let klen = key.count
        if klen >= dataEnd { return .success(nil) }
        let h = CDBFormat.hash(key)
        let slot = Int((h << 3) & 2047)
        let slots = Int(CDBFormat.load(base, slot + 4))
        if slots == 0 { return .success(nil) }
        let tablePos = Int(CDBFormat.load(base, slot))
        let tableBytes = slots << 3
        guard slots <= size >> 3, tablePos >= dataEnd, tablePos <= size, tableBytes <= size - tablePos else {
            return .failure(SystemErrorCode(EPROTO))
        }
        var index = Int(h >> 8) % slots
        for _ in 0..<slots {
            let entry = tablePos + (index << 3)
            let pos = Int(CDBFormat.load(base, entry + 4))
            if pos == 0 { return .success(nil) }
            if CDBFormat.load(base, entry) == h {
                guard pos <= dataEnd - 8 else { return .failure(SystemErrorCode(EPROTO)) }
                if Int(CDBFormat.load(base, pos)) == klen {
                    guard dataEnd - klen >= pos + 8 else { return .failure(SystemErrorCode(EPROTO)) }
                    if CDBFormat.equal(key.baseAddress, base + pos + 8, klen) {
                        let vlen = Int(CDBFormat.load(base, pos + 4))
                        let vpos = pos + 8 + klen
                        guard vlen <= dataEnd, dataEnd - vlen >= vpos else { return .failure(SystemErrorCode(EPROTO)) }
                        return .success(KeyCodec.cString(UnsafeRawBufferPointer(start: base + vpos, count: vlen)))
                    }
                }
            }
            index += 1
            if index == slots { index = 0 }
        }
        return .success(nil)
    }
}

extension CDBReader {
    /// A position in the record section (tinycdb's sequence pointer).
    struct Cursor { var position = CDBFormat.headerSize }

    /// The record at `cursor` and the cursor moved past it (tinycdb's `cdb_seqnext`); nil at the end of
    /// the records; `EPROTO` for a record that runs past them. Key and value are cut at their first NUL.
    func next(_ cursor: inout Cursor) -> Result<(key: [UInt8], value: [UInt8])?, SystemErrorCode> {
        let pos = cursor.position
        if dataEnd < 8 || pos > dataEnd - 8 { return .success(nil) }
        let klen = Int(CDBFormat.load(base, pos))
        let vlen = Int(CDBFormat.load(base, pos + 4))
        let kpos = pos + 8
        guard dataEnd - klen >= kpos, dataEnd - vlen >= kpos + klen else { return .failure(SystemErrorCode(EPROTO)) }
        cursor.position = kpos + klen + vlen
        let key = KeyCodec.cString(UnsafeRawBufferPointer(start: base + kpos, count: klen))
        let value = KeyCodec.cString(UnsafeRawBufferPointer(start: base + kpos + klen, count: vlen))
        return .success((key, value))
    }
}

/// An `errno` value as an error.
struct SystemErrorCode: Error {
    let code: Int32
    init(_ code: Int32) { self.code = code }
}
