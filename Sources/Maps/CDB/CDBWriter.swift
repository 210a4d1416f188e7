import PostfixText
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Writes a new cdb file to a descriptor, laid out exactly as tinycdb's `cdb_make` lays it out, so the
/// same records in the same order give the same bytes:
///
/// - records from byte 2048 on, in the order they were added; a record replaced (`.replace`) is taken
///   out of the data as if it had never been written and the new one goes at the end (tinycdb moves
///   the later data down over it);
/// - the 256 hash tables in bucket order, each with twice as many slots as records, each bucket's
///   records placed in the order they were added; an empty bucket's header entry holds the position
///   where the tables were being written and 0 slots;
/// - the header, written last.
///
/// Records stream to the file through a buffer; in memory stay 8 bytes per record plus an index by
/// hash, which finds a duplicate key without scanning (tinycdb scans every earlier record of the key's
/// bucket). Keys with the same 32-bit hash are compared against the file.
final class CDBWriter {
    /// What `put` does with a key that is already present (tinycdb's `CDB_PUT_*`).
    enum PutMode {
        /// Store it anyway; a lookup finds the first (`CDB_PUT_ADD`, postmap `-w`).
        case add
        /// Remove the old record and store the new one (`CDB_PUT_REPLACE`, postmap `-r`).
        case replace
        /// Keep the old record and report the duplicate (`CDB_PUT_INSERT`).
        case insert
    }

    private let fd: Int32
    /// Bytes not yet written, which belong at `bufferStart`.
    private var buffer: [UInt8] = []
    private var bufferStart = CDBFormat.headerSize
    private static let bufferLimit = 1 << 16
    /// Per record: its hash.
    private var hashes: [UInt32] = []
    /// Per record: its file position, or 0 once it was replaced.
    private var positions: [UInt32] = []
    /// Open-addressing index of record numbers by hash (-1: empty), a power of two in size.
    private var index: [Int32] = [Int32](repeating: -1, count: 1024)
    private var replaced = 0

    /// Write to `fd`, which must be empty; records start at byte 2048.
    init(fd: Int32) {
        self.fd = fd
        buffer.reserveCapacity(CDBWriter.bufferLimit + 4096)
    }

    /// The position the next record gets.
    private var end: Int { bufferStart + buffer.count }

    @inline(__always)
    private func slot(_ h: UInt32, _ mask: Int) -> Int {
        Int(truncatingIfNeeded: (h &* 0x9E37_79B1) >> 7) & mask
    }

    /// Write the buffer out; 0 or an errno value.
    private func flush() -> Int32 {
        let rc = CDBWriter.writeAll(fd, buffer, at: bufferStart)
        if rc == 0 {
            bufferStart += buffer.count
            buffer.removeAll(keepingCapacity: true)
        }
        return rc
    }

    /// `pwrite` all of `bytes` at `offset`, retrying short writes and `EINTR`; 0 or an errno value.
    static func writeAll(_ fd: Int32, _ bytes: [UInt8], at offset: Int) -> Int32 {
        bytes.withUnsafeBytes { raw in
            var done = 0
            while done < raw.count {
                let n = pwrite(fd, raw.baseAddress.map { $0 + done }, raw.count - done, off_t(offset + done))
                if n < 0 {
                    if errno == EINTR { continue }
                    return errno
                }
                done += n
            }
            return 0
        }
    }

    /// `count` bytes of the file at `offset` (which may still be in the buffer).
    private func bytes(at offset: Int, count: Int) -> Result<[UInt8], SystemErrorCode> {
        if offset >= bufferStart {
            let start = offset - bufferStart
            return .success(Array(buffer[start..<(start + count)]))
        }
        var out = [UInt8](repeating: 0, count: count)
        var done = 0
        while done < count {
            let n = out.withUnsafeMutableBytes { raw in
                pread(fd, raw.baseAddress.map { $0 + done }, count - done, off_t(offset + done))
            }
            if n < 0, errno == EINTR { continue }
            if n <= 0 { return .failure(SystemErrorCode(n < 0 ? errno : EPROTO)) }
            done += n
        }
        return .success(out)
    }

