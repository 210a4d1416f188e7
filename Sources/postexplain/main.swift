import ArgumentParser
import Explain
import PostfixText
import ToolSupport
#if canImport(Glibc)
import Glibc
#endif

/// Options every subcommand takes: where the configuration is, which service, output form.
struct CommonOptions: ParsableArguments {
    @Option(name: [.customShort("c"), .customLong("config-directory")], help: "Read main.cf and master.cf from this directory (default: $MAIL_CONFIG, else /etc/postfix).",
            completion: .directory)
    var configDirectory: String?

    @Option(name: .customLong("service"), help: "Apply the -o settings of this master.cf service (name/type, e.g. submission/inet).")
    var service: String?

    @Option(name: [.customShort("o"), .customLong("set")], help: "Override a main.cf parameter (name=value); may be repeated.")
    var set: [String] = []

    @Flag(name: .customLong("json"), help: "Print one JSON document instead of the indented trace.")
    var json = false

    @Option(name: .customLong("color"), help: "Colour the trace: auto (on a terminal), always or never.")
    var color: ColorMode = .auto

    enum ColorMode: String, ExpressibleByArgument, CaseIterable { case auto, always, never }

    func overrides() throws -> [(String, String)] {
        try set.map { item in
            guard let eq = item.firstIndex(of: "="), eq != item.startIndex else {
                throw ValidationError("-o wants name=value, not \"\(item)\"")
            }
            return (String(item[..<eq]).trimmingCharacters(), String(item[item.index(after: eq)...]).trimmingCharacters())
        }
    }

    /// Load the context, print the explanation, and exit with its status.
    func run(_ body: (Explainer) throws(ExplainError) -> Explanation) throws {
        let explanation: Explanation
        do {
            let context = try ExplainContext.load(directory: configDirectory, service: service, overrides: try overrides())
            defer { context.close() }
            explanation = try body(Explainer(context: context))
        } catch let error as ExplainError {
            if json {
                print("{\"error\": \(ExplainRenderer.jsonString(error.message)), \"exit_status\": \(error.exitStatus)}")
            }
            let line = Array("postexplain: error: \(error.message)\n".utf8)
            _ = line.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
            throw ExitCode(error.exitStatus)
        }
        if json {
            print(ExplainRenderer.json(explanation), terminator: "")
        } else {
            let colour = color == .always || (color == .auto && isatty(1) != 0)
            print(ExplainRenderer.text(explanation, colour: colour), terminator: "")
        }
        let status = explanation.verdict.exitStatus
        if status != 0 { throw ExitCode(status) }
    }
}

extension String {
    func trimmingCharacters() -> String {
        String(drop(while: { $0 == " " }).reversed().drop(while: { $0 == " " }).reversed())
    }
}

@main
struct PostExplain: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "postexplain",
        abstract: "Explain Postfix's lookups offline: which keys, tables and rules decide an address, a client or a header.",
        discussion: """
        Exit status: 0 found or decided, 1 not found (nothing matched), 2 bad input (unknown parameter, \
        malformed address), 3 depends on something not evaluated offline (DNS, a policy service, data not \
        given), 4 configuration error (a table that cannot be opened), 64 usage error, 75 temporary table error.
        """,
        version: ToolVersion.line(program: "postexplain"),
        subcommands: [Lookup.self, Restrictions.self, Headers.self],
        helpNames: [.long])
}

struct Lookup: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show the keys Postfix tries for one role, in order, and which table and rule answers.",
        discussion: "Roles: " + Explainer.Role.allCases.map(\.rawValue).joined(separator: ", ") + ".",
        helpNames: [.long])

    @OptionGroup var common: CommonOptions

    @Option(name: .customLong("table"), help: "The table(s) to search instead of the role's parameter (required for check_*_access roles).")
    var table: String?

    @Argument(help: ArgumentHelp("The role: a *_maps parameter or a check_*_access restriction.", valueName: "role"),
              completion: .list(Explainer.Role.allCases.map(\.rawValue)))
    var role: String

    @Argument(help: ArgumentHelp("The address, client (name[address]), HELO name or alias name.", valueName: "key"))
    var key: String

    func run() throws {
        try common.run { explainer throws(ExplainError) in
            guard let role = Explainer.Role(rawValue: self.role) else {
                var known = false
                if (try? explainer.context.parameter(self.role)) != nil { known = true }
                let hint = Explainer.Role.suggestion(for: self.role).map { " (did you mean \($0.rawValue)?)" } ?? ""
                throw ExplainError(.input, known ? "\(self.role): not a role postexplain knows\(hint) (roles: \(Explainer.Role.allCases.map(\.rawValue).joined(separator: ", ")))"
                                               : "unknown parameter name or role: \(self.role)\(hint)")
            }
            return try explainer.lookup(role: role, subject: ByteText.bytes(of: key), table: table)
        }
    }
}

