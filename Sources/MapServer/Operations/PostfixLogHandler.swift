import Logging
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// swift-log output in Postfix's style: `postmapd[PID]: warning: TEXT`, to stderr or to syslog(3).
///
/// Levels map to Postfix's prefixes: warning → `warning:`, error → `error:`, critical → `fatal:`,
/// info and notice → no prefix; debug and trace are printed only when the logger's level asks.
public struct PostfixLogHandler: LogHandler {
    public enum Destination: String, Sendable, CaseIterable { case stderr, syslog }

    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level = .info
    private let name: String
    private let destination: Destination

    public init(name: String, destination: Destination) {
        self.name = name
        self.destination = destination
    }

    /// Open syslog with Postfix's conventions (`LOG_PID`, `LOG_NDELAY`) under `name` and `facility`.
    public static func openSyslog(name: String, facility: String) {
        let codes: [String: Int32] = ["mail": LOG_MAIL, "daemon": LOG_DAEMON, "user": LOG_USER, "local0": LOG_LOCAL0,
                                      "local1": LOG_LOCAL1, "local2": LOG_LOCAL2, "local3": LOG_LOCAL3,
                                      "local4": LOG_LOCAL4, "local5": LOG_LOCAL5, "local6": LOG_LOCAL6, "local7": LOG_LOCAL7]
        syslogIdent.withLock { ident in
            ident = strdup(name)
            openlog(ident, LOG_PID | LOG_NDELAY, codes[facility] ?? LOG_MAIL)
        }
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        let prefix: String
        let priority: Int32
        switch event.level {
        case .trace, .debug: prefix = "debug: "; priority = LOG_DEBUG
        case .info: prefix = ""; priority = LOG_INFO
        case .notice: prefix = ""; priority = LOG_NOTICE
        case .warning: prefix = "warning: "; priority = LOG_WARNING
        case .error: prefix = "error: "; priority = LOG_ERR
        case .critical: prefix = "fatal: "; priority = LOG_CRIT
        }
        let text = prefix + event.message.description
        switch destination {
        case .stderr:
            let line = "\(name)[\(getpid())]: \(text)\n"
            let bytes = Array(line.utf8)
            bytes.withUnsafeBytes { raw in
                var offset = 0
                while offset < raw.count {
                    let n = write(2, raw.baseAddress.map { $0 + offset }, raw.count - offset)
                    if n < 0, errno == EINTR { continue }
                    if n <= 0 { break }
                    offset += n
                }
            }
        case .syslog:
            text.withCString { cText in
                withVaList([cText]) { vsyslog(priority, "%s", $0) }
            }
        }
    }
}

/// openlog(3) keeps the ident pointer: it lives for the process.
private let syslogIdent = Mutex<UnsafeMutablePointer<CChar>?>(nil)
