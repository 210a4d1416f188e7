import PostfixText
import Maps

/// The `ldap` table type (`ldap:/etc/postfix/ldap-aliases.cf`, or `ldap:NAME` with `NAME_*` settings
/// in main.cf). Lookups only: it cannot be created, updated or listed.
public enum LDAPMaps {
    /// This module's types, which MapBackends registers (scripts/gen-backends).
    public static let types: [MapType] = [ldap]

    public static let ldap = MapType(name: "ldap", open: { name, request throws(MapError) in
        try LDAPTable(name: name, request: request)
    })
}
