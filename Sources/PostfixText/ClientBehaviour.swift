/// What the table tools and clients of one Postfix release say and do where releases differ: postmap,
/// postalias, the logical-line reader and the cdb, sqlite, mysql, pgsql and socketmap clients. One value
/// per release (`PostfixRelease.clients`); code reads the fields, never the release number.
///
/// Every 3.10 entry was found in Postfix 3.10's source and checked against Debian 13's 3.10.13
/// (`Tests/CLITests/ReleaseBehaviourTests.swift` runs each against both releases).
public struct ClientBehaviour: Sendable {
    /// postalias, for a name with `@` or `%` (postalias.c): the text after `FILE, line N: `.
    public let aliasNameNotLocal: String

    /// readllines(): the warning for a logical line that holds a NUL byte (`FILE, line N[-M]: TEXT`),
    /// nil when the release says nothing.
    public let nullByteWarning: String?

    /// A warning before any open of a type that no table module provides (dynamicmaps.c), `%s` the
    /// type: 3.10 warns at every `dict_open`, not only when building. Nil: no warning.
    public let unknownTypeWarning: String?

    /// postmap/postalias building (or `-i`) a type that is unknown: the fatal text (`%s` the type).
    public let buildUnknownType: String

    /// postmap/postalias building a known type that has no bulk-mode creator (cidr, regexp, …).
    public let buildWithoutCreator: String

    /// `postmap -s cdb:NAME` lists the records (dict_cdbq_sequence) instead of refusing.
    public let cdbSequence: Bool

    /// sqlite opens its database read-only (`SQLITE_OPEN_READONLY`): a missing file is an open error
    /// (`sqliteOpenFailure`), not a new empty database.
    public let sqliteReadOnly: Bool

    /// The open error of a read-only sqlite database; `{name}` the table name, `{path}` the dbpath,
    /// `{error}` sqlite's message, `{errno}` strerror(errno) (dict_surrogate's `%m`).
    public let sqliteOpenFailure: String

    /// A pgsql or mysql table with a single host lists it twice ("Don't blacklist the load balancer!"):
    /// a lone server that fails is tried once more in the same lookup (two `connect to … server`
    /// warnings for an unreachable one).
    public let sqlDuplicateLoneHost: Bool

    /// pgsql's client encoding: a `.cf` parameter (3.10: `encoding`, default `UTF8`), or nil for a
    /// fixed `pgsqlEncodingDefault` (3.7: `LATIN1`, "Postfix does not send multi-byte characters").
    public let pgsqlEncodingParameter: String?
    public let pgsqlEncodingDefault: String

    /// mysql's character set, set after connecting (3.10: `charset`, default `utf8mb4`); nil: none is set.
    public let mysqlCharsetParameter: String?
    public let mysqlCharsetDefault: String

    /// pgsql and mysql read `retry_interval` and `idle_interval` (default 60, at least 1) from the `.cf`
    /// file; false: both are fixed at 60 seconds.
    public let sqlIntervalParameters: Bool

    /// pgsql's `dbname` may be empty when every host is a connection URI; a table with another kind of
    /// host and no `dbname` is refused with `pgsql:NAME host target 'HOST' requires dbname setting`.
    /// False: `dbname` must not be empty (`bad string length 0 < 1`).
    public let pgsqlDatabaseNameOptional: Bool

    /// A socketmap reply of a bare `OK` (no payload) is found with an empty value; false: not found.
    public let socketmapBareOKFound: Bool

    /// netstring_strerror() sets errno, so the `%m` of the fatal error after a socketmap reply that is
    /// too slow, malformed or too long says so (`Connection timed out`, `Application error`, `Message
    /// too long`); false: errno is what the last system call left.
    public let netstringErrorsSetErrno: Bool

    /// A `#comment` token after other text in a list (match lists, a table's `domain`): the warning
    /// after `WHERE: `, `{token}` the comment's first word, `{rest}` the text after it, cut to
    /// `commentAfterTextLimit` bytes when set (mystrtok's `%.20s`).
    public let commentAfterText: String
    public let commentAfterTextLimit: Int?

