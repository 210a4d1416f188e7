import Testing
@testable import PostfixText

/// The per-release client data: the 3.10 rules that have no oracle-free check elsewhere.
@Suite struct ClientBehaviourTests {
    func nulLines(_ bytes: [UInt8], warning: String?) -> ([Int], [String]) {
        let box = WarningBox()
        let r = LogicalLineReader(ByteReader(bytes: bytes, path: "src"), nullByteWarning: warning,
                                  warning: { box.items.append($0) })
        var numbers: [Int] = []
        while let l = r.next() { numbers.append(l.lineNumber) }
        return (numbers, box.items)
    }

    @Test func nullBytesAreReportedPerLogicalLineOnlyWhenTheReleaseSaysSo() {
        let text: [UInt8] = Array("a".utf8) + [0] + Array(" b\nc d\n  e".utf8) + [0] + Array("\n#x".utf8) + [0] + Array("\n".utf8)
        let why = ClientBehaviour.v3_10.nullByteWarning
        let (numbers, warnings) = nulLines(text, warning: why)
        #expect(numbers == [1, 2])
        #expect(warnings == ["src, line 1: text after null byte may be ignored",
                             "src, line 2-4: text after null byte may be ignored"])
        #expect(nulLines(text, warning: ClientBehaviour.v3_7.nullByteWarning).1.isEmpty)
        // Only a comment with a NUL, at the end: reported against the last line, and no logical line.
        let (none, tail) = nulLines(Array("# a\n#".utf8) + [0] + Array("\n".utf8), warning: why)
        #expect(none.isEmpty)
        #expect(tail == ["src, line 2: text after null byte may be ignored"])
    }

    @Test func utf8CharacterEndFollowsParseUTF8Char() {
        #expect(ClientBehaviour.utf8CharacterEnd([0xC3, 0xA9], at: 0) == 1)
        #expect(ClientBehaviour.utf8CharacterEnd([0xC1, 0xA9], at: 0) == nil)          // over-long
        #expect(ClientBehaviour.utf8CharacterEnd([0xE0, 0x9F, 0x80], at: 0) == nil)    // over-long
        #expect(ClientBehaviour.utf8CharacterEnd([0xED, 0xA0, 0x80], at: 0) == nil)    // surrogate
        #expect(ClientBehaviour.utf8CharacterEnd([0xE2, 0x82, 0xAC], at: 0) == 2)
        #expect(ClientBehaviour.utf8CharacterEnd([0xF4, 0x90, 0x80, 0x80], at: 0) == nil) // past U+10FFFF
        #expect(ClientBehaviour.utf8CharacterEnd([0xF0, 0x9F, 0x98, 0x80], at: 0) == 3)
        #expect(ClientBehaviour.utf8CharacterEnd([0xC3], at: 0) == nil)                // cut short
        #expect(ClientBehaviour.utf8CharacterEnd([0x80], at: 0) == nil)
    }

    @Test func templatesAndReleases() {
        #expect(ClientBehaviour.fill(ClientBehaviour.v3_10.unknownTypeWarning ?? "", "foo")
                == "unsupported dictionary type: foo. Is the postfix-foo package installed?")
        #expect(PostfixRelease.v3_10.clients.buildWithoutCreator == "no 'map create' support for this type: %s")
        #expect(PostfixRelease.v3_7.clients.aliasNameNotLocal == "name must be local")
        #expect(!PostfixRelease.v3_7.clients.sqlDuplicateLoneHost)
        #expect(PostfixRelease.v3_10.clients.sqlDuplicateLoneHost)
    }
}
