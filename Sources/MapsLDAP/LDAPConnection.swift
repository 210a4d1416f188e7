import PostfixText
import CLDAP
import Maps
import Synchronization

/// One libldap session, shared by every ldap table of a process whose server, credentials and session
/// options are the same, as Postfix shares them: several tables against one directory cost one
/// connection. A table that finds the session broken drops it for all of them, and the next lookup of
/// any of them connects again.
///
/// libldap lets one thread at a time use a session, so the tables that share it take turns: each
/// lookup and each prefetch holds `turn` for its whole exchange (recursively, for a `domain` list that
/// names an ldap table on the same session). The pool's mutex guards which session belongs to which key.
///
/// `@unchecked Sendable`: `key` and `turn` are immutable; `references` is touched only under the pool's
/// mutex; every other property is read and written only by a thread that holds `turn`.
final class SharedConnection: @unchecked Sendable {
    /// The libldap handle (`LDAP *`), nil until connected or after a failure.
    var handle: OpaquePointer?
    /// The guard that puts timeouts on the handle's sockets and bounds connection set-up (see
    /// `cldap_guard` in CLDAP); it lives as long as the handle.
    var watchdog: UnsafeMutablePointer<cldap_guard>?
    /// Counts the handles this slot has held, so requests sent on an earlier one are never awaited on a
    /// later one.
    var generation = 0
    /// Whether the handle has yet to exchange anything with a server (its first search may still have to
    /// connect, when it does not bind).
    var untried = false
    fileprivate var references = 0
    fileprivate let key: String
    /// Held by the table that is using the session.
    let turn = Monitor(recursive: true)

    fileprivate init(key: String) {
        self.key = key
    }

    /// Close the session; the next lookup reconnects.
    func drop() {
        if let handle { _ = ldap_unbind_ext(handle, nil, nil) }
        handle = nil
        cldap_guard_free(watchdog)
        watchdog = nil
    }
}

/// The process-wide table of shared sessions.
enum ConnectionPool {
    private static let slots = Mutex<[String: SharedConnection]>([:])

    /// The session for `key`, created (unconnected) if no table uses it yet.
    static func acquire(_ key: String) -> SharedConnection {
        slots.withLock { slots in
            let slot = slots[key] ?? SharedConnection(key: key)
            slots[key] = slot
            slot.references += 1
            return slot
        }
    }

    /// Give up one table's use of a session; the last one closes it.
    static func release(_ slot: SharedConnection) {
        let last = slots.withLock { slots -> Bool in
            slot.references -= 1
            guard slot.references == 0 else { return false }
            slots[slot.key] = nil
            return true
        }
        if last { slot.turn.withLock { slot.drop() } }
    }
}

/// A NULL-terminated `char **` of attribute names that lives as long as its owner.
final class CStringList {
    let pointer: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>
    let count: Int

    init(_ strings: [String]) {
        count = strings.count
        pointer = .allocate(capacity: strings.count + 1)
        for (i, s) in strings.enumerated() { pointer[i] = strdup(s) }
        pointer[strings.count] = nil
    }

    deinit {
        for i in 0..<count { free(pointer[i]) }
        pointer.deallocate()
    }
}

/// Where libldap's debug output goes when `debuglevel` is set: Postfix logs it as `dict_ldap_debug: ...`.
enum LDAPDebugLog {
    static let sink = Mutex<Diagnostics>(.silent)

    static let printer: @convention(c) (UnsafePointer<CChar>?) -> Void = { text in
        guard let text else { return }
        var line = String(cString: text)
        while let last = line.last, last.isWhitespace { line.removeLast() }
        let diagnostics = LDAPDebugLog.sink.withLock { $0 }
        diagnostics.info("dict_ldap_debug: \(line)")
    }
}

#if canImport(Glibc)
import Glibc
#endif
