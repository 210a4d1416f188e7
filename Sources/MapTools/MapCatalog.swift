import Maps
import MapsBerkeleyDB
import MapsLDAP
import MapsLMDB
import MapsPCRE2

/// Every table type the command-line tools know. Each table module contributes its types here.
public enum MapCatalog {
    public static let types: [MapType] = [
        BerkeleyDBMaps.hash, BerkeleyDBMaps.btree, LMDBMaps.lmdb,
        PatternMaps.regexp, PCRE2Maps.pcre,
        CIDRMaps.cidr,
        LDAPMaps.ldap,
        StaticTable.mapType,
        SimpleTables.texthash,
        SimpleTables.inline,
        SimpleTables.unionmap,
        SimpleTables.pipemap,
        SimpleTables.fail,
        SimpleTables.environ,
    ]
}