struct Restrictions: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Evaluate smtpd's restriction lists for an envelope and show which restriction decided.",
        helpNames: [.long])

    @OptionGroup var common: CommonOptions

    @Option(name: .customLong("client"), help: "The client as name[address], [address] or address.")
    var client: String

    @Option(name: .customLong("helo"), help: "The HELO/EHLO name.")
    var helo: String?

    @Option(name: .customLong("sender"), help: "The envelope sender (<> for the null sender).")
    var sender: String?

    @Option(name: .customLong("recipient"), help: "The envelope recipient.")
    var recipient: String?

    @Option(name: .customLong("sasl-user"), help: "The SASL login name, when the client authenticated.")
    var saslUser: String?

    func run() throws {
        try common.run { explainer throws(ExplainError) in
            var envelope = Envelope()
            let (name, address) = try Explainer.parseClient(ByteText.bytes(of: client))
            envelope.clientName = name
            envelope.clientAddress = address
            envelope.helo = helo.map(ByteText.bytes(of:))
            if let sender {
                let s = sender == "<>" ? "" : sender
                if !s.isEmpty { try explainer.validateEnvelopeAddress(ByteText.bytes(of: s), what: "--sender") }
                envelope.sender = ByteText.bytes(of: s)
            }
            if let recipient {
                try explainer.validateEnvelopeAddress(ByteText.bytes(of: recipient), what: "--recipient")
                envelope.recipient = ByteText.bytes(of: recipient)
            }
            envelope.saslUser = saslUser.map(ByteText.bytes(of:))
            return try explainer.restrictions(envelope)
        }
    }
}

struct Headers: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a message (stdin) or header lines (--header) through header_checks, mime_header_checks and body_checks.",
        discussion: """
        With --stage smtp (or lmtp), the checks are the smtp (lmtp) client's on output: smtp_header_checks, \
        smtp_mime_header_checks, smtp_nested_header_checks and smtp_body_checks, with the actions the client \
        implements (WARN, INFO, REPLACE, PREPEND, STRIP, IGNORE, DUNNO, OK). Use --service to apply a \
        master.cf transport's -o settings (e.g. --service smtp/unix).
        """,
        helpNames: [.long])

    @OptionGroup var common: CommonOptions

    @Option(name: .customLong("stage"), help: ArgumentHelp(
        "Whose checks: cleanup (on input: header_checks, mime_header_checks, nested_header_checks, body_checks), smtp or lmtp (on output: smtp_header_checks, smtp_mime_header_checks, smtp_nested_header_checks, smtp_body_checks, or lmtp_*).",
        valueName: "stage"))
    var stageOption: StageOption = .cleanup
    var stage: Explainer.CheckStage { stageOption.stage }

    @Option(name: .customLong("header"), help: "A header line (Name: value) to check instead of a message on stdin; may be repeated.")
    var header: [String] = []

    func run() throws {
        try common.run { explainer throws(ExplainError) in
            if !header.isEmpty {
                let text = header.map { ByteText.bytes(of: $0) }.joined(separator: [0x0A])
                return try explainer.headerChecks(Array(text), headersOnly: true, stage: stage)
            }
            // The message is read as it is checked, one line at a time: memory does not grow with it.
            var reader = FileDescriptorLines(fd: 0)
            return try explainer.headerChecks(headersOnly: false, stage: stage) { reader.next() }
        }
    }
}

/// Lines (without their newlines) read from a file descriptor in 64 KB chunks.
struct FileDescriptorLines {
    let fd: Int32
    private var buffer = [UInt8](repeating: 0, count: 65536)
    private var pending: [UInt8] = []
    private var start = 0
    private var end = 0
    private var atEOF = false

    init(fd: Int32) { self.fd = fd }

    mutating func next() -> [UInt8]? {
        while true {
            if let nl = buffer[start..<end].firstIndex(of: 0x0A) {
                var line = pending
                line.append(contentsOf: buffer[start..<nl])
                pending.removeAll(keepingCapacity: true)
                start = nl + 1
                return line
            }
            pending.append(contentsOf: buffer[start..<end])
            start = 0; end = 0
            if atEOF {
                guard !pending.isEmpty else { return nil }
                defer { pending.removeAll() }
                return pending
            }
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { atEOF = true } else { end = n }
        }
    }
}

/// The --stage values: Explain's CheckStage, named here so the library does not depend on the parser.
enum StageOption: String, ExpressibleByArgument, CaseIterable {
    case cleanup, smtp, lmtp
    var stage: Explainer.CheckStage {
        switch self {
        case .cleanup: .cleanup
        case .smtp: .smtp
        case .lmtp: .lmtp
        }
    }
}
