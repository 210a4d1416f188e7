import Foundation
import Testing
import TestSupport

/// The same main.cf and master.cf in two directories, one for our postconf and one for Debian's; the
/// same command lines run in each (with the same relative `-c .`, so messages that name the directory
/// are comparable). Files get an old time stamp: Postfix reads a main.cf changed within the last second
/// again (and repeats its warnings), which would make runs depend on timing; 3.10 even ignores `-c`.
/// `release` picks the oracle (Debian 12's 3.7.11 or Debian 13's 3.10.13 in the trixie root); ours runs
/// with `MAPS_POSTFIX_RELEASE` set to it.
final class PostconfTwin {
    let ours = TempDir("postconf-ours")
    let theirs: TempDir
    let release: OracleRelease

    init(main: String? = nil, master: String? = nil, files: [String: String] = [:], release: OracleRelease = .v3_7) {
        self.release = release
        theirs = release.tempDir("postconf-postfix")
        if let main { write("main.cf", main) }
        if let master { write("master.cf", master) }
        for (name, text) in files { write(name, text) }
    }

    func write(_ name: String, _ text: String) { write(name, Array(text.utf8)) }

    func write(_ name: String, _ bytes: [UInt8]) {
        for dir in [ours, theirs] {
            dir.write(name, bytes)
            try? FileManager.default.setAttributes([.modificationDate: Date(timeIntervalSince1970: 31_536_000)],
                                                   ofItemAtPath: dir.file(name))
        }
    }

    /// An edit leaves main.cf or master.cf new, and Postfix waits about 2 s for a new main.cf to settle
    /// before it reads it (3.10 then ignores `-c`): the next command would pay that wait. Give the files
    /// the old time stamp `write` gives them.
    func settle() {
        for dir in [ours, theirs] {
            for name in ["main.cf", "master.cf"] where dir.exists(name) {
                try? FileManager.default.setAttributes([.modificationDate: Date(timeIntervalSince1970: 31_536_000)],
                                                       ofItemAtPath: dir.file(name))
            }
        }
    }

    /// Run one command line in both directories.
    func run(_ arguments: [String], asNobody: Bool = false) throws -> (ours: Outcome, theirs: Outcome) {
        func go(_ exe: String, _ dir: TempDir) throws -> Outcome {
            if asNobody {
                return try TestSupport.run("/usr/bin/setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", exe] + arguments,
                                        in: dir.url, environment: release.environment)
            }
            return try TestSupport.run(exe, arguments, in: dir.url, environment: release.environment)
        }
        let a = try go(Paths.ours("postconf"), ours)
        let b = release == .v3_7 ? try go(Paths.postfix("postconf"), theirs)
            : try release.run("postconf", arguments, in: theirs.url)
        settle()
        return (Self.normalize(a, exe: Paths.ours("postconf")), Self.normalize(b, exe: Paths.postfix("postconf")))
    }

    /// Program path → `postconf`; `process_id` (differs between any two processes) → `PID`.
    static func normalize(_ o: Outcome, exe: String) -> Outcome {
        var copy = o
        copy.stderr = o.stderr.replacingOccurrences(of: exe, with: "postconf")
        let lines = o.out.split(separator: "\n", omittingEmptySubsequences: false).map { line -> String in
            if line.hasPrefix("process_id = ") { return "process_id = PID" }
            return String(line)
        }
        copy.stdout = Array(lines.joined(separator: "\n").utf8)
        return copy
    }

    /// Our usage text adds `--check` to Postfix's (by design); the rest must be the same.
    static let checkUsage = " | --check [--json] [-c config_dir] (lint main.cf, master.cf and the tables they name)"

    /// Warnings that Postfix 3.7 prints while it walks a hash table, in an order that changes from run to
    /// run (its hash function is seeded at random: `hash_fnv`, unless `NORANDOMIZE` is set): unused and
    /// deprecated names (`postconf_unused.c`, a database client file in `postconf_dbms.c`), and what the
    /// scan of every main.cf and master.cf value for `$name` prints (`postconf_user.c`): undefined names,
    /// read-only assignments and `mac_expand`'s syntax warnings. Those syntax warnings are also printed, in
    /// a fixed order, when `-x` expands a value; a run of them is sorted as a whole.
    static let hashOrdered = [
        ": unused parameter: ", ": undefined parameter: ", ": read-only parameter assignment: ", ": support for parameter ",
        ": #comment after other text is not allowed: ", ": missing '}' in \"", ": syntax error after '}' in \"",
        "postconf: warning: truncated macro reference: ", "postconf: warning: empty macro name: ",
        "postconf: warning: unreasonable macro call nesting: ", " expected at: \"...", "postconf: warning: bad operator suffix at: ",
        "postconf: warning: attribute name syntax error at: ", "postconf: warning: unexpected input at: ",
    ]

    /// stderr as lines, each run of consecutive hash-ordered warnings sorted; every other line stays
    /// where it is.
    static func stderrLines(_ text: String) -> [String] {
        var lines: [String] = [], run: [String] = []
        for full in text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init) {
            let line = full.hasSuffix(checkUsage) ? String(full.dropLast(checkUsage.count)) : full
            if line.hasPrefix("postconf: warning: ") && hashOrdered.contains(where: { line.contains($0) }) {
                run.append(line)
            } else {
                lines += run.sorted()
                run = []
                lines.append(line)
            }
        }
        return lines + run.sorted()
    }

    /// A fatal message, if any, is the last message on stderr (its text may span lines: a value with a
    /// newline in it is printed as it is).
    static func fatalIsLast(_ text: String) -> Bool {
        guard let fatal = text.range(of: "postconf: fatal: ") else { return true }
        let lineStart = fatal.lowerBound == text.startIndex || text[text.index(before: fatal.lowerBound)] == "\n"
        let after = text[fatal.upperBound...]
        return lineStart && !after.contains("\npostconf: ") && text.hasSuffix("\n")
    }

    /// Require the same exit status, stdout, stderr (in order, up to Postfix's hash order) and resulting files.
    @discardableResult
    func same(_ arguments: [String], asNobody: Bool = false, files: [String] = ["main.cf", "master.cf"],
              sourceLocation: SourceLocation = #_sourceLocation) throws -> Outcome {
        let (a, b) = try run(arguments, asNobody: asNobody)
        #expect(a.status == b.status, "exit status of postconf \(arguments)", sourceLocation: sourceLocation)
        #expect(a.out == b.out, "stdout of postconf \(arguments)", sourceLocation: sourceLocation)
        #expect(Self.stderrLines(a.stderr) == Self.stderrLines(b.stderr),
                "stderr of postconf \(arguments): ours\n\(a.stderr)Postfix's\n\(b.stderr)", sourceLocation: sourceLocation)
        #expect(Self.fatalIsLast(a.stderr), "a fatal message that is not the last line: \(a.stderr)", sourceLocation: sourceLocation)
        #expect(Self.fatalIsLast(b.stderr), "Postfix's fatal message is not last: \(b.stderr)", sourceLocation: sourceLocation)
        for name in files {
            #expect(ours.read(name) == theirs.read(name), "\(name) after postconf \(arguments)", sourceLocation: sourceLocation)
        }
        return a
    }
}

