import PostfixText
/// What defines a parameter in Postfix 3.7.11: the configuration table that holds it (which fixes its
/// value syntax), or how postconf adds it.
public enum ParameterKind: String, Sendable, CaseIterable {
    /// A time value with a unit (`CONFIG_TIME_TABLE`); the default unit is the default value's last letter.
    case time
    /// `yes` or `no` (`CONFIG_BOOL_TABLE`).
    case bool
    /// An `int` (`CONFIG_INT_TABLE`).
    case int
    /// A string (`CONFIG_STR_TABLE`); `min` and `max` bound its length.
    case str
    /// A string whose default the host determines (`myhostname`, `mydomain`, `mynetworks`).
    case hostDependent = "str_fn"
    /// A string that is never `$name`-expanded (`CONFIG_RAW_TABLE`).
    case raw
    /// An integer whose default is an expression (`CONFIG_NINT_TABLE`).
    case nint
    /// A boolean whose default is an expression (`CONFIG_NBOOL_TABLE`).
    case nbool
    /// A `long` (`CONFIG_LONG_TABLE`).
    case long
    /// Set by the program at run time (`process_name`, `process_id`, `service_name`); read-only.
    case adhoc
    /// A name accepted for backwards compatibility, printed only when set.
    case legacy
}
