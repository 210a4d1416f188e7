import PostfixText
import Maps
import PostfixConfig

/// The settings of one memcache table (memcache_table(5)), read in the order and with the defaults and
/// limits of Postfix 3.7's `dict_memcache_open`, so that the first malformed one stops the open with
/// Postfix's message.
struct MemcacheSettings {
    /// `key_format`: the memcache key made from the lookup key (`%s`, `%u`, `%d`, `%1`..`%9`, ...).
    var keyFormat: [UInt8] = Array("%s".utf8)
    /// `timeout`: the limit, in seconds, on connecting and on every read and write.
    var timeout = 2
    /// `ttl`: the expiration time of records stored in memcache.
    var ttl = 3600
    /// `flags`: the flags of records stored in memcache.
    var flags = 0
    /// `retry_pause`: seconds between tries.
    var retryPause = 1
    /// `max_try`: tries of one request before it fails.
    var maxTries = 2
    /// `line_size_limit`: the longest reply line.
    var lineLimit = 1024
    /// `data_size_limit`: the longest value stored or accepted.
    var dataLimit = 10240
    /// `memcache`: the server, `inet:host:port` or `unix:/path`.
    var service = "inet:localhost:11211"
    /// `backup`: the persistent table behind the cache, as `type:name`; nil without one.
    var backup: String?
    /// `domain`: the list the key's domain must be on (empty: any key).
    var domain = ""

    init(_ p: TableParameters) throws(MapError) {
        keyFormat = ByteText.bytes(of: try p.string("key_format", default: "%s"))
        timeout = try p.int("timeout", default: 2)
        ttl = try p.int("ttl", default: 3600)
        flags = try p.int("flags", default: 0)
        retryPause = try p.int("retry_pause", default: 1, min: 1)
        maxTries = try p.int("max_try", default: 2, min: 1)
        lineLimit = try p.int("line_size_limit", default: 1024, min: 1)
        dataLimit = try p.int("data_size_limit", default: 10240, min: 1)
        service = try p.string("memcache", default: "inet:localhost:11211")
        // An empty `backup =` is no backup table.
        backup = try p.optionalString("backup")
        domain = try p.string("domain", default: "")
    }
}
