extension MapCatalog {
    /// A setting of a database client table (its client file, or main.cf's `NAME_*` parameters), as a
    /// `.clientConfig` row declares it: the name, and what its value must be. `postconf --check` lints
    /// the settings of a type that has no check of its own (`ClientConfigCheck.parts`) from these
    /// declarations, and postconf takes the declared names as the ones the type knows (unknown names
    /// are "unused parameter" warnings, with the nearest declared names as suggestions). Postfix's own
    /// types (ldap, mysql, pgsql, sqlite, memcache) take their names from Postfix's parameter table
    /// (`BuiltinParameters.dbmsSuffixes`) and their checks from their parts, so their rows declare none.
    public struct ClientSetting: Sendable, Equatable {
        /// What a value must be.
        public enum Kind: Sendable, Equatable {
            /// A decimal number from `min` to `max` (0: no upper limit), when given.
            case number(min: Int, max: Int)
            /// `yes`/`no` (Postfix's booleans), when given.
            case boolean
            /// A string at least `min` bytes long: with `min` > 0 the setting is required.
            case string(min: Int)
            /// A password: a client file that gives one must not be readable by every user.
            case password
            /// A `%` query template (`query`, `key_format`), when given.
            case queryTemplate
            /// A `%` result template (`result_format`), when given.
            case resultTemplate
            /// The name of a file that must exist (TLS keys and certificates, option files), when given.
            case file
        }

        public let name: String
        public let kind: Kind

        public init(_ name: String, _ kind: Kind) {
            self.name = name
            self.kind = kind
        }

        public static func number(_ name: String, min: Int = 0, max: Int = 0) -> ClientSetting {
            ClientSetting(name, .number(min: min, max: max))
        }
        public static func boolean(_ name: String) -> ClientSetting { ClientSetting(name, .boolean) }
        public static func string(_ name: String, min: Int = 0) -> ClientSetting { ClientSetting(name, .string(min: min)) }
        public static func password(_ name: String) -> ClientSetting { ClientSetting(name, .password) }
        public static func queryTemplate(_ name: String) -> ClientSetting { ClientSetting(name, .queryTemplate) }
        public static func resultTemplate(_ name: String) -> ClientSetting { ClientSetting(name, .resultTemplate) }
        public static func file(_ name: String) -> ClientSetting { ClientSetting(name, .file) }
    }
}
