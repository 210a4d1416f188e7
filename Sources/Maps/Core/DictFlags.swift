import PostfixText
/// Key handling and access flags for a table, after Postfix's `DICT_FLAG_*`.
public struct DictFlags: OptionSet, Sendable, Hashable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    /// Lowercase keys of fixed-key tables on update and lookup (`DICT_FLAG_FOLD_FIX`).
    public static let foldFixed = DictFlags(rawValue: 1 << 0)
    /// Store and look up keys and values with a trailing NUL (`DICT_FLAG_TRY1NULL`).
    public static let tryWithNul = DictFlags(rawValue: 1 << 1)
    /// Store and look up keys and values without a trailing NUL (`DICT_FLAG_TRY0NULL`).
    public static let tryWithoutNul = DictFlags(rawValue: 1 << 2)
    /// On a duplicate key keep the first value and warn (`DICT_FLAG_DUP_WARN`).
    public static let duplicateWarn = DictFlags(rawValue: 1 << 3)
    /// On a duplicate key keep the first value silently (`DICT_FLAG_DUP_IGNORE`).
    public static let duplicateIgnore = DictFlags(rawValue: 1 << 4)
    /// On a duplicate key replace the value (`DICT_FLAG_DUP_REPLACE`).
    public static let duplicateReplace = DictFlags(rawValue: 1 << 5)
    /// Take a shared or exclusive lock around each record operation (`DICT_FLAG_LOCK`).
    public static let lock = DictFlags(rawValue: 1 << 6)
    /// The table is being built from scratch in one go (`DICT_FLAG_BULK_UPDATE`).
    public static let bulkUpdate = DictFlags(rawValue: 1 << 7)
    /// Validate UTF-8 and fold with full Unicode rules when `smtputf8_enable` is on (`DICT_FLAG_UTF8_REQUEST`).
    public static let utf8Request = DictFlags(rawValue: 1 << 8)
    /// Values name files whose content is stored base64-encoded (`DICT_FLAG_SRC_RHS_IS_FILE`).
    public static let sourceValueIsFile = DictFlags(rawValue: 1 << 9)

    /// Both NUL modes: not yet decided; the first successful lookup pins one.
    public static let tryBothNul: DictFlags = [.tryWithNul, .tryWithoutNul]

    /// Postfix's command-line default: `DUP_WARN | FOLD_FIX | UTF8_REQUEST`.
    public static let commandLineDefault: DictFlags = [.duplicateWarn, .foldFixed, .utf8Request]

    /// The duplicate policy carried by these flags.
    public var duplicatePolicy: DuplicatePolicy {
        if contains(.duplicateIgnore) { return .ignore }
        if contains(.duplicateReplace) { return .replace }
        if contains(.duplicateWarn) { return .warn }
        return .fatal
    }

    /// Replace the duplicate policy.
    public mutating func setDuplicatePolicy(_ policy: DuplicatePolicy) {
        subtract([.duplicateWarn, .duplicateIgnore, .duplicateReplace])
        switch policy {
        case .warn: insert(.duplicateWarn)
        case .ignore: insert(.duplicateIgnore)
        case .replace: insert(.duplicateReplace)
        case .fatal: break
        }
    }
}

/// What an update does when the key is already present.
public enum DuplicatePolicy: Sendable, Equatable {
    /// Keep the first value and warn (postmap's default).
    case warn
    /// Keep the first value silently (`-w`).
    case ignore
    /// Overwrite with the new value (`-r`).
    case replace
    /// Treat a duplicate as a fatal error (library callers that set no policy).
    case fatal
}

/// Per-record overrides of a table's key handling, for the few records Postfix writes specially
/// (postalias's `@` and `YP_*` records).
public struct RecordOptions: Sendable, Equatable {
    /// Fold the key as the table's flags say; `false` stores it as given.
    public var fold: Bool = true
    /// `nil`: the table's NUL mode; `true`/`false`: force a trailing NUL on or off for this record.
    public var trailingNul: Bool? = nil
    /// `nil`: the table's duplicate policy; otherwise this one.
    public var duplicatePolicy: DuplicatePolicy? = nil

    public init(fold: Bool = true, trailingNul: Bool? = nil, duplicatePolicy: DuplicatePolicy? = nil) {
        self.fold = fold
        self.trailingNul = trailingNul
        self.duplicatePolicy = duplicatePolicy
    }

    /// The table's own rules.
    public static let standard = RecordOptions()
}

/// The result of storing one record.
public enum UpdateOutcome: Sendable, Equatable {
    /// The record was stored (or replaced under `.replace`).
    case stored
    /// The key was present and the first value was kept.
    case duplicate
}
