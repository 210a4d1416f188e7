import PostfixText
/// Apply the duplicate policy after a store found the key present, as Postfix's backends do:
/// warn `LABEL: duplicate entry: "KEY"`, stay silent, or fail with the same text.
public func reportDuplicate(label: String, key: [UInt8], policy: DuplicatePolicy,
                            diagnostics: Diagnostics) throws(MapError) {
    let message = "\(label): duplicate entry: \"\(ByteText.string(KeyCodec.cString(key)))\""
    switch policy {
    case .ignore, .replace: return
    case .warn: diagnostics.warning(message)
    case .fatal: throw .configuration(message)
    }
}
