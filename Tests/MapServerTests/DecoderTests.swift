import Maps
import MapServer
import NIOCore
import NIOEmbedded
import NIOTestUtils
import Testing
import TestSupport

@Suite("protocol decoders")
struct DecoderTests {
    @Test("netstrings: whole and byte by byte, pipelined, empty payload")
    func netstrings() throws {
        try ByteToMessageDecoderVerifier.verifyDecoder(stringInputOutputPairs: [
            ("13:mymap abc def,", [.started, .request(Array("mymap abc def".utf8))]),
            ("0:,", [.started, .request([])]),
            ("5:a b\n\0,", [.started, .request([0x61, 0x20, 0x62, 0x0A, 0x00])]),
        ]) { NetstringDecoder(maximumLength: 100) }
    }

    @Test("tcp_table lines: whole and byte by byte, CR dropped")
    func lines() throws {
        try ByteToMessageDecoderVerifier.verifyDecoder(stringInputOutputPairs: [
            ("get abc%20d%25e\n", [.started, .request(Array("get abc%20d%25e".utf8))]),
            ("get x\r\n", [.started, .request(Array("get x".utf8))]),
            ("\n", [.started, .request([])]),
        ]) { LineDecoder(maximumLength: 100) }
    }

    @Test("a netstring length past the limit is refused before its payload arrives",
          arguments: ["1099511627776:", "101:", "99999999999", "12345678901:"])
    func hugeLength(prefix: String) throws {
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(NetstringDecoder(maximumLength: 100)))
        #expect(throws: ProtocolViolation.self) {
            try channel.writeInbound(ByteBuffer(string: prefix))
        }
    }

    @Test("malformed netstrings", arguments: ["x:abc,", ":abc,", "3:abcX", "3;abc,"])
    func malformed(input: String) throws {
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(NetstringDecoder(maximumLength: 100)))
        #expect(throws: ProtocolViolation.self) {
            try channel.writeInbound(ByteBuffer(string: input))
        }
    }

    @Test("an overlong line is refused once the limit is passed without a newline")
    func longLine() throws {
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(LineDecoder(maximumLength: 10)))
        try channel.writeInbound(ByteBuffer(string: "get 12345"))
        #expect(throws: ProtocolViolation.self) {
            try channel.writeInbound(ByteBuffer(string: "67890"))
        }
    }
}

@Suite("protocol texts")
struct ProtocolTextTests {
    @Test("socketmap requests: name and raw key")
    func socketmapRequests() throws {
        let (name, key) = try SocketmapProtocol.parse(Array("virtual a b%c".utf8))
        #expect(name == "virtual")
        #expect(key == Array("a b%c".utf8))
        #expect(throws: ProtocolViolation.self) { try SocketmapProtocol.parse(Array("virtual".utf8)) }
        #expect(throws: ProtocolViolation.self) { try SocketmapProtocol.parse(Array(" key".utf8)) }
    }

    @Test("socketmap replies")
    func socketmapReplies() {
        #expect(SocketmapProtocol.reply(.found(Array("x y".utf8))) == Array("OK x y".utf8))
        #expect(SocketmapProtocol.reply(.notFound) == Array("NOTFOUND ".utf8))
        #expect(SocketmapProtocol.reply(.temporary("ldap down\n")) == Array("TEMP ldap down_".utf8))
        #expect(SocketmapProtocol.reply(.permanent("unknown table t")) == Array("PERM unknown table t".utf8))
        let big = [UInt8](repeating: 0x61, count: SocketmapProtocol.maximumReply)
        #expect(SocketmapProtocol.reply(.found(big)).starts(with: Array("TEMP ".utf8)))
    }