/// One scenario: main.cf and master.cf contents (`nil`: no file) and command lines run in order.
struct PostconfCase: CustomStringConvertible, Sendable {
    var name: String
    var main: String?
    var master: String?
    var commands: [[String]]
    var description: String { name }

    init(_ name: String, main: String? = "", master: String? = "", _ commands: [String]...) {
        self.name = name
        self.main = main
        self.master = master
        self.commands = commands
    }
}

/// Scenarios from Postfix's own postconf test suite (`src/postconf/Makefile.in`, test1 to test70), which
/// run against 3.7.11 here, plus edits, option errors and bad input.
enum PostconfCases {
    static let upstream: [PostconfCase] = [
        .init("test1 restriction classes", main: "smtpd_restriction_classes = foo bar\nfoo = yes\n", ["-nc", "."]),
        .init("test2 unused names", main: "restriction_classes = foo bar\nfoo = yes\n", ["-nc", "."]),
        .init("test3 $name validates main.cf names", main: "foo = yes\nbar = $foo\nalways_bcc = $bar\n", ["-nc", "."]),
        .init("test4 master.cf validates main.cf", main: "foo = yes\nbar = $foo\n",
              master: "smtpd unix - n n - 0 smtpd\n -o always_bcc=$bar\n", ["-nc", "."]),
        .init("test4b main.cf validates master.cf", main: "always_bcc = $foo\nbiff = $bar\nbar = aaa\n",
              master: "smtpd1 unix - n n - 0 smtpd\n -o foo=xxx -o bar=yyy -o baz=zzz\n#smtpd2 unix - n n - 0 smtpd\n",
              ["-nc", "."]),
        .init("test5 master.cf validates master.cf", master: "smtpd unix - n n - 0 smtpd\n -o bar=yes -o always_bcc=$bar -o\n",
              ["-nc", "."]),
        .init("test6 pipe service parameters", master: "whatevershebrings unix - n n - 0 pipe\n", ["-c", "."]),
        .init("test7 spawn service parameters", master: "whatevershebrings unix - n n - 0 spawn\n", ["-c", "."]),
        .init("test8 service parameter set in main.cf", main: "whatevershebrings_time_limit=1\n",
              master: "whatevershebrings inet - n n - 0 spawn\n", ["-c", "."]),
        .init("test9-11 -M selection", master: "foo inet - n n - 0 spawn\nbar unix - n n - 0 spawn\n",
              ["-c", ".", "-M", "*/inet"], ["-c", ".", "-M", "bar/inet", "foo/unix"], ["-c", ".", "-M"]),
        .init("test12 duplicate service", main: "bar=yes\n",
              master: "foo inet - n n - 0 spawn\n -o always_bcc=$bar -o\nfoo inet - n n - 0 spawn\n -o always_bcc=$bar -o\n",
              ["-c", ".", "-M"], ["-c", ".", "-n"]),
        .init("test13 class in master.cf", main: "bar=yes\nbaz=xx\n",
              master: "foo inet - n n - 0 spawn\n -o smtpd_restriction_classes=bar\n", ["-nc", "."]),
        .init("test14 class in main.cf", main: "smtpd_restriction_classes=bar\n",
              master: "foo inet - n n - 0 spawn\n -o bar=yes -o baz=xx\n", ["-nc", "."]),
        .init("test15 hidden by master.cf", main: "bar=xx\nbaz=yy\n",
              master: "foo inet - n n - 0 spawn\n -o bar=yes -o always_bcc=$bar$baz\n", ["-nc", "."]),
        .init("test16-17 no master.cf", main: "", master: nil, ["-nc", "."], ["-Mc", "."]),
        .init("test18 legacy names", main: "virtual_maps=xxx\nsmtpd_client_connection_limit_exceptions=yyy\n", ["-nc", "."]),
        .init("test19 raw parameters", main: "forward_path=$aaaa\ndefault_rbl_reply=$bbbb\n", ["-nc", "."], ["-nxc", "."]),
        .init("test20 -M folding", master: "foo inet - n n - 0 spawn\n -o always_bcc=$bar$baz\n", ["-Mfc", "."]),
        .init("test21 main.cf folding",
              main: "forward_path = xxxxxxxxxxxxx xxxxxxxxxxxxxx xxxxxxxxxxxx xxxxxxxxxxxxx xxxxxxxxxxxxxx\n", ["-nfc", "."]),
        .init("test22 smtp service parameters", master: "whatevershebrings unix - n n - 0 smtp\n", ["-c", "."]),
        .init("test23-27 -C classes", main: "always_bcc = yes\nname = value\n",
              master: "whatevershebrings unix - n n - 0 smtp\n -o always_bcc=$name\n",
              ["-c", ".", "-nC", "builtin"], ["-c", ".", "-nC", "user"], ["-c", ".", "-C", "service"],
              ["-nc", ".", "-C", "all"], ["-c", ".", "-C", "all"]),
        .init("test28 database parameters and scoping",
              main: "xx = proxy:ldap:foo\nfoo_domain = bar\nheader_checks = ldap:hh\nhh_domain = whatever\nzz = $yy\nyy = aap\n"
                  + "db = memcache\naap_domain = whatever\naa_domain = whatever\n",
              master: "whatevershebrings unix - n n - 0 other\n -o body_checks=$db:$zz\n", ["-nc", "."]),
        .init("test29 known and unknown database suffixes",
              main: ["ldap", "mysql", "pgsql", "sqlite", "memcache"].map {
                  "\($0)xx = proxy:\($0):\($0)foo\n\($0)foo_domain = bar\n\($0)foo_domainx = bar\n"
              }.joined(), ["-nc", "."]),
        .init("test30 -o forms", main: "p1=xx\np2=xx\np3=xx\np4=xx\n",
              master: "whatevershebrings unix - n n - 0 other\n -o body_checks=$p1\n -o bodyx_checks=$p2\n -oheader_checks=$p3\n -oheaderx_checks=$p4\n",
              ["-nc", "."]),
        .init("test31 non-default into non-default",
              main: "smtpd_helo_restrictions=whatever\nsmtpd_sender_restrictions=$smtpd_helo_restrictions\n", ["-nxc", "."]),
        .init("test32 non-default into default", main: "relay_domains=whatever\n", ["-xc", ".", "fast_flush_domains"]),
        .init("test33 default into non-default", main: "mydestination=whatever\nalways_bcc=$relay_domains\n",
              ["-xc", ".", "always_bcc"]),
        .init("test34 read-only in main.cf", main: "mydestination=whatever\nprocess_name=xxx\nprocess_id=yyy\n",
              ["-xc", ".", "mydestination", "process_name"]),
        .init("test35 read-only in master.cf",
              master: "whatevershebrings unix - n n - 0 other\n -o body_checks=whatever\n -o process_name=aaa\n -o process_id=bbb\n",
              ["-xc", ".", "process_name"]),
        .init("test36 undefined and legacy", main: "mydestination=$virtual_mapx\nvirtual_alias_maps=$virtual_maps\n", ["-nxc", "."]),
        .init("test37 -Mx", main: "xxx=yyy\naaa=bbb\n",
              master: "whatever unix - n n - 0 other\n -o mydestination=$xxx\n -o always_bcc=$aaa\n -o aaa=ccc\n", ["-Mfxc", "."]),
        .init("test39 wildcard service", master: "foo unix - n n - 0 other\nbar inet - n n - 0 other\nbaz unix - n n - 0 other\n",
              ["-Mfc", ".", "*/unix"]),
        .init("test40 -v -o parsing", master: "foo unix - n n - 0 other\n -voaaa=bbb\n -vo ccc=$aaa\n -v -oddd=$ccc\n",
              ["-Mfxc", ".", "*/unix"]),
        .init("test41 -Pe", master: threeServices,
              ["-Pc", ".", "bar/unix/xxx=yyy", "bar/unix/aaa=bbb"], ["-Mfc."], ["-Pc", ".", "bar/unix/xxx=YYY", "bar/unix/aaa=BBB"],
              ["-Mfc."], ["-Pc", "."]),
        .init("test42 -PX", master: threeServices,
              ["-Pc", ".", "bar/unix/xxx=yyy", "bar/unix/aaa=bbb"], ["-Mfc."], ["-Pc", "."],
              ["-PXc.", "bar/unix/xxx", "bar/unix/aaa"], ["-Mfc."]),
        .init("test43 -Fe", master: threeServices,
              ["-Fc", ".", "bar/unix/chroot=y", "bar/unix/command=aa -stuffobb=cc dd"], ["-Mfc."]),
        .init("test44 -Me", master: threeServices, ["-Mc", ".", "bar/unix=xx inet - n n - 0 aa -stuffobb=cc dd"], ["-Mfc."]),
        .init("test45 bad type", master: "foo unix - n n - 0 other\nbar xxxx - n n - 0 other\nbaz unix - n n - 0 other\n", ["-Mfc."]),
        .init("test46 bad private", master: "foo unix - n n - 0 other\nbar inet X n n - 0 other\n", ["-Mfc."]),
        .init("test47 bad unprivileged", master: "foo unix - n n - 0 other\nbar inet - X n - 0 other\n", ["-Mfc."]),
        .init("test48 bad chroot", master: "foo unix - n n - 0 other\nbar inet - n X - 0 other\n", ["-Mfc."]),
        .init("test49 bad wakeup", master: "foo unix - n n - 0 other\nbar inet - n n X 0 other\n", ["-Mfc."]),
        .init("test50 bad process limit", master: "foo unix - n n - 0 other\nbar inet - n n - X other\n", ["-Mfc."]),
        .init("test51 wakeup with ?", master: "foo unix - n n -? 0 other\nbar inet - n n X? 0 other\nbaz unix - n n 0? 0 other\n",
              ["-Mfc."]),
        .init("test52 -MX", master: threeServices2, ["-MXc.", "bar/inet", "foo/unix", "xxx/yyy"], ["-Mfc."]),
        .init("test53 -M#", master: threeServices2, ["-M#c.", "bar/inet", "xxx/yyy"]),
        .init("test54 -M# two", master: threeServices2, ["-M#c.", "bar/inet", "foo/unix"]),
        .init("test55 -M# last", master: threeServices2, ["-M#c.", "bar/inet", "baz/unix"]),
        .init("test56 -M# with continuation lines",
              master: "foo unix - n n - 0 other\nbar inet - n n 0 0 other\n -o first\n -o second\nbaz unix - n n 0 0 other\n",
              ["-M#c.", "bar/inet", "xxx/yyy"]),
        .init("test57 conditional and relational expressions",
              main: "x = ${{1} == {2}?{error}:x-value}\ny = y-value\nbar = ${x?{$y}:$z}\nbaz = ${x?{$z}:$y}\nfoo = $bar$baz\n"
                  + "t1 = Postfix 2.11 ${{${x?bug:x}} == {bug}?in}compatible\nt2 = $t1\n", ["-nxc."]),
        .init("test58 {} in main.cf",
              main: "mydestination = foo bar pipemap:{ldap:xxx, memcache:yy}x randmap:{xx\nxxx_domain = foo\nxxx_bogus = foo\n"
                  + "yy_backup = bbb\nyy_bogus = bbb\n", ["-nc."]),
        .init("test59 {} in master.cf",
              master: "foo unix - n n - 0 other\nbar inet - n n 0 0 other\n -o name1=value1\n -o { name2 = value2a value2b }\n"
                  + " { arg1a arg1b }\n { arg2a arg2b }x\n { arg3a arg3b \nbaz unix - n n 0 0 other\n", ["-Mfc."]),
        .init("test60-63 -h and -H", master: "foo unix - n n - 0 other\n -o always_bcc=bar\n",
              ["-Fhc."], ["-Phc."], ["-FHc."], ["-PHc."]),
        .init("test64-65 -o overrides main.cf", main: "relayhost = relay-from-main.cf\n",
              ["-c.", "relayhost"], ["-c.", "-o", "relayhost=relay-from-cmd-line", "relayhost"]),
        .init("test67 process_name and service_name",
              master: "smtp inet n - n - - smtpd\n -o test1_process_name=$process_name\n -o test1_service_name=$service_name\n"
                  + "smtp unix n - n - - smtp\n -o test2_process_name=$process_name\n -o test2_service_name=$service_name\n",
              ["-xMfc."]),
        .init("test70 nested braces",
              main: "smtpd_client_restrictions = check_sender_access {\n  pipemap:{ldap:used} { search_order = foo, bar } }\n"
                  + "used_server_host = 127.0.0.1\nunused_server_host = 127.0.0.1\n", ["-nc", "."]),
    ]

