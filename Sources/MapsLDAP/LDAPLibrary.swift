import CLDAPLoader
import Maps

/// libldap, loaded when the first ldap table opens (see CLDAPLoader): a tool that opens no ldap table
/// never loads it, nor GnuTLS and Cyrus SASL behind it.
enum LDAPLibrary {
    /// Load the library, or fail the open of table `ldap:NAME`.
    static func load(table name: String) throws(MapError) {
        if cldap_load() != 0 {
            throw .configuration("ldap:\(name): cannot load the LDAP client library: \(String(cString: cldap_load_error()))")
        }
    }
}