    /// The live records whose key is `key`.
    private func matches(_ key: [UInt8], _ h: UInt32) -> Result<[Int], SystemErrorCode> {
        var out: [Int] = []
        let mask = index.count - 1
        var i = slot(h, mask)
        while true {
            let n = Int(index[i])
            if n < 0 { break }
            if hashes[n] == h, positions[n] != 0 {
                let pos = Int(positions[n])
                switch bytes(at: pos, count: 8) {
                case .failure(let e): return .failure(e)
                case .success(let lengths):
                    let klen = lengths.withUnsafeBytes { Int(CDBFormat.load($0, 0)) }
                    if klen == key.count {
                        switch bytes(at: pos + 8, count: klen) {
                        case .failure(let e): return .failure(e)
                        case .success(let stored): if stored == key { out.append(n) }
                        }
                    }
                }
            }
            i = (i + 1) & mask
        }
        return .success(out)
    }

    private func place(_ n: Int, _ h: UInt32) {
        let mask = index.count - 1
        var i = slot(h, mask)
        while index[i] >= 0 { i = (i + 1) & mask }
        index[i] = Int32(truncatingIfNeeded: n)
    }

    /// Add one record. Returns true when the key was already present (for `.insert` nothing was
    /// stored; for `.replace` the old record was dropped); fails with `ENOMEM` when the file would
    /// pass 4 GiB (as tinycdb), or with the error of a write.
    func put(_ key: [UInt8], _ value: [UInt8], mode: PutMode) -> Result<Bool, SystemErrorCode> {
        if key.count > 0xFFFF_FFFF - (end + 8) || value.count > 0xFFFF_FFFF - (end + 8 + key.count) {
            return .failure(SystemErrorCode(ENOMEM))
        }
        let h = CDBFormat.hash(key)
        var existed = false
        if mode != .add {
            switch matches(key, h) {
            case .failure(let e): return .failure(e)
            case .success(let found):
                existed = !found.isEmpty
                if existed && mode == .insert { return .success(true) }
                for n in found {
                    positions[n] = 0
                    replaced += 1
                }
            }
        }
        let n = positions.count
        positions.append(UInt32(truncatingIfNeeded: end))
        hashes.append(h)
        CDBFormat.append(UInt32(truncatingIfNeeded: key.count), to: &buffer)
        CDBFormat.append(UInt32(truncatingIfNeeded: value.count), to: &buffer)
        buffer.append(contentsOf: key)
        buffer.append(contentsOf: value)
        if positions.count * 2 > index.count {
            index = [Int32](repeating: -1, count: index.count * 2)
            for m in hashes.indices { place(m, hashes[m]) }
        } else {
            place(n, h)
        }
        if buffer.count >= CDBWriter.bufferLimit {
            let rc = flush()
            if rc != 0 { return .failure(SystemErrorCode(rc)) }
        }
        return .success(existed)
    }