    static let threeServices = "foo unix - n n - 0 other\nbar unix - n n - 0 other\nbaz unix - n n - 0 other\n"
    static let threeServices2 = "foo unix - n n - 0 other\nbar inet - n n 0 0 other\nbaz unix - n n 0 0 other\n"

    static let sampleMain = "# comment\nmyhostname = a\n    b\n# mid\n  c\nrelayhost = x\n\nmydestination = $myhostname\nmyhostname=again\n"

    static let edits: [PostconfCase] = [
        .init("-e replaces every entry, continuations included", main: sampleMain, ["-c", ".", "-e", "myhostname = new"]),
        .init("-e appends a new name", main: sampleMain, ["-c", ".", "-e", "zzz=1"], ["-c", ".", "-e", "aaa =  2 "]),
        .init("-X removes", main: sampleMain, ["-c", ".", "-X", "myhostname", "relayhost"]),
        .init("-# comments out", main: sampleMain, ["-c", ".", "-#", "myhostname", "relayhost", "nothere"]),
        .init("name=value implies -e", main: sampleMain, ["-c", ".", "myhostname=implied"]),
        .init("bad -e arguments", main: sampleMain, ["-c", ".", "-e", "bad"], ["-c", ".", "-e", "=bad"], ["-c", ".", "-e", "a=1\nb=2"],
              ["-c", ".", "-e", "#a=1"], ["-c", ".", "-X", "a=1"], ["-c", ".", "-X", " "], ["-c", ".", "-e"], ["-c", ".", "-X"],
              ["-c", ".", "-e", "-X", "a"], ["-c", ".", "-X", "-n", "a"]),
        .init("same name twice", main: sampleMain, ["-c", ".", "-e", "a=1", "a=2"]),
        .init("no newline at the end", main: "a = 1", ["-c", ".", "-e", "b=2"]),
        .init("repeated requests, the same value and another", main: "a = 1\n", ["-c", ".", "-e", "a=1", "a=1", "b=2", "b=3"]),
        .init("master.cf without a newline at the end", master: "smtp inet n - y - - smtpd",
              ["-c", ".", "-Pe", "smtp/inet/a=b"]),
        .init("empty value", main: "a = 1\n", ["-c", ".", "-e", "a="]),
        .init("no main.cf", main: nil, ["-c", ".", "-e", "a=1"]),
        .init("no directory", main: "a = 1\n", ["-c", "/nonexistent", "-e", "a=1"]),
        .init("Debian's main.cf.dist", main: (try? String(contentsOfFile: "/usr/share/postfix/main.cf.dist", encoding: .utf8)) ?? "",
              ["-c", ".", "-e", "myhostname = mx.example.com"], ["-c", ".", "-e", "mydomain=example.com"],
              ["-c", ".", "-e", "inet_interfaces = loopback-only", "smtpd_banner=$myhostname ESMTP"], ["-c", ".", "-#", "inet_interfaces"],
              ["-c", ".", "-X", "mydestination"], ["-c", ".", "-n"]),
        .init("master.cf edits", master: "foo unix - n n - 0 other\n# c1\n -o a=1\n#c2\n -o b=2\nbar unix - n n - 0 other\n",
              ["-c", ".", "-Pe", "foo/unix/c=3", "foo/unix/a=9"], ["-c", ".", "-Fe", "foo/unix/wakeup=10?"], ["-c", ".", "-MX", "bar/unix"]),
        .init("-Me replaces duplicates by name and by new name",
              master: "foo unix - n n - 0 other\nfoo unix - n n - 1 other2\nbar unix - n n - 0 other\n",
              ["-c", ".", "-Me", "bar/unix=foo unix - n n - 2 repl"]),
        .init("master.cf edit errors", master: "foo unix - n n - 0 other\n",
              ["-c", ".", "-Me", "foo/unix"], ["-c", ".", "-MX", "foo"], ["-c", ".", "-Fe", "foo/unix/*=1"],
              ["-c", ".", "-Fe", "foo/unix/chroot=a b"], ["-c", ".", "-Pe", "foo/unix/x=a b"], ["-c", ".", "-Pe", "foo/unix/*=a"],
              ["-c", ".", "-Pe", "foo/unix=a"], ["-c", ".", "-Fe", "foo/unix/bogus=1"], ["-c", ".", "-Me", "foo/unix=a b"],
              ["-c", ".", "-Me", "foo/unix=a bogus - n n - 0 x"], ["-c", ".", "-Fe", "foo/unix/chroot=q"],
              ["-c", ".", "-Pe", "foo/unix/a=1", "bar/unix/b=2"], ["-c", ".", "-Fe", "bar/unix/chroot=y"],
              ["-c", ".", "-Me", "new/unix=new unix - n n - 0 cmd"], ["-c", ".", "-M", "a\nb=1"], ["-c", ".", "-M", "#foo/unix=1"],
              ["-c", ".", "-MX", "foo/unix=1"]),
        .init("master.cf lines -Pe cannot edit", master: "foo unix - n n - 0 other\nbar = x\n", ["-c", ".", "-Pe", "foo/unix/a=1"]),
        .init("master.cf bad type syntax", master: "foo unix - n n - 0 other\nbar x/y\n", ["-c", ".", "-Pe", "foo/unix/a=1"]),
        .init("master.cf name without type", master: "foo unix - n n - 0 other\nbar\n", ["-c", ".", "-Pe", "foo/unix/a=1"]),
    ]

