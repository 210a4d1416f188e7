import PostfixText
/// One lookup table of any type: an indexed file, a pattern table, an in-memory table or a remote
/// service. Every operation takes and returns bytes; folding and NUL handling follow the table's flags.
///
/// ## Threads
///
/// A handle is used by one thread at a time, unless its type says otherwise:
/// - `lookup` may run on several threads at once when `concurrentLookups` is true: `lmdb`, `regexp`,
///   `pcre`, `cidr`, `texthash`, `inline`, `static`, `environ`, `fail`, `randmap`, `unix`, `internal`,
///   `tcp` and `socketmap` (lookups take turns on the connection), `ldap` (its searches take
///   turns on the connection it shares with other ldap tables), and `unionmap`/`pipemap` whose members
///   all allow it. Such a lookup changes no state of the handle that another lookup could see, except
///   the NUL form an indexed table pins once (atomically: the first form that matches wins).
/// - `hash` and `btree` handles (Berkeley DB without `DB_THREAD`) must not be used by two threads at once.
/// - `update`, `delete`, `forEach`, batches (`beginBatch`...`endBatch`, on one thread), `prefetch` and
///   `close` always need the handle to themselves.
///
/// Whatever the type, threads never release each other's file locks: `lmdb` (`fcntl`) and `hash`/`btree`
/// (`flock`) lookups take the lock of their file through the process-wide `SharedFileLock`, which
/// takes the file lock for the first thread and releases it after the last, and a descriptor of the
/// file is closed (by `close`, or by a rebuild's rename) only while no thread holds that lock.
///
/// A handle does not notice that its file was replaced. `SharedTable` is the way to share a table
/// between threads: it serializes handles that need it or gives each thread its own, checks the files
/// the table read (`sourceFiles`) for a new inode or modification time, and then opens the table again
/// while lookups in flight finish on the old handle, which is closed after the last of them.
public protocol LookupTable: AnyObject {
    /// The table type as named in `type:name` (`hash`, `lmdb`, ...).
    var type: String { get }
    /// The name part of `type:name`, as given.
    var name: String { get }
    /// The label Postfix puts before `duplicate entry` (`NAME.db` for hash, `lmdb:NAME` for lmdb).
    var duplicateLabel: String { get }
    /// The name Postfix's own table handle carries, used in `TYPE:NAME` messages (`NAME.db` for
    /// Berkeley DB files, the plain name for most others).
    var dictName: String { get }

    /// Look up one key. `nil` means not found; a thrown error is a temporary or configuration failure.
    func lookup(_ key: [UInt8]) throws(MapError) -> [UInt8]?
    /// Store one record, applying the table's duplicate policy unless `options` override it.
    func update(_ key: [UInt8], _ value: [UInt8], options: RecordOptions) throws(MapError) -> UpdateOutcome
    /// Remove one key; `false` when it was not present.
    func delete(_ key: [UInt8]) throws(MapError) -> Bool
    /// Visit every record in the table's own order (Postfix's `first`/`next` sequence).
    func forEach(_ body: ([UInt8], [UInt8]) throws(MapError) -> Void) throws(MapError)
    /// Release the handle and its locks. Further use is an error.
    func close()
    /// Hold the table's shared lock (and, for LMDB, one read transaction) across several lookups, until
    /// `endBatch()`. Lookups in a batch see one consistent table; a writer waits for the batch to end.
    func beginBatch() throws(MapError)
    /// End a batch started with `beginBatch()`.
    func endBatch()
    /// A hint that these keys are about to be looked up, in this order. A remote table may send their
    /// requests now so that the round trips overlap; `lookup` still produces every result and message,
    /// in order, exactly as without the hint.
    func prefetch(_ keys: [[UInt8]])
    /// `lookup`, saying how the answer was found: the exact keys tried and, for rule tables, the rule.
    /// Types that fold keys, add NULs, match rules or hold other tables override it; the default reports
    /// the key as given.
    func lookupTraced(_ key: [UInt8]) throws(MapError) -> (value: [UInt8]?, detail: LookupDetail)
    /// Whether `lookup` may be called on several threads at once on this handle (see Threads).
    var concurrentLookups: Bool { get }
    /// Whether a lookup can block its thread on something outside the process: another process's lock,
    /// the network, a name service. The default is the catalog row's `lookups`; composites answer for
    /// their members. A server answers tables that cannot wait on its event loop.
    var lookupsCanWait: Bool { get }
    /// The files this handle read when it was opened (`NAME.db`, `NAME.lmdb`, a rules file; a
    /// composite's members' files): when one of them is replaced or modified, the handle is stale.
    var sourceFiles: [String] { get }
}

