import Foundation
import PostfixText
import Testing


/// Write `bytes` to a temporary file and return a reader over it.
func reader(_ bytes: [UInt8], name: String = "src") -> (LogicalLineReader, () -> [String]) {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("llr-\(UUID().uuidString)").path
    if !FileManager.default.createFile(atPath: path, contents: Data(bytes)) { Issue.record("cannot write \(path)") }
    let fd = open(path, O_RDONLY)
    unlink(path)
    let box = WarningBox()
    let r = LogicalLineReader(ByteReader(fd: fd, path: name, bufferSize: 7), warning: { box.items.append($0) })
    return (r, { box.items })
}

final class WarningBox { var items: [String] = [] }

func lines(_ text: String) -> ([(String, Int)], [String]) {
    let (r, warnings) = reader(Array(text.utf8))
    var out: [(String, Int)] = []
    while let l = r.next() { out.append((String(decoding: l.text, as: UTF8.self), l.lineNumber)) }
    return (out, warnings())
}


@Suite struct LogicalLineReaderTests {
    @Test func joinsContinuationsVerbatim() {
        let (out, w) = lines("a 1\n  b\n\tc\nd 2\n")
        #expect(out.map(\.0) == ["a 1  b\tc", "d 2"])
        #expect(out.map(\.1) == [1, 4])
        #expect(w.isEmpty)
    }

    @Test func dropsCommentsAndBlankLinesEvenBetweenContinuations() {
        let (out, _) = lines("# top\n\nk v\n# inside\n\n   more\n  # indented comment\nz 1")
        #expect(out.map(\.0) == ["k v   more", "z 1"])
        #expect(out.map(\.1) == [3, 8])
    }

    @Test func keepsCarriageReturnsAndHashesInsideLines() {
        let (out, _) = lines("k v # not a comment\r\nx\r\n")
        #expect(out.map(\.0) == ["k v # not a comment\r", "x\r"])
    }

    @Test func leadingWhitespaceIsSkippedWithPostfixWarning() {
        let (out, w) = lines("   orphan text that is longer than thirty characters\nk v\n")
        #expect(out.map(\.0) == ["k v"])
        #expect(w == ["src: logical line must not start with whitespace: \"   orphan text that is longer ...\""])
    }

    @Test func lastLineWithoutNewline() {
        let (out, _) = lines("a 1\nb 2")
        #expect(out.map(\.0) == ["a 1", "b 2"])
    }

    @Test func longLinesCrossBufferBoundaries() {
        let long = String(repeating: "x", count: 100_000)
        let (out, _) = lines("k \(long)\n  \(long)\n")
        let expected = 200_004
        #expect(out.first?.0.count == expected)
    }
}

@Suite struct ByteTextTests {
    @Test(arguments: [[UInt8](), [0x61, 0x62], [0xFF, 0x61, 0xC3], Array("Straße".utf8), [0xF4, 0x8F, 0xBC, 0x80], [0xED, 0xA0, 0x80]])
    func roundTrip(bytes: [UInt8]) {
        #expect(ByteText.bytes(of: ByteText.string(bytes)) == bytes)
    }
}