    static let bad: [PostconfCase] = [
        .init("overriding entries", main: "a = 1\na=2\na = 2\n", ["-c", ".", "-n"]),
        .init("unbalanced ${", main: "a = ${b\nc = $a\n", ["-c", ".", "-n"], ["-c", ".", "-nx"], ["-c", ".", "a", "c"],
              ["-c", ".", "-x", "a", "c"]),
        .init("a loop: a = $b, b = $a", main: "a = $b\nb = $a\n", ["-c", ".", "-n"], ["-c", ".", "-nx"], ["-c", ".", "-x", "a"]),
        .init("a loop through a built-in parameter", main: "relayhost = $b\nb = $relayhost x $relayhost\n",
              ["-c", ".", "-n"], ["-c", ".", "-nx"]),
        .init("a line starting with whitespace", main: "  leading = 1\nx = 1\n", ["-c", ".", "-n"]),
        .init("a line without =", main: "nothing here\n", ["-c", ".", "-n"]),
        .init("a line without name", main: "= value\n", ["-c", ".", "-n"]),
        .init("no config directory", main: nil, master: nil, ["-c", "/nonexistent", "-n"], ["-c", "/nonexistent"],
              ["-c", "/nonexistent", "-d", "mail_version"], ["-c", "/nonexistent", "-M"], ["-c", "/nonexistent", "-m"],
              ["-c", "/nonexistent", "-e", "a=b"], ["-c", "/nonexistent", "-Me", "a/unix=a unix - - - - - a"]),
        .init("expression syntax errors",
              main: "a = ${{1} = {2} ? {x} : {y}}\nb = ${{1} == {2} ! {x}}\nc = ${{1} == {2} ? {x} : {y} junk}\nd = ${a ? x : y}\n"
                  + "e = ${{3.6} <levelx {2} ? {a}}\nf = ${{x} <level {2} ? {a}}\ng=${{1} == }\nh=${{1}==\ni=$\nj=${}\n"
                  + "k=${{99999999999999999999} == {1}?{a}}\nl = ${{1} < {2}}\nm = ${a b}\n",
              ["-c", ".", "-x", "a"], ["-c", ".", "-x", "b"], ["-c", ".", "-x", "c"], ["-c", ".", "-x", "d"], ["-c", ".", "-x", "e"],
              ["-c", ".", "-x", "f"], ["-c", ".", "-x", "g"], ["-c", ".", "-x", "h"], ["-c", ".", "-x", "i"], ["-c", ".", "-x", "j"],
              ["-c", ".", "-x", "k"], ["-c", ".", "-x", "l"], ["-c", ".", "-x", "m"], ["-c", ".", "-n"]),
        .init("-o", main: "x=1\n", ["-c", ".", "-o"], ["-c", ".", "-o", "bad", "x"], ["-c", ".", "-o", "x=2", "x"],
              ["-c", ".", "-o", "x=2", "-n"], ["-c", ".", "-o", "x=2", "-d", "x"]),
        .init("option errors and conflicts", main: "x=1\n",
              ["-c", ".", "-C", "builtin,user", "-n"], ["-c", ".", "-C", "BUILTIN", "mail_version"], ["-c", ".", "-C", "bogus"],
              ["-c", ".", "-z"], ["-c", ".", "-e", "-n", "a=b"], ["-c", ".", "-fe", "a=b"], ["-c", ".", "-Mh"], ["-c", ".", "-Fd"],
              ["-c", ".", "-lm"], ["-c", ".", "-b", "-t"], ["-c", ".", "-T", "a", "-T", "b"], ["-c", ".", "-T", "foo"],
              ["-c", ".", "-E"], ["-c", ".", "-Mn"], ["-c"], ["-c", ".", "-l"], ["-c", ".", "-a"], ["-c", ".", "-A"]),
        // --version is the one long option we add: every other long word is still glibc's complaint, and
        // --version where no option stands is a name, as in Postfix.
        .init("long options other than --version", main: "x=1\n",
              ["-c", ".", "--versio"], ["-c", ".", "--help"], ["-c", ".", "--version=1"], ["-c", ".", "x", "--version"],
              ["-c", ".", "--", "--version"]),
        .init("master.cf selection errors", main: "x=1\n", master: "foo unix - n n - 0 other\n",
              ["-c", ".", "-M", "foo/unix/x"], ["-c", ".", "-M", "*x"], ["-c", ".", "-M", "/foo"], ["-c", ".", "-F", "foo/unix/bogus"],
              ["-c", ".", "-F", "foo/unix/command", "foo/unix/*"], ["-c", ".", "-P", "foo/unix/x"], ["-c", ".", "-P", "a/b/c/d"],
              ["-c", ".", "-F", "nothere"]),
    ]
}

