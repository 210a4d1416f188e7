import Maps
import MapsBerkeleyDB
import MapsLDAP
import MapsLMDB
import MapsMemcache
import MapsPCRE2
import MapsSQLite
import MapsRemoteSQL

/// The registry of every table type this toolkit implements: the catalog's built-in types plus the
/// types of the backend modules, which link C libraries. Tools that open any `type:name` use it;
/// postconf, which must start fast, links only what it needs.
public enum MapBackends {
    /// The openers of the backend modules' types; each has a `.backend` row in `MapCatalog`.
    public static let types: [MapType] = [
        BerkeleyDBMaps.hash, BerkeleyDBMaps.btree, LMDBMaps.lmdb, PCRE2Maps.pcre, LDAPMaps.ldap, SQLiteMaps.sqlite,
        MemcacheMaps.memcache,
        RemoteSQLMaps.pgsql, RemoteSQLMaps.mysql,
    ]

    /// Every implemented type.
    public static let registry = MapRegistry(catalog: MapCatalog.entries, backends: types)
}
