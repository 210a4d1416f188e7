import PostfixText
import CLDAP
import Maps
import PostfixConfig

/// The settings of one ldap table, read in the order and with the defaults of Postfix 3.7 as Debian
/// builds it (protocol version 3 by default), with the same warnings for odd values and the same fatal
/// errors for malformed ones.
struct LDAPSettings {
    enum Bind: Int, Sendable { case none = 0, simple = 1, sasl = 2 }

    /// The servers, as a space-separated list of LDAP URLs (`host[:port]` items become `ldap://` URLs).
    var serverURLs = ""
    var serverPort = 389
    var version: Int32 = 3
    var ldaps = false
    var scope: Int32 = 2
    var searchBase: [UInt8] = []
    var timeout = 10
    var queryFilter: [UInt8] = []
    var resultFormat: [UInt8] = []
    /// Whether the search base depends on the key (then a missing base means "not found").
    var dynamicBase = false
    var templates: QueryTemplates
    /// The `domain` list: only keys in these domains are searched.
    var domains: DomainList?
    /// Terminal, then leaf-only, then ordinary, then special attributes, as Postfix orders them.
    var attributes: [String] = []
    var terminalCount = 0
    var leafCount = 0
    /// Terminal + leaf + ordinary: the attributes whose values are results.
    var ordinaryEnd = 0
    var bind: Bind = .simple
    var bindDN = ""
    var bindPassword = ""
    var recursionLimit = 1000
    var expansionLimit = 0
    var sizeLimit = 0
    var dereference: Int32 = 0
    var chaseReferrals = false
    var saslMechanisms = ""
    var saslRealm = ""
    var saslAuthzID = ""
    var saslMinSSF = 0
    var startTLS = false
    var tlsRequireCert = false
    var tlsCACertFile = ""
    var tlsCACertDir = ""
    var tlsCert = ""
    var tlsKey = ""
    var tlsRandomFile = ""
    var tlsCipherSuite = ""
    var debugLevel: Int32 = 0

    /// Whether TLS settings matter for the connection.
    var usesTLS: Bool { startTLS || ldaps }

    /// Postfix's mystrtok() with `CHARS_COMMA_SP`, on bytes.
    private static func split(_ text: String) -> [String] {
        ConfigText.tokens(ByteText.bytes(of: text), ConfigText.isCommaOrBlank).map { ByteText.string($0) }
    }