@Suite(.enabled(if: Oracle.enabled(Paths.postconfOracleAvailable), "needs Debian's postfix package"))
struct PostconfTests {
    static let stockMaster = (try? String(contentsOf: Paths.root.appendingPathComponent("testdata/postconf/debian/master.cf"),
                                          encoding: .utf8)) ?? ""
    static let stockMain = (try? String(contentsOf: Paths.root.appendingPathComponent("testdata/postconf/debian/main.cf"),
                                        encoding: .utf8)) ?? ""

    @Test("Postfix's postconf test suite", arguments: OracleRelease.available, PostconfCases.upstream)
    func upstream(release: OracleRelease, _ c: PostconfCase) throws {
        guard release.check() else { return }
        let twin = PostconfTwin(main: c.main, master: c.master, release: release)
        for command in c.commands { try twin.same(command) }
    }

    @Test("-e, -X, -# and master.cf edits", arguments: OracleRelease.available, PostconfCases.edits)
    func edits(release: OracleRelease, _ c: PostconfCase) throws {
        guard release.check() else { return }
        let twin = PostconfTwin(main: c.main, master: c.master, release: release)
        for command in c.commands { try twin.same(command) }
    }

    @Test("bad input and option errors", arguments: OracleRelease.available, PostconfCases.bad)
    func badInput(release: OracleRelease, _ c: PostconfCase) throws {
        guard release.check() else { return }
        let twin = PostconfTwin(main: c.main, master: c.master, release: release)
        for command in c.commands { try twin.same(command) }
    }

    static let stockMaster13 = (try? String(contentsOf: Paths.root.appendingPathComponent("testdata/postconf/debian13/master.cf"),
                                            encoding: .utf8)) ?? ""
    static let stockMain13 = (try? String(contentsOf: Paths.root.appendingPathComponent("testdata/postconf/debian13/main.cf"),
                                          encoding: .utf8)) ?? ""

    /// The stock main.cf and master.cf of the Debian release that ships `release`.
    static func stock(_ release: OracleRelease) -> (main: String, master: String) {
        release == .v3_7 ? (stockMain, stockMaster) : (stockMain13, stockMaster13)
    }

    @Test("postconf -d prints every parameter of Debian's stock configuration (1,043 on 3.7.11, 967 on 3.10.13)",
          arguments: OracleRelease.available)
    func defaults(release: OracleRelease) throws {
        guard release.check() else { return }
        let twin = PostconfTwin(main: Self.stock(release).main, master: Self.stock(release).master, release: release)
        let out = try twin.same(["-c", ".", "-d"])
        #expect(out.out.split(separator: "\n").count == (release == .v3_7 ? 1043 : 967))
        try twin.same(["-c", ".", "-dx"])
        try twin.same(["-c", ".", "-d", "-C", "builtin"])
        try twin.same(["-c", ".", "-d", "-C", "service"])
        try twin.same(["-c", ".", "-dH"])
        try twin.same(["-c", ".", "-dh", "myhostname", "mydomain", "mynetworks", "inet_interfaces", "process_name"])
        try twin.same(["-c", ".", "-dx", "mydestination", "relay_domains", "smtputf8_enable", "mynetworks_style"])
    }

    @Test("postconf -d without master.cf: the built-in parameters (831 on 3.7.11, 857 on 3.10.13)",
          arguments: OracleRelease.available)
    func builtinDefaults(release: OracleRelease) throws {
        guard release.check() else { return }
        let twin = PostconfTwin(main: nil, master: nil, release: release)
        let out = try twin.same(["-c", ".", "-d"])
        #expect(out.out.split(separator: "\n").count == (release == .v3_7 ? 831 : 857))
        try twin.same(["-c", ".", "-dh", "mail_version", "mail_release_date", "smtpd_forbid_bare_newline"])
        try twin.same(["-c", ".", "-d", "-C", "builtin"])
    }

    @Test("Debian's stock main.cf and master.cf: every display", arguments: OracleRelease.available)
    func stock(release: OracleRelease) throws {
        guard release.check() else { return }
        let twin = PostconfTwin(main: Self.stock(release).main, master: Self.stock(release).master, release: release)
        for args in [[], ["-n"], ["-nx"], ["-nf"], ["-x"], ["-M"], ["-Mf"], ["-Mx"], ["-F"], ["-Fh"], ["-FH"], ["-P"], ["-Pf"],
                     ["-M", "smtp"], ["-M", "*/unix"], ["-F", "*/*/command"], ["-P", "relay/unix/*"], ["-h", "mydestination"],
                     ["-xh", "mydestination"], ["-H", "relayhost", "nosuch"], ["-l"], ["-a"], ["-A"],
                     ["-n", "-C", "builtin"], ["-C", "service"], ["-C", "user"]] {
            try twin.same(["-c", "."] + args)
        }
    }

