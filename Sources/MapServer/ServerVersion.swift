/// The versions `postmapd --version` prints.
public enum ServerVersion {
    public static let project = "0.9.0"
    public static let postfix = "3.7.11"
}
