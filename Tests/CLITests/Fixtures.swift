/// Table sources shared by the differential and interop tests.
enum Fixtures {
    /// A postmap source with every construct the parser must treat as Postfix does.
    static let richMap: [UInt8] = {
        var text = """
        # comment at the top
        ABC DEF
        ghi jkl
          continued with leading blanks
        # a comment between a line and its continuation

        \tand a tab continuation
        dup first
        DUP second
        Mixed.Case@Example.COM   relay:[mx.example.com]
        "quoted key" value with "quotes"
        gg\\ hh backslash-space key
        user@example.org  smtp:[10.0.0.1]:25 # not a comment
        novalue
        key: colon key
        utf8-ключ значение
        ÉCOLE école
        Straße strasse
        crlf-key crlf-value\r
        trailing-blanks value   \t
        \r
        last-line-no-newline yes
        """
        text = text.replacingOccurrences(of: "last-line-no-newline yes", with: "big-value " + String(repeating: "0123456789abcdef", count: 4096) + "\nlast-line-no-newline yes")
        return Array(text.utf8)
    }()

    /// Keys to query in `richMap`, found and missing, as typed by a user.
    static let richKeys: [String] = [
        "abc", "ABC", "ghi", "dup", "DUP", "mixed.case@example.com", "Mixed.Case@Example.COM",
        "\"quoted key\"", "quoted key", "gg\\ hh", "user@example.org", "novalue", "key:",
        "utf8-ключ", "UTF8-КЛЮЧ", "école", "ÉCOLE", "straße", "strasse", "crlf-key", "crlf-key\r",
        "trailing-blanks", "big-value", "last-line-no-newline", "missing", "",
    ]

    static var richKeysInput: [UInt8] { Array((richKeys.joined(separator: "\n") + "\n").utf8) }

    /// An aliases file with the aliases(5) constructs.
    static let richAliases: [UInt8] = Array("""
    # aliases
    postmaster: root
    MAILER-DAEMON: postmaster
    root: alice, bob,
      carol@example.org
    "john smith": john
    pipe: "|/usr/bin/procmail -a $EXTENSION"
    file: /var/mail/archive
    incl: :include:/etc/mail/list
    Dup: one
    dup: two
    bad@example.com: x
    nocolon
    empty:
    a,b: c
    café: bob
    backslash: \\root
    spaced :   a ,b,   c
    comment: x (a comment) y
    crlf: value\r

    """.utf8)
}
