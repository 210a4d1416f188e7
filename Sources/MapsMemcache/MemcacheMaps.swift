import Maps

/// The `memcache` table type (`memcache:/etc/postfix/memcache.cf`, or `memcache:NAME` with `NAME_*`
/// settings in main.cf): a memcached server in front of an optional backup table. Lookups, updates and
/// deletes; it cannot be created, and it lists the records of its backup table only.
public enum MemcacheMaps {
    /// This module's types, which MapBackends registers (scripts/gen-backends).
    public static let types: [MapType] = [memcache]

    public static let memcache = MapType(name: "memcache", open: { name, request throws(MapError) in
        try MemcacheTable(name: name, request: request)
    })
}