    @Test("tcp_table: get, %XX in either case, bad quoting refused")
    func tcpRequests() throws {
        #expect(try TCPTableProtocol.parse(Array("get abc%20d%25e".utf8)) == Array("abc d%e".utf8))
        #expect(try TCPTableProtocol.parse(Array("get A%c3%A9".utf8)) == [0x41, 0xC3, 0xA9])
        #expect(try TCPTableProtocol.parse(Array("GET x".utf8)) == [0x78])
        for bad in ["put a b", "get", "get %zz", "get abc%2", "hello"] {
            #expect(throws: ProtocolViolation.self) { try TCPTableProtocol.parse(Array(bad.utf8)) }
        }
    }

    @Test("tcp_table replies quote %, control characters and DEL")
    func tcpReplies() {
        #expect(TCPTableProtocol.reply(.found(Array("a b%\n\u{7F}é".utf8))) == Array("200 a b%25%0A%7Fé\n".utf8))
        #expect(TCPTableProtocol.reply(.notFound) == Array("500 not found\n".utf8))
        #expect(TCPTableProtocol.reply(.temporary("down")) == Array("400 down\n".utf8))
        #expect(TCPTableProtocol.reply(.permanent("no")) == Array("400 no\n".utf8))
        for value: [UInt8] in [[], [0], Array(0...255)] {
            let line = TCPTableProtocol.reply(.found(value))
            #expect(line.filter { $0 == 0x0A }.count == 1)
            #expect(TCPQuoting.unquote(line[4..<(line.count - 1)]) == value)
        }
    }
}

@Suite("connection timer")
struct ConnectionTimerTests {
    private func channel(_ expiries: ExpiryLog) throws -> EmbeddedChannel {
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(NetstringDecoder(maximumLength: 1000)))
        try channel.pipeline.syncOperations.addHandler(ConnectionTimer(idleTimeout: .seconds(30), requestTimeout: .seconds(5)) {
            expiries.add($0)
        })
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        return channel
    }

    @Test("a request that arrives too slowly is cut off at the request timeout")
    func slowRequest() throws {
        let log = ExpiryLog()
        let channel = try channel(log)
        try channel.writeInbound(ByteBuffer(string: "10:virt"))
        channel.embeddedEventLoop.advanceTime(by: .seconds(4))
        try channel.writeInbound(ByteBuffer(string: "ual"))
        #expect(channel.isActive)
        channel.embeddedEventLoop.advanceTime(by: .seconds(2))
        #expect(!channel.isActive)
        #expect(log.all == [.request])
    }

    @Test("pipelined requests from one read are passed on as one batch")
    func batches() throws {
        let channel = try channel(ExpiryLog())
        try channel.writeInbound(ByteBuffer(string: "3:a b,3:c d,5:e"))
        #expect(try channel.readInbound(as: [[UInt8]].self) == [Array("a b".utf8), Array("c d".utf8)])
        try channel.writeInbound(ByteBuffer(string: " fgh,"))
        #expect(try channel.readInbound(as: [[UInt8]].self) == [Array("e fgh".utf8)])
    }

    @Test("requests answered in time keep the connection; idleness closes it")
    func idle() throws {
        let log = ExpiryLog()
        let channel = try channel(log)
        for _ in 0..<3 {
            try channel.writeInbound(ByteBuffer(string: "3:a b,"))
            #expect(try channel.readInbound(as: [[UInt8]].self) == [Array("a b".utf8)])
            channel.embeddedEventLoop.advanceTime(by: .seconds(20))
            #expect(channel.isActive)
            try channel.writeOutbound(ByteBuffer(string: "9:NOTFOUND ,"))
            channel.embeddedEventLoop.advanceTime(by: .seconds(29))
            #expect(channel.isActive)
        }
        channel.embeddedEventLoop.advanceTime(by: .seconds(2))
        #expect(!channel.isActive)
        #expect(log.all == [.idle])
    }
}

final class ExpiryLog: @unchecked Sendable {
    // `@unchecked Sendable`: EmbeddedChannel runs everything on the test's thread.
    var all: [ConnectionTimer.Expiry] = []
    func add(_ e: ConnectionTimer.Expiry) { all.append(e) }
}