    /// Every name of 3.9's deprecation table (the built-in ones and `deleted-test-only`, which is not),
    /// comments after other text in values that postconf scans for tables, inline patterns with `#`.
    static let deprecatedMain = """
        disable_dns_lookups = yes
        lmtp_use_tls = yes
        postscreen_use_tls = yes
        smtp_use_tls = yes
        smtpd_use_tls = yes
        tlsproxy_client_use_tls = yes
        tlsproxy_use_tls = yes
        lmtp_enforce_tls = no
        postscreen_enforce_tls = no
        smtp_enforce_tls = no
        smtpd_enforce_tls = no
        tlsproxy_client_enforce_tls = no
        tlsproxy_enforce_tls = no
        lmtp_tls_per_site = hash:/etc/postfix/lmtp_tls
        smtp_tls_per_site = hash:/etc/postfix/tls_per_site # the old name
        tlsproxy_client_per_site = $smtp_tls_per_site
        smtpd_tls_dh1024_param_file = /etc/postfix/dh2048.pem
        smtpd_tls_eecdh_grade = strong
        deleted-test-only = 1
        alias_maps = hash:/etc/aliases # the aliases, as Debian's main.cf had them once upon a time
        virtual_alias_maps = pcre:{{/a#b/ x}}, regexp:{{/#x/ y}, {/z/ #w}}, ldap:foo #, mysql:bar
        foo_server_host = ldap.example.com
        bar_hosts = db.example.com
        header_checks = inline:{{#a=b}}, texthash:/nosuch #comment
        relay_domains = $mydestination,#nothing
        unused_here = 1

        """
    static let deprecatedMaster = """
        smtp      inet  n       -       y       -       -       smtpd
          -o smtpd_use_tls=yes
          -o smtp_tls_per_site=hash:/x
          -o deleted-test-only=2
          -o smtpd_client_restrictions=check_client_access,hash:/x,#c
        submission inet n       -       y       -       -       smtpd
          -o smtpd_enforce_tls=yes
          -o nothing_like_it=1

        """

    @Test("deprecated parameters, #comment after other text and -q (3.9 on; 3.7 says nothing, and has no -q)",
          arguments: OracleRelease.available)
    func deprecations(release: OracleRelease) throws {
        guard release.check() else { return }
        let twin = PostconfTwin(main: Self.deprecatedMain, master: Self.deprecatedMaster, release: release)
        for args in [["-n"], ["-nq"], ["-q", "-n"], [], ["-q"], ["-x", "smtpd_use_tls", "deleted-test-only"], ["-qh", "smtpd_use_tls"],
                     ["-M"], ["-Mq"], ["-P"], ["-Pq"], ["-F"], ["-Fq", "smtp/inet/command"], ["-d", "smtpd_use_tls"], ["-dq", "smtpd_use_tls"],
                     ["-nqx"], ["-q", "-o", "smtp_use_tls=no", "smtp_use_tls"], ["-m"], ["-mq"]] {
            try twin.same(["-c", "."] + args)
        }
        try twin.same(["-c", ".", "-q", "-e", "smtpd_use_tls=no"])
        try twin.same(["-c", ".", "-X", "lmtp_use_tls"])
        try twin.same(["-c", ".", "-n"])
        try twin.same(["-c", ".", "-Pq", "-e", "smtp/inet/smtp_use_tls=no"])
        try twin.same(["-c", ".", "-P"])
        // Brace syntax warnings: 3.9 names the file by its full path.
        let braces = PostconfTwin(main: "virtual_alias_maps = inline:{a=b\nrelay_domains = {x}y, pcre:{{/#/ x} \n",
                                  master: "smtp inet n - y - - smtpd -o virtual_alias_maps=inline:{{a=b}\n", release: release)
        for args in [["-n"], ["-M"], ["-P"]] { try braces.same(["-c", "."] + args) }
    }