    /// Close the gaps replaced records left, moving the later records down in order; returns the new
    /// end of the data, or an errno value.
    private func compact() -> Result<Int, SystemErrorCode> {
        var write = CDBFormat.headerSize
        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        // Spans of live records that are adjacent in the file move as one.
        var n = 0
        let count = positions.count
        func recordEnd(_ m: Int) -> Result<Int, SystemErrorCode> {
            let start = Int(positions[m])
            switch bytes(at: start, count: 8) {
            case .failure(let e): return .failure(e)
            case .success(let lengths):
                return .success(lengths.withUnsafeBytes { start + 8 + Int(CDBFormat.load($0, 0)) + Int(CDBFormat.load($0, 4)) })
            }
        }
        while n < count {
            if positions[n] == 0 { n += 1; continue }
            let spanStart = Int(positions[n])
            var spanEnd: Int
            switch recordEnd(n) { case .failure(let e): return .failure(e); case .success(let e): spanEnd = e }
            let shift = spanStart - write
            positions[n] = UInt32(truncatingIfNeeded: spanStart - shift)
            var m = n + 1
            while m < count, positions[m] != 0, Int(positions[m]) == spanEnd {
                switch recordEnd(m) { case .failure(let e): return .failure(e); case .success(let e): spanEnd = e }
                positions[m] = UInt32(truncatingIfNeeded: Int(positions[m]) - shift)
                m += 1
            }
            if shift > 0 {
                var from = spanStart
                while from < spanEnd {
                    let length = min(chunk.count, spanEnd - from)
                    let got = chunk.withUnsafeMutableBytes { pread(fd, $0.baseAddress, length, off_t(from)) }
                    if got < 0, errno == EINTR { continue }
                    if got <= 0 { return .failure(SystemErrorCode(got < 0 ? errno : EPROTO)) }
                    let rc = CDBWriter.writeAll(fd, Array(chunk[0..<got]), at: from - shift)
                    if rc != 0 { return .failure(SystemErrorCode(rc)) }
                    from += got
                }
            }
            write += spanEnd - spanStart
            n = m
        }
        return .success(write)
    }

    /// Write the hash tables and the header; `ENOMEM` when the file would pass 4 GiB, as tinycdb says,
    /// or the error of a write.
    func finish() -> Int32 {
        var rc = flush()
        if rc != 0 { return rc }
        var dataEnd = end
        if replaced > 0 {
            switch compact() {
            case .failure(let e): return e.code
            case .success(let newEnd): dataEnd = newEnd
            }
            if ftruncate(fd, off_t(dataEnd)) != 0 { return errno }
        }
        let live = positions.count - replaced
        if (0xFFFF_FFFF - dataEnd) >> 3 < live { return ENOMEM }

        // Live records grouped by bucket (hash & 255), each group in the order added.
        var bucketCount = [Int](repeating: 0, count: 256)
        for n in positions.indices where positions[n] != 0 { bucketCount[Int(hashes[n] & 255)] += 1 }
        var bucketStart = [Int](repeating: 0, count: 257)
        for t in 0..<256 { bucketStart[t + 1] = bucketStart[t] + bucketCount[t] }
        var fill = bucketStart
        var byBucket = [Int32](repeating: 0, count: live)
        for n in positions.indices where positions[n] != 0 {
            let t = Int(hashes[n] & 255)
            byBucket[fill[t]] = Int32(truncatingIfNeeded: n)
            fill[t] += 1
        }

        var header = [UInt8](repeating: 0, count: CDBFormat.headerSize)
        var table = [UInt8](repeating: 0, count: (bucketCount.max() ?? 0) * 16)
        bufferStart = dataEnd
        for t in 0..<256 {
            let slots = bucketCount[t] * 2
            header.withUnsafeMutableBytes { head in
                CDBFormat.store(UInt32(truncatingIfNeeded: end), at: t * 8, in: head)
                CDBFormat.store(UInt32(truncatingIfNeeded: slots), at: t * 8 + 4, in: head)
            }
            guard slots > 0 else { continue }
            table.withUnsafeMutableBytes { out in
                for i in 0..<(slots * 8) { out[i] = 0 }
                for k in bucketStart[t]..<bucketStart[t + 1] {
                    let n = Int(byBucket[k])
                    let h = hashes[n]
                    var s = Int(h >> 8) % slots
                    while CDBFormat.load(UnsafeRawBufferPointer(out), s * 8 + 4) != 0 {
                        s += 1
                        if s == slots { s = 0 }
                    }
                    CDBFormat.store(h, at: s * 8, in: out)
                    CDBFormat.store(positions[n], at: s * 8 + 4, in: out)
                }
            }
            buffer.append(contentsOf: table[0..<(slots * 8)])
            if buffer.count >= CDBWriter.bufferLimit {
                rc = flush()
                if rc != 0 { return rc }
            }
        }
        rc = flush()
        if rc != 0 { return rc }
        return CDBWriter.writeAll(fd, header, at: 0)
    }
}