    /// printable() with UTF-8 on keeps only well-formed UTF-8 characters (parse_utf8_char: no over-long
    /// forms, surrogates or code points past U+10FFFF), replacing the first byte of anything else and
    /// resynchronizing at the next; false: 3.7's looser rule (a lead byte 0xC2-0xFE keeps every
    /// continuation byte after it).
    public let strictUTF8Printable: Bool

    /// `template` with every `%s` replaced by `type`.
    public static func fill(_ template: String, _ type: String) -> String {
        template.replacing("%s", with: type)
    }

    /// Postfix 3.7.11 (Debian 12).
    public static let v3_7 = ClientBehaviour(
        aliasNameNotLocal: "name must be local",
        nullByteWarning: nil,
        unknownTypeWarning: nil,
        buildUnknownType: "unsupported dictionary type: %s. Is the postfix-%s package installed?",
        buildWithoutCreator: "unsupported dictionary type: %s does not support bulk-mode creation.",
        cdbSequence: false,
        sqliteReadOnly: false,
        sqliteOpenFailure: "sqlite:{name}: Can't open database: {error}\n",
        sqlDuplicateLoneHost: false,
        pgsqlEncodingParameter: nil, pgsqlEncodingDefault: "LATIN1",
        mysqlCharsetParameter: nil, mysqlCharsetDefault: "",
        sqlIntervalParameters: false,
        pgsqlDatabaseNameOptional: false,
        socketmapBareOKFound: false,
        netstringErrorsSetErrno: false,
        commentAfterText: "comment at end of line is not supported: {token} {rest}",
        commentAfterTextLimit: nil,
        strictUTF8Printable: false)

    /// Postfix 3.10.13 (Debian 13).
    public static let v3_10 = ClientBehaviour(
        aliasNameNotLocal: "name must be local and have no domain",
        nullByteWarning: "text after null byte may be ignored",
        unknownTypeWarning: "unsupported dictionary type: %s. Is the postfix-%s package installed?",
        buildUnknownType: "unsupported map type: %s",
        buildWithoutCreator: "no 'map create' support for this type: %s",
        cdbSequence: true,
        sqliteReadOnly: true,
        sqliteOpenFailure: "sqlite:{name}: open database {path}: {error}: {errno}",
        sqlDuplicateLoneHost: true,
        pgsqlEncodingParameter: "encoding", pgsqlEncodingDefault: "UTF8",
        mysqlCharsetParameter: "charset", mysqlCharsetDefault: "utf8mb4",
        sqlIntervalParameters: true,
        pgsqlDatabaseNameOptional: true,
        socketmapBareOKFound: true,
        netstringErrorsSetErrno: true,
        commentAfterText: "#comment after other text is not allowed: {token} {rest}...",
        commentAfterTextLimit: 20,
        strictUTF8Printable: true)
}

extension ClientBehaviour {
    /// The end of the well-formed UTF-8 character of two to four bytes at `i` (the index of its last
    /// byte), nil when the bytes there are not one: Postfix's parse_utf8_char() for a non-ASCII lead byte.
    public static func utf8CharacterEnd(_ bytes: [UInt8], at i: Int) -> Int? {
        let c0 = bytes[i]
        func tail(_ k: Int) -> UInt8? { i + k < bytes.count ? bytes[i + k] : nil }
        func isTail(_ b: UInt8?) -> Bool { b.map { $0 & 0xC0 == 0x80 } ?? false }
        switch c0 {
        case 0x80...0xDF:
            guard c0 >= 0xC2, isTail(tail(1)) else { return nil }
            return i + 1
        case 0xE0...0xEF:
            guard let c1 = tail(1), c1 >= (c0 == 0xE0 ? 0xA0 : 0x80), c1 <= (c0 == 0xED ? 0x9F : 0xBF),
                  isTail(tail(2)) else { return nil }
            return i + 2
        case 0xF0...0xF4:
            guard let c1 = tail(1), c1 >= (c0 == 0xF0 ? 0x90 : 0x80), c1 <= (c0 == 0xF4 ? 0x8F : 0xBF),
                  isTail(tail(2)), isTail(tail(3)) else { return nil }
            return i + 3
        default:
            return nil
        }
    }
}

extension PostfixRelease {
    /// The client behaviours and messages of this release.
    public var clients: ClientBehaviour {
        switch self {
        case .v3_7: return .v3_7
        case .v3_10: return .v3_10
        }
    }
}
