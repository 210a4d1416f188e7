import ArgumentParser
import Dispatch
import Logging
import MapServer
import ServiceLifecycle
#if canImport(Glibc)
import Glibc
#endif

/// postmapd: serve lookup tables to Postfix over tcp_table and socketmap (postmapd(8)).
@main
struct PostmapDaemon: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "postmapd",
        abstract: "Serve Postfix lookup tables over the tcp_table and socketmap protocols.",
        discussion: """
            The configuration file (postmapd.cf(5), main.cf syntax) names the tables, as table_NAME = type:name, \
            the *_maps parameters of a Postfix main.cf to serve (postfix_maps), and the listeners \
            (socketmap_listen, tcp_table_listen). SIGHUP re-reads it; SIGTERM stops the server gracefully.
            """,
        version: "postmapd (postfix-maps) \(ServerVersion.project), compatible with Postfix \(ServerVersion.postfix)",
        helpNames: [.long]
    )

    @Option(name: .long, help: ArgumentHelp("The configuration file.", valueName: "path"))
    var config = "/etc/postmapd/postmapd.cf"

    @Flag(name: .long, help: "Read the configuration and open every table, report problems, and exit.")
    var check = false

    @Option(name: .long, help: ArgumentHelp("Where messages go: stderr or syslog.", valueName: "destination"))
    var log: PostfixLogHandler.Destination = .stderr

    func run() throws {
        let configuration: ServerConfiguration
        let stderrLogger = Logger(label: "postmapd") { _ in PostfixLogHandler(name: "postmapd", destination: .stderr) }
        do {
            configuration = try ServerConfiguration.load(config)
        } catch {
            stderrLogger.critical("\(error.message)")
            throw ExitCode(1)
        }
        let destination = check ? .stderr : log
        if destination == .syslog {
            PostfixLogHandler.openSyslog(name: configuration.syslogName, facility: configuration.syslogFacility)
        }
        let name = configuration.syslogName
        let logger = Logger(label: "postmapd") { _ in PostfixLogHandler(name: name, destination: destination) }
        for text in configuration.unused { logger.warning("\(text)") }
        if check {
            do {
                let directory = try TableDirectory.open(configuration, logger: logger)
                for text in directory.warnings { logger.warning("\(text)") }
            } catch {
                logger.critical("\(error.message)")
                throw ExitCode(1)
            }
            return
        }
        let server = MapServer(config: configuration, configPath: config, logger: logger)
        let group = ServiceGroup(configuration: ServiceGroupConfiguration(
            services: [.init(service: server)],
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: Logger(label: "postmapd.lifecycle") { _ in SwiftLogNoOpLogHandler() }
        ))
        // The main thread waits here instead of in dispatch_main(), which ends it with pthread_exit():
        // a thread that has ended keeps its credentials, so after the drop to `user` /proc would still
        // show the process as root. Alive and waiting, it changes user with the others.
        let outcome = Outcome()
        let done = DispatchSemaphore(value: 0)
        Task {
            do {
                try await group.run()
            } catch {
                outcome.set("\(error)")
            }
            done.signal()
        }
        done.wait()
        if let failure = outcome.get() {
            logger.critical("\(failure)")
            throw ExitCode(1)
        }
    }
}

extension PostfixLogHandler.Destination: ExpressibleByArgument {}

/// How the server's task ended, handed to the waiting main thread.
final class Outcome: @unchecked Sendable {
    // `@unchecked Sendable`: written once by the task before it signals the semaphore, read by the main
    // thread after the wait returns (the semaphore orders the two).
    private var failure: String?
    func set(_ text: String) { failure = text }
    func get() -> String? { failure }
}
