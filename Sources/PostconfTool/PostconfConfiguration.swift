import ToolSupport
import PostfixConfig
import PostfixText
#if canImport(Glibc)
import Glibc
#endif

/// main.cf and master.cf as postconf reads them (its parameter session: built-in, service and user
/// parameters, `$name` expansion with master.cf `-o` scopes), for a migration plan
/// (`DatabaseMigration.plan` in PostfixConfig). postmap-migrate passes it to MapMigration.
public final class PostconfConfiguration: MigrationConfiguration {
    private let session: PostconfSession
    private let messages: MessageWriter

    /// Read the configuration in `directory` (nil: `$MAIL_CONFIG`, else `/etc/postfix`); postconf's
    /// warnings are collected and dropped, its fatal errors thrown.
    public init(directory: String?, program: String) throws(Fatal) {
        messages = MessageWriter(program: program, collect: true)
        session = PostconfSession(mode: [], messages: messages, out: OutputBuffer(capture: true),
                                  configOverride: directory, processName: Array(text: "postconf"),
                                  processID: getpid())
        session.lenientHostDefaults = true
        try session.readParameters()
        try session.readMaster(failOnOpenError: false)
        session.registerBuiltinParameters()
        session.registerServiceParameters()
        try session.registerUserParameters()
        messages.clear()
    }

    public var directory: String { session.directory }

    public var mainEntries: [(name: [UInt8], value: [UInt8])] { session.mainTable.entries }

    public var masterEntries: [MasterEntry] { session.master }

    public func defaultValue(_ name: [UInt8]) throws(Fatal) -> [UInt8]? {
        guard let node = session.registry[name] else { return nil }
        return try session.defaultValue(name, node)
    }

    public func expand(_ name: [UInt8], _ value: [UInt8], scope: MasterEntry?) throws(Fatal) -> [UInt8] {
        defer { messages.clear() }
        if session.registry[name]?.flags.contains(.raw) == true { return value }
        return try session.expand(value, mode: [], scope: scope)
    }
}
