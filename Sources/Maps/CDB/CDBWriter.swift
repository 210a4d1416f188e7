import PostfixText
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Collects the records of a new cdb file and lays them out exactly as tinycdb's `cdb_make` does, so
/// the same records in the same order give the same bytes:
///
/// - records in the order they were added; a record replaced (`.replace`) is taken out of the data
///   as if it had never been written, and the new one goes at the end (tinycdb moves the later data
///   down over it);
/// - the 256 hash tables in bucket order, each with twice as many slots as records, each bucket's
///   records placed in the order they were added; an empty bucket's header entry holds the position
///   where the tables were being written and 0 slots.
///
/// The records are kept in memory until `finish`, with an index by hash that finds a duplicate key
/// in constant time (tinycdb scans every earlier record of the key's bucket).
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

    /// Every record as it is written: key length, value length, key, value.
    private var data: [UInt8] = []
    /// Per record: its hash.
    private var hashes: [UInt32] = []
    /// Per record: its offset in `data`, or -1 once it was replaced.
    private var offsets: [Int] = []
    /// Open-addressing index of record numbers by hash (-1: empty), a power of two in size.
    private var index: [Int32] = []
    private var replaced = 0

    init(expectedBytes: Int = 0) {
        data.reserveCapacity(max(expectedBytes + expectedBytes / 4, 4096))
        index = [Int32](repeating: -1, count: 1024)
    }

    /// The number of records that `finish` writes.
    var count: Int { offsets.count - replaced }

    @inline(__always)
    private func start(_ h: UInt32, _ mask: Int) -> Int {
        Int(truncatingIfNeeded: (h &* 0x9E37_79B1) >> 7) & mask
    }

    /// The live records whose key is `key`, in the order they were added.
    private func matches(_ key: UnsafeRawBufferPointer, _ h: UInt32) -> [Int] {
        var out: [Int] = []
        let mask = index.count - 1
        var i = start(h, mask)
        data.withUnsafeBytes { raw in
            while true {
                let n = Int(index[i])
                if n < 0 { break }
                let off = offsets[n]
                if hashes[n] == h, off >= 0, Int(CDBFormat.load(raw, off)) == key.count,
                   CDBFormat.equal(raw.baseAddress.map { $0 + off + 8 }, key.baseAddress, key.count) {
                    out.append(n)
                }
                i = (i + 1) & mask
            }
        }
        return out.sorted()
    }

    private func insertIndex(_ n: Int, _ h: UInt32) {
        if (offsets.count) * 2 > index.count {
            let old = index
            index = [Int32](repeating: -1, count: old.count * 2)
            for entry in old where entry >= 0 { place(Int(entry), hashes[Int(entry)]) }
        }
        place(n, h)
    }

    private func place(_ n: Int, _ h: UInt32) {
        let mask = index.count - 1
        var i = start(h, mask)
        while index[i] >= 0 { i = (i + 1) & mask }
        index[i] = Int32(n)
    }

    /// Add one record. Returns true when the key was already present (for `.insert` nothing was
    /// stored; for `.replace` the old record was dropped).
    @discardableResult
    func put(_ key: [UInt8], _ value: [UInt8], mode: PutMode) -> Bool {
        let h = CDBFormat.hash(key)
        var existed = false
        if mode != .add {
            let found = key.withUnsafeBytes { matches($0, h) }
            existed = !found.isEmpty
            if existed && mode == .insert { return true }
            for n in found {
                offsets[n] = -1
                replaced += 1
            }
        }
        let n = offsets.count
        offsets.append(data.count)
        hashes.append(h)
        CDBFormat.append(UInt32(truncatingIfNeeded: key.count), to: &data)
        CDBFormat.append(UInt32(truncatingIfNeeded: value.count), to: &data)
        data.append(contentsOf: key)
        data.append(contentsOf: value)
        insertIndex(n, h)
        return existed
    }

    /// Write the whole file through `write` (header, records, hash tables); `ENOMEM` when it would
    /// pass 4 GiB, as tinycdb says, or the first error `write` returns.
    func finish(_ write: (UnsafeRawBufferPointer) -> Int32) -> Int32 {
        // The records that stay, with their file positions.
        var positions = [UInt32](repeating: 0, count: offsets.count)
        var live: [Int] = []
        live.reserveCapacity(count)
        var pos = CDBFormat.headerSize
        for n in offsets.indices where offsets[n] >= 0 {
            positions[n] = UInt32(truncatingIfNeeded: pos)
            pos += recordLength(n)
            live.append(n)
            if pos > 0xFFFF_FFFF { return ENOMEM }
        }
        let dataEnd = pos
        if (0xFFFF_FFFF - dataEnd) >> 3 < live.count { return ENOMEM }

        // Live records grouped by bucket (hash & 255), each group in the order added.
        var bucketCount = [Int](repeating: 0, count: 256)
        for n in live { bucketCount[Int(hashes[n] & 255)] += 1 }
        var bucketStart = [Int](repeating: 0, count: 257)
        for t in 0..<256 { bucketStart[t + 1] = bucketStart[t] + bucketCount[t] }
        var fill = bucketStart
        var byBucket = [Int](repeating: 0, count: live.count)
        for n in live {
            let t = Int(hashes[n] & 255)
            byBucket[fill[t]] = n
            fill[t] += 1
        }

        var header = [UInt8](repeating: 0, count: CDBFormat.headerSize)
        var tables = [UInt8](repeating: 0, count: live.count * 16)
        var tablePos = dataEnd
        var written = 0
        header.withUnsafeMutableBytes { head in
            tables.withUnsafeMutableBytes { out in
                for t in 0..<256 {
                    let records = bucketCount[t]
                    let slots = records * 2
                    CDBFormat.store(UInt32(truncatingIfNeeded: tablePos), at: t * 8, in: head)
                    CDBFormat.store(UInt32(truncatingIfNeeded: slots), at: t * 8 + 4, in: head)
                    guard slots > 0 else { continue }
                    let table = written
                    for k in bucketStart[t]..<bucketStart[t + 1] {
                        let n = byBucket[k]
                        let h = hashes[n]
                        var slot = Int(h >> 8) % slots
                        while CDBFormat.load(UnsafeRawBufferPointer(out), table + slot * 8 + 4) != 0 {
                            slot += 1
                            if slot == slots { slot = 0 }
                        }
                        CDBFormat.store(h, at: table + slot * 8, in: out)
                        CDBFormat.store(positions[n], at: table + slot * 8 + 4, in: out)
                    }
                    written += slots * 8
                    tablePos += slots * 8
                }
            }
        }
        var rc = header.withUnsafeBytes { write($0) }
        if rc != 0 { return rc }
        if replaced == 0 {
            rc = data.withUnsafeBytes { write($0) }
        } else {
            var compact: [UInt8] = []
            compact.reserveCapacity(dataEnd - CDBFormat.headerSize)
            for n in live { compact.append(contentsOf: data[offsets[n]..<(offsets[n] + recordLength(n))]) }
            rc = compact.withUnsafeBytes { write($0) }
        }
        if rc != 0 { return rc }
        return tables.withUnsafeBytes { write(UnsafeRawBufferPointer(rebasing: $0[0..<written])) }
    }

    private func recordLength(_ n: Int) -> Int {
        data.withUnsafeBytes { raw in
            let off = offsets[n]
            return 8 + Int(CDBFormat.load(raw, off)) + Int(CDBFormat.load(raw, off + 4))
        }
    }
}
