import Foundation
import Maps
import MapTools
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

@Suite struct SourceRecordTests {
    @Test(arguments: [
        ("key value", "key", "value"),
        ("key   value with  spaces  ", "key", "value with  spaces"),
        ("\"a b\" c", "\"a b\"", "c"),
        ("gg\\ hh v", "gg\\ hh", "v"),
        ("\"gg\\\"hh\" v", "\"gg\\\"hh\"", "v"),
        ("k\tv\r", "k", "v"),
        ("key: value", "key:", "value"),
    ])
    func splits(line: String, key: String, value: String) throws {
        let r = try SourceRecord.split(Array(line.utf8)).get()
        #expect(String(decoding: r.key, as: UTF8.self) == key)
        #expect(String(decoding: r.value, as: UTF8.self) == value)
    }

    @Test(arguments: ["novalue", "novalue   ", "trailing\\", "x\\"])
    func missingValue(line: String) {
        #expect(throws: SourceRecord.Failure.expectedKeyValue) { try SourceRecord.split(Array(line.utf8)).get() }
    }

    @Test func unbalancedQuote() {
        #expect(throws: SourceRecord.Failure.unbalancedQuote) { try SourceRecord.split(Array("\"a b c".utf8)).get() }
    }

    @Test func textAfterNulIsIgnored() throws {
        let r = try SourceRecord.split([0x6B, 0x20, 0x76, 0x00, 0x78]).get()
        #expect(r.value == [0x76])
    }
}

@Suite struct GetoptTests {
    @Test func combinedFlagsAndArguments() throws {
        let r = try Getopt.parse(["-fq", "KEY", "-cdir", "map", "-x"], spec: "c:fq:").get()
        #expect(r.options.map(\.letter) == ["f", "q", "c"])
        #expect(r.options.map(\.argument) == [nil, "KEY", "dir"])
        #expect(r.operands == ["map", "-x"]) // options stop at the first operand ("+" mode)
    }

    @Test func doubleDashAndLoneDash() throws {
        let r = try Getopt.parse(["--", "-q"], spec: "q:").get()
        #expect(r.operands == ["-q"])
        let s = try Getopt.parse(["-q", "-", "-"], spec: "q:").get()
        #expect(s.options.first?.argument == "-")
        #expect(s.operands == ["-"])
    }

    @Test func glibcMessages() {
        guard case .failure(let a) = Getopt.parse(["-z"], spec: "q:") else { Issue.record("accepted -z"); return }
        #expect(a.message == "invalid option -- 'z'")
        guard case .failure(let b) = Getopt.parse(["-q"], spec: "q:") else { Issue.record("accepted -q"); return }
        #expect(b.message == "option requires an argument -- 'q'")
    }
}

@Suite struct ByteTextTests {
    @Test(arguments: [[UInt8](), [0x61, 0x62], [0xFF, 0x61, 0xC3], Array("Straße".utf8), [0xF4, 0x8F, 0xBC, 0x80], [0xED, 0xA0, 0x80]])
    func roundTrip(bytes: [UInt8]) {
        #expect(ByteText.bytes(of: ByteText.string(bytes)) == bytes)
    }
}
