import Foundation
import Testing
import TestSupport

/// `postmap -F`: values that name files, stored base64-encoded, decoded by `-q` and `-s`; and the
/// table types whose values `-F` turns into file contents. Compared with Debian's postmap.
@Suite(.enabled(if: Oracle.enabled(Paths.oracleAvailable), "needs Debian's postfix package"))
struct FileValueTests {
    func twin() -> Twin {
        let twin = Twin(files: [
            "f1": Array("hello\n".utf8),
            "f2": Array("world".utf8),
            "bin": [0x00, 0xFF, 0x80, 0x0A, 0x41],
            "empty": [],
            "map": Array("a f1\nb f1,f2\nc missing\nd f1 f2\ne ,\nk: f2\nbin bin\nnone empty\nA f2\n".utf8),
            "bad": Array("x !!!!\ny QUJD\nz QQ==QUJD\nw QUJ\n".utf8),
            "rules": Array("/a/ f1\n/b/ missing\n/c/ $1\n/(d)/ f2\n/e/\n".utf8),
            "cidr": Array("1.2.3.4 f1\n1.2.3.5 missing\n1.2.3.6 f1,f2\n".utf8),
        ])
        return twin
    }

    static let indexedTypes = ["hash", "btree", "lmdb", "cdb"]

    @Test("build, query, stream and list with -F", arguments: indexedTypes)
    func indexed(type: String) throws {
        guard Oracle.postmap(for: type) else { return }
        let twin = twin()
        try twin.same("postmap", ["-F", "\(type):map"])
        // Postfix's cdb lookup crashes (SIGSEGV) when the first value it finds is empty: no empty value for cdb.
        let emptyValue = type == "cdb" ? [] : ["none"]
        for key in ["a", "b", "d", "bin", "A", "c", "zz"] + emptyValue {
            try twin.same("postmap", ["-F", "-q", key, "\(type):map"])
            try twin.same("postmap", ["-q", key, "\(type):map"])
        }
        try twin.same("postmap", ["-F", "-q", "-", "\(type):map"], stdin: Array(("a\nb\nzz\nbin\n" + (type == "cdb" ? "" : "none\n")).utf8))
        if type != "cdb" {
            try twin.same("postmap", ["-F", "-s", "\(type):map"], normalize: sortedLines)
            // -i with -F reads values from stdin the same way.
            try twin.same("postmap", ["-F", "-i", "\(type):map"], stdin: Array("n f2\nm nothere\n".utf8))
            try twin.same("postmap", ["-F", "-q", "n", "\(type):map"])
        }
        // Stored values that are not base64.
        try twin.same("postmap", ["\(type):bad"])
        for key in ["x", "y", "z", "w"] { try twin.same("postmap", ["-F", "-q", key, "\(type):bad"]) }
        try twin.same("postmap", ["-F", "-q", "-", "\(type):bad"], stdin: Array("y\nz\nx\n".utf8))
        if type != "cdb" { try twin.same("postmap", ["-F", "-s", "\(type):bad"], normalize: sortedLines) }
    }

    @Test("the name=filename forms: inline, static, randmap, texthash, regexp, pcre, cidr")
    func tableForms() throws {
        guard Oracle.postmap(for: "pcre") else { return }
        let twin = twin()
        for table in ["inline:{a=f1,{b=f1 f2}}", "inline:{a=missing}", "inline:{ }", "inline:{a}", "static:f1",
                      "static:missing", "static:{f1 f2}", "static:{ f1, f2 }", "randmap:{f1}", "randmap:{f1,missing}",
                      "texthash:map", "regexp:rules", "pcre:rules", "cidr:cidr"] {
            for key in ["a", "b", "d", "1.2.3.4", "1.2.3.6"] {
                try twin.same("postmap", ["-F", "-q", key, table])
            }
        }
        try twin.same("postmap", ["-F", "-s", "inline:{a=f1,{b=f1 f2}}"], normalize: sortedLines)
        try twin.same("postmap", ["-F", "-s", "texthash:map"], normalize: sortedLines)
    }

    /// Sequence order of hash tables and in-memory tables is not part of the comparison.
    func sortedLines(_ o: Outcome) -> Outcome {
        var copy = o
        let lines = o.stdout.split(separator: 0x0A, omittingEmptySubsequences: false).map { Array($0) }
        copy.stdout = Array(lines.sorted { $0.lexicographicallyPrecedes($1) }.joined(separator: [0x0A]))
        return copy
    }
}
