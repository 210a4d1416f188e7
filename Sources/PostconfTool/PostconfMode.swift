import Maps
import ToolSupport
import PostfixConfig
import PostfixText
/// What postconf was asked to do (Postfix's `PCF_*` command mode bits, in Postfix's bit order so that
/// option lists in messages come out in Postfix's order).
public struct PostconfMode: OptionSet, Sendable {
    public let rawValue: Int
    public init(rawValue: Int) { self.rawValue = rawValue }

    /// `-n`
    public static let showNondefault = PostconfMode(rawValue: 1 << 0)
    /// `-d`
    public static let showDefaults = PostconfMode(rawValue: 1 << 1)
    /// `-h`
    public static let hideName = PostconfMode(rawValue: 1 << 2)
    /// `-m`
    public static let showMaps = PostconfMode(rawValue: 1 << 3)
    /// `-e`
    public static let edit = PostconfMode(rawValue: 1 << 4)
    /// `-l`
    public static let showLocks = PostconfMode(rawValue: 1 << 5)
    /// `-x`
    public static let expand = PostconfMode(rawValue: 1 << 6)
    /// `-a`
    public static let saslServer = PostconfMode(rawValue: 1 << 7)
    /// `-A`
    public static let saslClient = PostconfMode(rawValue: 1 << 8)
    /// `-#`
    public static let commentOut = PostconfMode(rawValue: 1 << 9)
    /// `-M`
    public static let masterEntry = PostconfMode(rawValue: 1 << 10)
    /// `-f`
    public static let fold = PostconfMode(rawValue: 1 << 11)
    /// `-X`
    public static let exclude = PostconfMode(rawValue: 1 << 12)
    /// `-F`
    public static let masterField = PostconfMode(rawValue: 1 << 13)
    /// `-p`
    public static let mainParameter = PostconfMode(rawValue: 1 << 14)
    /// `-b`
    public static let expandTemplates = PostconfMode(rawValue: 1 << 15)
    /// `-C` (never set by the option parser, as in Postfix 3.7)
    public static let parameterClass = PostconfMode(rawValue: 1 << 16)
    /// `-o`
    public static let override = PostconfMode(rawValue: 1 << 17)
    /// `-t`
    public static let dumpTemplates = PostconfMode(rawValue: 1 << 18)
    /// `-P`
    public static let masterParameter = PostconfMode(rawValue: 1 << 19)
    /// `-H`
    public static let hideValue = PostconfMode(rawValue: 1 << 20)
    /// `-T`
    public static let showTLS = PostconfMode(rawValue: 1 << 21)

    /// The major modes, one of which must be selected.
    static let majorModes: PostconfMode = [.saslServer, .saslClient, .expandTemplates, .showLocks, .showMaps,
                                           .dumpTemplates, .mainParameter, .masterEntry, .masterField,
                                           .masterParameter, .showTLS]
    /// Any master.cf mode.
    static let master: PostconfMode = [.masterEntry, .masterField, .masterParameter]
    /// Any editing modifier.
    static let edits: PostconfMode = [.edit, .exclude, .commentOut]

    /// Groups of options of which at most one may be given (the first group is the major modes).
    static let exclusiveGroups: [PostconfMode] = [
        majorModes,
        [.showDefaults, .edit, .showNondefault, .commentOut, .exclude],
        [.fold, .edit, .commentOut, .exclude],
        [.expand, .edit, .commentOut, .exclude],
        [.override, .showDefaults, .edit, .commentOut, .exclude],
        [.hideName, .edit, .commentOut, .exclude, .hideValue],
    ]

    /// Each mode and the only options it combines with.
    static let compatible: [(PostconfMode, PostconfMode)] = [
        (.saslServer, []), (.saslClient, []), (.expandTemplates, []), (.showLocks, []), (.showMaps, []),
        (.showTLS, []), (.dumpTemplates, []),
        (.mainParameter, [.edit, .exclude, .commentOut, .fold, .hideName, .parameterClass, .expand,
                          .showDefaults, .showNondefault, .override, .hideValue]),
        (.masterEntry, [.edit, .exclude, .commentOut, .fold, .override, .expand]),
        (.masterField, [.edit, .fold, .hideName, .override, .expand, .hideValue]),
        (.masterParameter, [.edit, .exclude, .fold, .hideName, .override, .expand, .hideValue]),
        (.parameterClass, [.mainParameter, .showDefaults, .showNondefault]),
    ]

    /// Option names in Postfix's table order (`pcf_compat_names`).
    static let optionNames: [(String, PostconfMode)] = [
        ("-a", .saslServer), ("-A", .saslClient), ("-b", .expandTemplates), ("-C", .parameterClass),
        ("-d", .showDefaults), ("-e", .edit), ("-f", .fold), ("-F", .masterField), ("-h", .hideName),
        ("-H", .hideValue), ("-l", .showLocks), ("-m", .showMaps), ("-M", .masterEntry),
        ("-n", .showNondefault), ("-o", .override), ("-p", .mainParameter), ("-P", .masterParameter),
        ("-t", .dumpTemplates), ("-T", .showTLS), ("-x", .expand), ("-X", .exclude), ("-#", .commentOut),
    ]

    /// `str_name_mask`: the option names of the bits set, separated by spaces.
    var optionList: String {
        var names: [String] = []
        var rest = self
        for (name, bit) in Self.optionNames where rest.contains(bit) {
            names.append(name)
            rest.remove(bit)
        }
        if !rest.isEmpty { names.append("0x" + String(rest.rawValue, radix: 16)) }
        return names.joined(separator: " ")
    }

    /// `pcf_check_exclusive_options` and `pcf_check_compat_options`: Postfix's fatal text, or `nil`.
    var conflict: String? {
        for group in Self.exclusiveGroups {
            let set = intersection(group)
            if set.rawValue.nonzeroBitCount > 1 { return "specify one of \(set.optionList)" }
        }
        for (mode, allowed) in Self.compatible where !intersection(mode).isEmpty {
            let excess = subtracting(mode.union(allowed))
            if !excess.isEmpty { return "with option \(mode.optionList), do not specify \(excess.optionList)" }
        }
        return nil
    }
}
