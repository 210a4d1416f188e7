import Testing
import ToolSupport

@Suite struct OutputBufferTests {
    @Test func keepsRawBytesOfByteTextStrings() {
        let out = OutputBuffer(capture: true)
        out.write([0xFF, 0x00, 0x41])
        out.write("é")
        out.flush()
        #expect(out.captured == [0xFF, 0x00, 0x41, 0xC3, 0xA9])
    }

    @Test func writesWholeBlocksUntilFlushed() {
        let out = OutputBuffer(capture: true)
        out.write([UInt8](repeating: 0x61, count: 5000))
        #expect(out.captured.count == 4096)
        out.flush()
        #expect(out.captured.count == 5000)
    }
}

@Suite struct MessageWriterTests {
    @Test func printableAsPostfix() {
        #expect(MessageWriter.printable([0x61, 0x0A, 0xC3, 0xA9], utf8: false) == [0x61, 0x3F, 0x3F, 0x3F])
        #expect(MessageWriter.printable([0x61, 0x0A, 0xC3, 0xA9], utf8: true) == [0x61, 0x3F, 0xC3, 0xA9])
    }

    @Test func collectsAndMutes() {
        let m = MessageWriter(program: "postmap", collect: true)
        m.warning("one")
        m.muted.store(true, ordering: .relaxed)
        m.warning("dropped")
        m.muted.store(false, ordering: .relaxed)
        m.fatal("two")
        #expect(m.collected == ["warning: one", "fatal: two"])
        #expect(MessageWriter.basename("/usr/sbin/postmap") == "postmap")
    }
}

@Suite struct PrintableTests {
    @Test func strictUTF8OfPostfix310() {
        // "é", an over-long "/", a lone continuation byte, a cut-short lead at the end, a control.
        let input: [UInt8] = [0x61, 0xC3, 0xA9, 0xC0, 0xAF, 0x80, 0x09, 0xE2, 0x82]
        #expect(MessageWriter.printable(input, utf8: true, strict: true) == [0x61, 0xC3, 0xA9, 0x3F, 0x3F, 0x3F, 0x3F, 0x3F, 0x3F])
        // 3.7 keeps a lead byte's continuation bytes whatever they spell.
        #expect(MessageWriter.printable(input, utf8: true, strict: false) == [0x61, 0xC3, 0xA9, 0x3F, 0x3F, 0x3F, 0x3F, 0xE2, 0x82])
        #expect(MessageWriter.printable(input, utf8: false, strict: true) == [0x61, 0x3F, 0x3F, 0x3F, 0x3F, 0x3F, 0x3F, 0x3F, 0x3F])
    }
}
