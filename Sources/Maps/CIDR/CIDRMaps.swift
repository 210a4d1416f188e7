import PostfixText
/// The `cidr` table type: rules read at open time, lookups only.
public enum CIDRMaps {
    /// `cidr:FILE` or `cidr:{ {rule}, ... }`. Opening for update is refused with Postfix's text; the type
    /// has no bulk builder, so `postmap cidr:FILE` is refused by the registry.
    public static let cidr = MapType(name: "cidr", fixedKeys: false, open: { name, request throws(MapError) in
        guard request.mode == .readOnly else {
            throw .usage("cidr:\(name) map requires O_RDONLY access mode")
        }
        return try CIDRTable(name: name, diagnostics: request.diagnostics,
                             fileValues: request.flags.contains(.sourceValueIsFile))
    })
}
