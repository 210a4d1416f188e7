import Logging
import Maps
import MapBackends
import PostfixConfig
import PostfixText
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Every table one configuration serves, opened; replaced as a whole when SIGHUP re-reads the file.
///
/// Lookups hold the directory while they run (`retain`/`release`); a directory replaced by a reload
/// is closed when its last lookup is done, so a lookup already running finishes on the old tables.
public final class TableDirectory: Sendable {
    /// Served tables by name.
    public let tables: [String: ServedTable]
    /// The client allow-list, if any.
    let clientAccess: ServedTable?
    /// Warnings found while opening (ownership and mode of table files).
    public let warnings: [String]
    private let users = Atomic<Int>(0)
    private let retired = Atomic<Bool>(false)
    private let closed = Atomic<Bool>(false)

    /// Open every table `config` names. `metrics` gets one set of counters per table.
    public static func open(_ config: ServerConfiguration, registry: MapRegistry = MapBackends.registry,
                            metrics: ServerMetrics? = nil, loops: Int = 0, logger: Logger) throws(ServerConfigError) -> TableDirectory {
        var main = MainConfig(directory: config.postfixConfigDirectory)
        let mainPath = "\(config.postfixConfigDirectory)/main.cf"
        if access(mainPath, F_OK) == 0 || !config.postfixMaps.isEmpty {
            do {
                main = try MainConfig.load(directory: config.postfixConfigDirectory)
            } catch {
                throw ServerConfigError(error.message)
            }
        }
        let mainConfig = main
        // There is no proxymap to ask: proxy:TYPE:NAME is served by opening TYPE:NAME here.
        let settings = MapSettings(config: mainConfig, proxy: .direct)
        let diagnostics = Diagnostics(warning: { logger.warning("\($0)") }, error: { logger.error("\($0)") },
                                      info: { logger.info("\($0)") })
        // As Postfix's daemons open their tables: locked, fixed-key tables folded, UTF-8 checked.
        let request = OpenRequest(mode: .readOnly, flags: [.lock, .foldFixed, .utf8Request], settings: settings,
                                  diagnostics: diagnostics)
        var tables: [String: ServedTable] = [:]
        func closeAll() { for table in tables.values { table.close() } }
        for name in config.servedNames {
            let definition: String
            if let value = config.tables[name] {
                definition = value
            } else {
                guard let value = mainConfig.value(name), !value.isEmpty else {
                    closeAll()
                    throw ServerConfigError("postfix_maps: \(name) is not set in \(mainPath)")
                }
                definition = value
            }
            do {
                tables[name] = try ServedTable(name: name, definition: definition, registry: registry, request: request,
                                               checkInterval: config.tableCheckInterval, metrics: metrics?.table(name),
                                               loops: loops)
            } catch {
                closeAll()
                throw error
            }
        }
        var access: ServedTable?
        if let definition = config.clientAccess {
            do {
                access = try ServedTable(name: "client_access", definition: definition, registry: registry, request: request,
                                         checkInterval: config.tableCheckInterval, metrics: nil)
            } catch {
                closeAll()
                throw error
            }
        }
        var files = tables.values.flatMap(\.sourceFiles) + (access?.sourceFiles ?? [])
        files = Array(Set(files)).sorted()
        return TableDirectory(tables: tables, clientAccess: access, warnings: ownershipWarnings(files))
    }

    init(tables: [String: ServedTable], clientAccess: ServedTable?, warnings: [String]) {
        self.tables = tables
        self.clientAccess = clientAccess
        self.warnings = warnings
    }

    /// `postfix check`'s warnings for table files: a file that another user can change changes what the
    /// server tells Postfix. Owned by someone other than root (when the server runs as root), or
    /// writable by group or others: warned about at every (re)load, and the table is still served.
    static func ownershipWarnings(_ files: [String]) -> [String] {
        var out: [String] = []
        let asRoot = geteuid() == 0
        for file in files {
            var st = stat()
            guard stat(file, &st) == 0 else { continue }
            if asRoot, st.st_uid != 0 { out.append("not owned by root: \(file)") }
            if st.st_mode & 0o022 != 0 { out.append("group or other writable: \(file)") }
        }
        return out
    }

    /// Whether `address` may connect: the allow-list answers `OK` or `PERMIT`. A failing allow-list
    /// refuses (and says why).
    func admits(_ address: String) -> (Bool, String?) {
        guard let access = clientAccess else { return (true, nil) }
        switch access.answer(ByteText.bytes(of: address)) {
        case .found(let value):
            let word = ByteText.string(Array(value.prefix(while: { $0 != 0x20 && $0 != 0x09 }))).uppercased()
            return (word == "OK" || word == "PERMIT", nil)
        case .notFound:
            return (false, nil)
        case .temporary(let why), .permanent(let why):
            return (false, why)
        }
    }

    /// A lookup starts using this directory.
    func retain() { users.add(1, ordering: .acquiring) }

    /// A lookup is done with it.
    func release() {
        let (_, left) = users.subtract(1, ordering: .acquiringAndReleasing)
        if left == 0, retired.load(ordering: .acquiring) { closeOnce() }
    }

    /// Replaced by a new configuration: close when no lookup holds it.
    func retire() {
        retired.store(true, ordering: .releasing)
        if users.load(ordering: .acquiring) == 0 { closeOnce() }
    }

    private func closeOnce() {
        guard closed.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged else { return }
        for table in tables.values { table.close() }
        clientAccess?.close()
    }
}
