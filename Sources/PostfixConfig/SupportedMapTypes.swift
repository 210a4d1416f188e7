/// The table types this toolkit supports, for `postconf -m`. postconf links no table backend (so it
/// starts fast); this list must match what `MapCatalog` in MapTools registers (a test checks that every
/// registered type is listed).
public enum SupportedMapTypes {
    /// Type names, sorted.
    public static let names: [String] = [
        "btree", "cidr", "environ", "fail", "hash", "inline", "ldap", "lmdb", "pcre", "pipemap", "regexp",
        "static", "texthash", "unionmap",
    ]
}