    init(_ p: TableParameters, request: OpenRequest) throws(MapError) {
        let diagnostics = request.diagnostics
        let source = p.name
        templates = QueryTemplates(type: "ldap", name: source)
        let hosts = try p.string("server_host", default: "localhost", min: 1)
        serverPort = try p.int("server_port", default: 389)
        let v = try p.int("version", default: 3, min: 2)
        if v == 2 || v == 3 {
            version = Int32(v)
        } else {
            diagnostics.warning("dict_ldap_open: \(source) Unknown version \(v), using 3.")
            version = 3
        }
        var urls: [String] = []
        for host in Self.split(hosts) {
            let isURL = host.withCString { ldap_is_ldap_url($0) } != 0
            if isURL {
                var desc: UnsafeMutablePointer<LDAPURLDesc>?
                let rc = host.withCString { ldap_url_parse($0, &desc) }
                guard rc == 0, let desc else {
                    diagnostics.error("dict_ldap_open: error parsing URL \(host): \(rc): \(LDAPSettings.errorText(rc)); skipping")
                    continue
                }
                let scheme = desc.pointee.lud_scheme.map { String(cString: $0) } ?? "ldap"
                if scheme.lowercased() != "ldap" && version != 3 {
                    diagnostics.warning("dict_ldap_open: URL scheme \(scheme) requires protocol version 3")
                    version = 3
                }
                if scheme.lowercased() == "ldaps" { ldaps = true }
                ldap_free_urldesc(desc)
                urls.append(host)
            } else if host.contains(":") {
                urls.append("ldap://\(host)")
            } else {
                urls.append("ldap://\(host):\(serverPort)")
            }
        }
        serverURLs = urls.joined(separator: " ")
        // With URLs, the port is part of each URL: normalize it for connection sharing.
        serverPort = 389

        let scopeName = try p.string("scope", default: "sub", min: 1)
        switch scopeName.lowercased() {
        case "one": scope = LDAP_SCOPE_ONELEVEL
        case "base": scope = LDAP_SCOPE_BASE
        case "sub": scope = LDAP_SCOPE_SUBTREE
        default:
            diagnostics.warning("dict_ldap_open: \(source): Unrecognized value \(scopeName) specified for scope; using sub")
            scope = LDAP_SCOPE_SUBTREE
        }
        searchBase = ByteText.bytes(of: try p.string("search_base", default: ""))
        timeout = try p.int("timeout", default: 10)
        queryFilter = ByteText.bytes(of: try p.string("query_filter", default: "(mailacceptinggeneralid=%s)"))
        if let format = try p.optionalString("result_format") {
            resultFormat = ByteText.bytes(of: format)
        } else {
            resultFormat = ByteText.bytes(of: try p.string("result_filter", default: "%s", min: 1))
        }
        dynamicBase = try templates.parse(searchBase, query: true)
        if try !templates.parse(queryFilter, query: true) {
            diagnostics.warning("dict_ldap_open: \(source): Fixed query_filter \(ByteText.string(queryFilter)) is probably useless")
        }
        _ = try templates.parse(resultFormat, query: false)
        let domainText = try p.string("domain", default: "")
        if !domainText.isEmpty { domains = try DomainList(domainText, owner: source, request: request) }

        attributes = Self.split(try p.string("terminal_result_attribute", default: ""))
        terminalCount = attributes.count
        attributes += Self.split(try p.string("leaf_result_attribute", default: ""))
        leafCount = attributes.count - terminalCount
        attributes += Self.split(try p.string("result_attribute", default: "maildrop"))
        ordinaryEnd = attributes.count
        attributes += Self.split(try p.string("special_result_attribute", default: ""))

        let bindName = try p.string("bind", default: "yes", min: 1)
        switch bindName.lowercased() {
        case "no", "none": bind = .none
        case "yes", "simple": bind = .simple
        case "sasl": bind = .sasl
        default: throw .configuration("\(source): unsupported parameter value: bind = \(bindName)")
        }
        bindDN = try p.string("bind_dn", default: "")
        bindPassword = try p.string("bind_pw", default: "")

        if try p.bool("cache", default: false) {
            diagnostics.warning("dict_ldap_open: \(source) ignoring cache")
        }
        if try p.int("cache_expiry", default: -1) >= 0 {
            diagnostics.warning("dict_ldap_open: \(source) ignoring cache_expiry")
        }
        if try p.int("cache_size", default: -1) >= 0 {
            diagnostics.warning("dict_ldap_open: \(source) ignoring cache_size")
        }
        recursionLimit = try p.int("recursion_limit", default: 1000, min: 1)
        expansionLimit = try p.int("expansion_limit", default: 0)
        sizeLimit = try p.int("size_limit", default: expansionLimit)
        let deref = try p.int("dereference", default: 0)
        if deref < 0 || deref > 3 {
            diagnostics.warning("dict_ldap_open: \(source) Unrecognized value \(deref) specified for dereference; using 0")
            dereference = 0
        } else {
            dereference = Int32(deref)
        }
        chaseReferrals = try p.bool("chase_referrals", default: false)
        if bind == .sasl {
            saslMechanisms = try p.string("sasl_mechs", default: "")
            saslRealm = try p.string("sasl_realm", default: "")
            saslAuthzID = try p.string("sasl_authz_id", default: "")
            saslMinSSF = try p.int("sasl_minssf", default: 0, max: 4096)
        }
        startTLS = try p.bool("start_tls", default: false)
        if startTLS && version < 3 {
            diagnostics.warning("dict_ldap_open: \(source) start_tls requires protocol version 3")
            version = 3
        }
        tlsRequireCert = try p.bool("tls_require_cert", default: false)
        tlsCACertFile = try p.string("tls_ca_cert_file", default: "")
        tlsCACertDir = try p.string("tls_ca_cert_dir", default: "")
        tlsCert = try p.string("tls_cert", default: "")
        tlsKey = try p.string("tls_key", default: "")
        tlsRandomFile = try p.string("tls_random_file", default: "")
        tlsCipherSuite = try p.string("tls_cipher_suite", default: "")
        debugLevel = Int32(clamping: try p.int("debuglevel", default: 0))
    }

    /// The key under which tables with the same server, credentials and session options share one
    /// connection, as Postfix shares them. Kept in memory only.
    var connectionKey: String {
        var parts: [String] = [serverURLs, String(serverPort), String(bind.rawValue)]
        parts += bind != .none ? [bindDN, bindPassword] : ["", ""]
        parts += [String(dereference), chaseReferrals ? "1" : "0", String(debugLevel), String(version)]
        if bind == .sasl {
            parts += [saslMechanisms, saslRealm, saslAuthzID, String(saslMinSSF)]
        } else {
            parts += ["", "", "", "0"]
        }
        parts += [ldaps ? "1" : "0", startTLS ? "1" : "0"]
        if usesTLS {
            parts += [tlsRequireCert ? "1" : "0", tlsCACertFile, tlsCACertDir, tlsCert, tlsKey, tlsRandomFile, tlsCipherSuite]
        } else {
            parts += ["0", "", "", "", "", "", ""]
        }
        return parts.joined(separator: "\u{0}")
    }

    /// libldap's text for a result code.
    static func errorText(_ rc: Int32) -> String {
        guard let text = ldap_err2string(rc) else { return "Unknown error" }
        return String(cString: text)
    }
}