    @Test("the stock configurations of both Debian releases, and a database client file with unknown names, under -q",
          arguments: OracleRelease.available)
    func quietClientFiles(release: OracleRelease) throws {
        guard release.check() else { return }
        let twin = PostconfTwin(main: "", master: Self.stock(release).master, release: release)
        for (dir, path) in [(twin.ours, twin.ours.path), (twin.theirs, release.inside(twin.theirs.path))] {
            dir.write("main.cf", Array("virtual_alias_maps = ldap:\(path)/ldap.cf, mongodb:\(path)/m.cf, mongodb:mdb\n\(Self.stock(.v3_7).main)".utf8))
            try FileManager.default.setAttributes([.modificationDate: Date(timeIntervalSince1970: 31_536_000)], ofItemAtPath: dir.file("main.cf"))
        }
        twin.write("ldap.cf", "server_host = x\nno_such_name = 1\nquery_filter = (mail=%s) # c\n")
        twin.write("m.cf", "uri = mongodb://x\nbogus = 1\n")
        for args in [["-n"], ["-nq"], ["-q"], ["-M"], ["-Mq"]] {
            // The client files' absolute paths differ between the two directories: compared as DIR.
            let (a, b) = try twin.run(["-c", "."] + args)
            let ours = a.stderr.replacingOccurrences(of: twin.ours.path, with: "DIR")
            let theirs = b.stderr.replacingOccurrences(of: release.inside(twin.theirs.path), with: "DIR")
            #expect(a.status == b.status)
            #expect(a.out.replacingOccurrences(of: twin.ours.path, with: "DIR")
                    == b.out.replacingOccurrences(of: release.inside(twin.theirs.path), with: "DIR"), "\(args)")
            #expect(PostconfTwin.stderrLines(ours) == PostconfTwin.stderrLines(theirs), "\(args): ours\n\(ours)Postfix's\n\(theirs)")
            #expect(args.contains(where: { $0.contains("q") }) != ours.contains("unused parameter"), "\(args): \(ours)")
        }
        twin.write("main.cf", Self.stock(release).main + "mdb_uri = mongodb://x\nmdb_dbname = d\nvirtual_alias_maps = mongodb:mdb\n")
        try twin.same(["-c", ".", "-n"])
    }

    @Test("host-dependent defaults are computed as Postfix computes them", arguments: OracleRelease.available)
    func hostDefaults(release: OracleRelease) throws {
        guard release.check() else { return }
        for main in ["", "mydomain = example.org\n", "myhostname = mx.example.com\n", "mynetworks_style = host\n",
                     "mynetworks_style = class\n", "compatibility_level = 3.6\n", "inet_protocols = ipv4\n",
                     "inet_interfaces = loopback-only\n", "inet_interfaces = 127.0.0.1\n"] {
            let twin = PostconfTwin(main: main, master: "", release: release)
            try twin.same(["-c", ".", "-x", "myhostname", "mydomain", "mynetworks", "mydestination"])
        }
    }

    @Test("an edit writes main.cf.tmp and renames it: mode 0644, a stale temporary file is replaced")
    func editThroughTemporaryFile() throws {
        let twin = PostconfTwin(main: PostconfCases.sampleMain, master: "")
        twin.write("main.cf.tmp", "garbage from an interrupted run\n")
        for dir in [twin.ours, twin.theirs] {
            try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: dir.file("main.cf.tmp"))
        }
        try twin.same(["-c", ".", "-e", "relayhost = [smtp.example.com]:587"])
        for dir in [twin.ours, twin.theirs] {
            #expect(!dir.exists("main.cf.tmp"))
            let mode = try FileManager.default.attributesOfItem(atPath: dir.file("main.cf"))[.posixPermissions] as? Int
            #expect(mode == 0o644)
        }
    }

    @Test("bad input as nobody: unreadable main.cf, unwritable directory",
          .enabled(if: BadInputTests.canSwitchUser, "needs root and setpriv"))
    func unreadable() throws {
        let twin = PostconfTwin(main: "a = 1\n", master: "")
        for dir in [twin.ours, twin.theirs] {
            try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: dir.file("main.cf"))
        }
        try twin.same(["-c", ".", "-n"], asNobody: true)
        try twin.same(["-c", ".", "-e", "a=2"], asNobody: true)
        for dir in [twin.ours, twin.theirs] {
            try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: dir.path)
        }
        try twin.same(["-c", ".", "-e", "a=2"], asNobody: true)
    }

    @Test("bytes that are not UTF-8 or not printable: kept in output and files, '?' in warnings",
          arguments: OracleRelease.available)
    func rawBytes(release: OracleRelease) throws {
        guard release.check() else { return }
        let twin = PostconfTwin(main: "", master: "", release: release)
        twin.write("main.cf", Array("a = x\nb = ".utf8) + [0xFF, 0xFE] + Array(" bytes\r\nc = $b\nd = caf".utf8) + [0xC3, 0xA9, 0x09]
                   + Array("x\n".utf8))
        twin.write("master.cf", Array("smtp unix - - - - - smtp -o a=".utf8) + [0xE9] + Array("\n".utf8))
        try twin.same(["-c", ".", "-n"])
        try twin.same(["-c", ".", "-nx"])
        try twin.same(["-c", ".", "-M"])
        try twin.same(["-c", ".", "-e", "e=1"])
    }

    /// Values built from pieces of the expression syntax, with a fixed seed: each is expanded by both.
    static let generatedValues: [String] = {
        let pieces = ["$a", "$b", "$c", "${a", "${b", "${c", "$(a", "${{", "{", "}", "?", "}:{", ":", "==", "!=", "<", "<=",
                      ">=", ">", "<level", ">=level", "==levelx", " ", "x", "1", "2", "$$", "(", ")", "${zz", "{$a}", "{1}",
                      "{ 2 }", "?{y}", "?{y}:{n}", ":n", "}}", "$", "${ a ? b : c }", "${ {a} == {a} }"]
        var state: UInt64 = 20_260_101
        func next(_ n: Int) -> Int {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int((state >> 33) % UInt64(n))
        }
        return (0..<60).map { _ in (0...next(8)).map { _ in pieces[next(pieces.count)] }.joined() }
    }()

    @Test("generated expressions expand as Postfix expands them", arguments: OracleRelease.available, generatedValues)
    func generatedExpressions(release: OracleRelease, _ value: String) throws {
        guard release.check() else { return }
        let twin = PostconfTwin(main: "a = 1\nb =\nc = 3.6\nv = \(value)\nw = $v\n", master: "", release: release)
        try twin.same(["-c", ".", "-x", "v"])
        try twin.same(["-c", ".", "-nx"])
    }

    @Test("a 1 MB line", arguments: OracleRelease.available)
    func longLine(release: OracleRelease) throws {
        guard release.check() else { return }
        let big = String(repeating: "x", count: 1 << 20)
        let twin = PostconfTwin(main: "a = \(big)\nrelayhost = $a\n", master: "smtp unix - - - - - smtp -o relayhost=\(big)\n",
                                release: release)
        try twin.same(["-c", ".", "-n"])
        try twin.same(["-c", ".", "-nx"])
        try twin.same(["-c", ".", "-M"])
        try twin.same(["-c", ".", "-e", "a=1"])
    }

    @Test("several new names: appended sorted by name (Postfix 3.7 appends them in random hash order)")
    func appendedNames() throws {
        let twin = PostconfTwin(main: "# only a comment\nrelayhost = x\n", master: "")
        let (a, b) = try twin.run(["-c", ".", "-e", "zzz = 1", "mmm=2", "relayhost = y", "aaa= 3"])
        #expect(a.status == 0 && b.status == 0)
        let ours = String(decoding: twin.ours.read("main.cf") ?? [], as: UTF8.self)
        let theirs = String(decoding: twin.theirs.read("main.cf") ?? [], as: UTF8.self)
        #expect(ours == "# only a comment\nrelayhost = y\naaa = 3\nmmm = 2\nzzz = 1\n")
        #expect(ours.split(separator: "\n").sorted() == theirs.split(separator: "\n").sorted())
        #expect(theirs.hasPrefix("# only a comment\nrelayhost = y\n"))
    }

    @Test("-T run-version and public-key-algorithms")
    func tls() throws {
        let twin = PostconfTwin(main: "", master: "")
        try twin.same(["-c", ".", "-T", "run-version"])
        try twin.same(["-c", ".", "-T", "public-key-algorithms"])
    }

    @Test("postconf -m lists the toolkit's table types, all of them known to Postfix")
    func mapTypes() throws {
        let twin = PostconfTwin(main: "", master: "")
        let (ours, theirs) = try twin.run(["-c", ".", "-m"])
        #expect(ours.status == 0 && theirs.status == 0)
        let mine = ours.out.split(separator: "\n").map(String.init)
        #expect(mine == mine.sorted())
        #expect(Set(mine).isSubset(of: Set(theirs.out.split(separator: "\n").map(String.init))))
        #expect(mine.contains("hash") && mine.contains("lmdb") && mine.contains("btree"))
    }
}

/// `postconf --check` on the deliberately broken configuration and on Debian's stock one.
@Suite struct PostconfCheckTests {
    static let brokenDir = Paths.root.appendingPathComponent("testdata/postconf/broken")