extension LookupTable {
    public var duplicateLabel: String { "\(type):\(name)" }
    public var dictName: String { name }

    /// Store one record with the table's own rules.
    public func update(_ key: [UInt8], _ value: [UInt8]) throws(MapError) -> UpdateOutcome {
        try update(key, value, options: .standard)
    }

    public func update(_ key: [UInt8], _ value: [UInt8], options: RecordOptions) throws(MapError) -> UpdateOutcome {
        throw .usage("\(type):\(name) map requires O_RDONLY access mode")
    }

    public func delete(_ key: [UInt8]) throws(MapError) -> Bool {
        throw .usage("\(type):\(name) map requires O_RDONLY access mode")
    }

    public func forEach(_ body: ([UInt8], [UInt8]) throws(MapError) -> Void) throws(MapError) {
        throw .notSupported("table \(type):\(name): sequence operation is not supported")
    }

    public func close() {}
    public func beginBatch() throws(MapError) {}
    public func endBatch() {}
    public func prefetch(_ keys: [[UInt8]]) {}

    public func lookupTraced(_ key: [UInt8]) throws(MapError) -> (value: [UInt8]?, detail: LookupDetail) {
        (try lookup(key), LookupDetail(keys: [key]))
    }
    public var concurrentLookups: Bool { false }
    public var lookupsCanWait: Bool { MapCatalog.entry(named: type)?.lookups.canWait ?? true }
    public var sourceFiles: [String] { [] }
}

/// How a table is opened.
public enum AccessMode: Sendable, Equatable {
    /// Lookups and sequence only.
    case readOnly
    /// Lookups, updates and deletes in place on an existing table (`postmap -d`).
    case readWrite
    /// The same, creating the table when it is missing (`postmap -i`).
    case readWriteCreate
}

/// Everything a table type needs to open one table.
public struct OpenRequest: Sendable {
    /// Read-only or in-place update.
    public var mode: AccessMode
    /// Key handling and locking flags.
    public var flags: DictFlags
    /// Tunables from main.cf.
    public var settings: MapSettings
    /// Where warnings go.
    public var diagnostics: Diagnostics
    /// For builds: the size of the source in bytes (0 if unknown), so a backend can size its file.
    public var sizeHint: Int = 0
    /// Opens nested tables (`unionmap:{...}`, `pipemap:{...}`) through the same registry.
    public var opener: (@Sendable (MapSpec, OpenRequest) throws(MapError) -> any LookupTable)?

    public init(mode: AccessMode = .readOnly, flags: DictFlags = .commandLineDefault,
                settings: MapSettings = MapSettings(), diagnostics: Diagnostics = .silent) {
        self.mode = mode
        self.flags = flags
        self.settings = settings
        self.diagnostics = diagnostics
    }
}

/// How a `proxy:` table is reached.
public enum ProxyAccess: Sendable, Equatable {
    /// Open the inner table directly. Outside Postfix's daemons there is no proxymap service to ask: the
    /// map list that lint, the server and explain use does this, and its trace says so.
    case direct
    /// As a Postfix program: through the proxymap (or, for updates, proxywrite) socket in `directory`
    /// (`$queue_directory/private`), with Postfix's retries (`retryDelay` seconds apart, 10 in Postfix)
    /// and fatal error when it is missing.
    case service(directory: String, readService: String, writeService: String, retryDelay: UInt32)
}

/// Main.cf parameters that tune table access.
public struct MapSettings: Sendable {
    /// `lmdb_map_size`: the initial LMDB map size; it doubles when the map fills.
    public var lmdbMapSize: Int = 16_777_216
    /// `berkeley_db_create_buffer_size`: the Berkeley DB cache while a table is built.
    public var berkeleyDBCreateBufferSize: Int = 16_777_216
    /// `berkeley_db_read_buffer_size`: the Berkeley DB cache for lookups.
    public var berkeleyDBReadBufferSize: Int = 131_072
    /// `smtputf8_enable`: validate UTF-8 and fold keys with full Unicode case folding.
    public var utf8Enabled: Bool = false
    /// Any main.cf parameter, `$name` references expanded; nil when unset. Database client tables read
    /// their legacy settings (`ldapsource_server_host`) through it.
    public var mainParameter: @Sendable (String) -> String? = { _ in nil }
    /// How `proxy:type:name` is opened.
    public var proxy: ProxyAccess = .direct

    public init() {}
}
