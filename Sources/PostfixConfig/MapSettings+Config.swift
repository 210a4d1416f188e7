import Maps

extension MapSettings {
    /// The table settings main.cf gives, as every program that opens tables reads them:
    /// `lmdb_map_size`, `berkeley_db_create_buffer_size`, `berkeley_db_read_buffer_size`,
    /// `smtputf8_enable`, and every parameter (`$name` expanded) for the database clients' legacy
    /// settings. `proxy` says how `proxy:type:name` opens (`.proxymap(config)` for a Postfix tool,
    /// `.direct` where there is no proxymap to ask).
    public init(config: MainConfig, proxy: ProxyAccess = .direct) {
        self.init()
        lmdbMapSize = config.int("lmdb_map_size", default: lmdbMapSize)
        berkeleyDBCreateBufferSize = config.int("berkeley_db_create_buffer_size", default: berkeleyDBCreateBufferSize)
        berkeleyDBReadBufferSize = config.int("berkeley_db_read_buffer_size", default: berkeleyDBReadBufferSize)
        utf8Enabled = config.bool("smtputf8_enable", default: false)
        mainParameter = { config.value($0) }
        self.proxy = proxy
    }
}

extension ProxyAccess {
    /// Through Postfix's proxymap and proxywrite services in `$queue_directory/private`, as Postfix's
    /// programs open `proxy:` tables.
    public static func proxymap(_ config: MainConfig) -> ProxyAccess {
        .service(directory: (config.value("queue_directory") ?? "/var/spool/postfix") + "/private",
                 readService: config.value("proxymap_service_name") ?? "proxymap",
                 writeService: config.value("proxywrite_service_name") ?? "proxywrite",
                 retryDelay: 10)
    }
}