    /// A copy of testdata/postconf/broken with a stale aliases.db.
    static func brokenCopy() throws -> TempDir {
        let dir = TempDir("postconf-check")
        for name in try FileManager.default.contentsOfDirectory(atPath: brokenDir.path) {
            try FileManager.default.copyItem(atPath: brokenDir.appendingPathComponent(name).path, toPath: dir.file(name))
        }
        // The ldap client file must be readable by every user (git and umask decide otherwise).
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: dir.file("ldap-relay.cf"))
        dir.write("aliases.db", "")
        try FileManager.default.setAttributes([.modificationDate: Date(timeIntervalSince1970: 946_684_800)],
                                              ofItemAtPath: dir.file("aliases.db"))
        return dir
    }

    static let expected: [String] = [
        "main.cf:8: error: bad boolean configuration: biff = maybe",
        "main.cf:9: error: parameter smtpd_timeout: bad time value or unit: 300x",
        "main.cf:10: error: bad numerical configuration: default_process_limit = many",
        "main.cf:11: error: invalid line_length_limit parameter value 100 < 512",
        "main.cf:12: error: invalid maximal_queue_lifetime: 17280000 (max 8640000)",
        "main.cf:13: error: invalid qmgr_fudge_factor parameter value 5 < 10",
        "main.cf:15: error: configuration error: mailbox_size_limit is smaller than message_size_limit",
        "main.cf:16: error: Invalid TLS level \"mandatory\"",
        "main.cf:17: error: Invalid TLS protocol list \">=TLSv1.4\": disabling TLS support",
        "main.cf:18: error: unknown inet_protocols value \"ipv5\" in \"ipv5\"",
        "main.cf:19: error: unknown notify_classes value \"softwar\" in \"resource, softwar\"",
        "main.cf:20: error: bad mynetworks_style value: subnet host; specify exactly one value",
        "main.cf:21: error: malformed compatibility level syntax: \"3.x\"",
        "main.cf:21: warning: overriding earlier entry: compatibility_level=3.6",
        "main.cf:24: warning: unused parameter: mydomian=example.com (did you mean mydomain?)",
        "main.cf:25: warning: unused parameter: smtpd_relay_restriction=permit_mynetworks, reject (did you mean smtpd_relay_restrictions?)",
        "main.cf:28: warning: undefined parameter: mail_nmae",
        "main.cf:31: error: missing '=' after attribute name: \"this line has no equals sign\"",
        "main.cf:35: warning: overriding earlier entry: relayhost=[relay1.example.com]",
        "main.cf:38: warning: hash:DIR/aliases: hash tables are Berkeley DB files",
        "main.cf:38: warning: hash:DIR/aliases: database DIR/aliases.db is older than source file DIR/aliases",
        "main.cf:40: error: lmdb:DIR/transport: open database DIR/transport.lmdb: No such file or directory",
        "header_checks:2: error: Unmatched ( or \\(",
        "header_checks:3: error: unknown regexp option \"q\": skipping this rule",
        "header_checks:4: error: no closing regexp delimiter \"/\": skipping this rule",
        "header_checks:5: error: ignoring ENDIF without matching IF",
        "header_checks:6: error: IF has no matching ENDIF",
        "body_checks:2: error: error in regex at offset 0:",
        "clients.cidr:2: error: non-null host address bits in \"192.168.1.1/24\", perhaps you should use \"192.168.1.0/24\" instead: skipping this rule",
        "clients.cidr:3: error: bad mask length in \"10.0.0.0/33\": skipping this rule",
        "clients.cidr:4: error: bad address pattern: \"300.1.1.1\": skipping this rule",
        "main.cf:45: error: mysql:DIR/mysql-virtual.cf: open \"mysql\" configuration \"DIR/mysql-virtual.cf\": No such file or directory",
        "main.cf:46: error: unsupported dictionary type: nosuchtype",
        "master.cf:2: error: Invalid TLS level \"sometimes\"",
        "master.cf:2: warning: unused parameter: smtpd_client_restrictionz=permit_mynetworks,reject (did you mean smtpd_client_restrictions?)",
        "master.cf:2: error: in parameter smtpd_relay_restrictions or smtpd_recipient_restrictions, specify at least one working instance of",
        "recipients.pcre:1: error: error in regex at offset 7:",
        "master.cf:8: error: invalid chroot field \"maybe\" in",
        "master.cf:9: error: parameter smtp_helo_timeout: bad time value or unit: 5q",
        "ldap-relay.cf:3: warning: unused parameter: serach_base=dc=example,dc=com (did you mean search_base?)",
        "main.cf:54: error: ldap:ldapcanon: bad numerical configuration: ldapcanon_timeout = 30s",
        "ldap-relay.cf:4: error: invalid query template: query_filter = (mail=%x)",
        "ldap-relay.cf:5: warning: Unrecognized value subtree specified for scope; using sub",
        "ldap-relay.cf:6: error: bad boolean configuration: start_tls = sometimes",
        "ldap-relay.cf:7: error: unsupported parameter value: bind = kerberos",
        "ldap-relay.cf:8: warning: DIR/ldap-relay.cf holds bind_pw and every user can read it (mode 644)",
        "ldap-relay.cf:9: error: tls_ca_cert_file /nonexistent/ldap-ca.pem: No such file or directory",
        "transport:1: error: example.com smtp:[relay.example.com]: transport \"smtp\" is not defined in master.cf",
    ]

    @Test("every problem in testdata/postconf/broken is found", arguments: expected)
    func finds(_ line: String) throws {
        let dir = try Self.brokenCopy()
        let out = try run(Paths.ours("postconf"), ["--check", "-c", dir.path], in: dir.url)
        #expect(out.status == 1)
        let text = out.out.replacingOccurrences(of: dir.path, with: "DIR")
        #expect(text.contains("DIR/" + line), "missing: \(line)\n\(text)")
    }

    @Test("nothing is reported that the broken configuration does not contain")
    func noExtras() throws {
        let dir = try Self.brokenCopy()
        let out = try run(Paths.ours("postconf"), ["--check", "-c", dir.path], in: dir.url)
        let text = out.out.replacingOccurrences(of: dir.path, with: "DIR")
        let lines = text.split(separator: "\n").dropLast().map(String.init)
        for l in lines where !l.contains("cannot compute the default mynetworks") {
            #expect(Self.expected.contains { l.hasPrefix("DIR/" + $0) || l.contains($0) }, "unexpected: \(l)")
        }
        #expect(text.hasSuffix("postconf --check: DIR: 37 errors, 12 warnings\n"))
    }

    @Test("--json: one document with counts and findings")
    func json() throws {
        let dir = try Self.brokenCopy()
        let out = try run(Paths.ours("postconf"), ["--check", "--json", "-c", dir.path], in: dir.url)
        #expect(out.status == 1)
        let object = try JSONSerialization.jsonObject(with: Data(out.stdout)) as? [String: Any]
        let findings = object?["findings"] as? [[String: Any]] ?? []
        #expect(object?["errors"] as? Int == 37)
        #expect(object?["warnings"] as? Int == 12)
        #expect(findings.count == 49)
        let typo = findings.first { ($0["parameter"] as? String) == "mydomian" }
        #expect(typo?["suggestions"] as? [String] == ["mydomain"])
        #expect(typo?["line"] as? Int == 24)
        #expect(typo?["severity"] as? String == "warning")
    }

    @Test("Debian's stock configuration has no errors (its aliases table here in the directory): Debian 12's under 3.7, Debian 13's under 3.10",
          arguments: OracleRelease.allCases)
    func stock(release: OracleRelease) throws {
        let dir = TempDir("postconf-check-stock")
        let stock = Paths.root.appendingPathComponent(release == .v3_7 ? "testdata/postconf/debian" : "testdata/postconf/debian13")
        let main = try String(contentsOf: stock.appendingPathComponent("main.cf"), encoding: .utf8)
        dir.write("main.cf", main.replacingOccurrences(of: "/etc/aliases", with: dir.file("aliases")))
        try FileManager.default.copyItem(atPath: stock.appendingPathComponent("master.cf").path, toPath: dir.file("master.cf"))
        dir.write("aliases", "postmaster: root\n")
        dir.write("aliases.db", "")
        let out = try run(Paths.ours("postconf"), ["-c", dir.path, "--check"], in: dir.url, environment: release.environment)
        #expect(out.status == 0, "\(out)")
        #expect(out.out.hasSuffix(": 0 errors, 1 warning\n"), "\(out)")
        #expect(out.out.contains("hash tables are Berkeley DB files; Debian 12 and 13 support them"), "\(out)")
        #expect(!out.out.contains("drops"), "\(out)")
        let json = try run(Paths.ours("postconf"), ["--check", "--json", "-c", dir.path], in: dir.url, environment: release.environment)
        let object = try JSONSerialization.jsonObject(with: Data(json.stdout)) as? [String: Any]
        #expect(object?["errors"] as? Int == 0)
    }
}
