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
    /// Each backend module's openers, by module name; each type has a `.backend` row in `MapCatalog`
    /// naming that module (CatalogTests checks both ways).
    public static let modules: [(module: String, types: [MapType])] = [
        ("MapsBerkeleyDB", [BerkeleyDBMaps.hash, BerkeleyDBMaps.btree]),
        ("MapsLMDB", [LMDBMaps.lmdb]),
        ("MapsPCRE2", [PCRE2Maps.pcre]),
        ("MapsLDAP", [LDAPMaps.ldap]),
        ("MapsSQLite", [SQLiteMaps.sqlite]),
        ("MapsMemcache", [MemcacheMaps.memcache]),
        ("MapsRemoteSQL", [RemoteSQLMaps.pgsql, RemoteSQLMaps.mysql]),
    ]

    /// The openers of the backend modules' types.
    public static let types: [MapType] = modules.flatMap(\.types)

    /// Every implemented type.
    public static let registry = MapRegistry(catalog: MapCatalog.entries, backends: types)
}
