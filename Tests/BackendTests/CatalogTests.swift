import CLibraryLoader
import Foundation
import MapBackends
import Maps
import PostfixText
import Testing

@Suite struct CatalogRegistryTests {
    @Test func everyImplementedRowHasAnOpenerAndEveryOpenerARow() {
        #expect(MapBackends.registry.mismatches(with: MapCatalog.entries).isEmpty,
                "\(MapBackends.registry.mismatches(with: MapCatalog.entries))")
        #expect(MapBackends.registry.typeNames == MapCatalog.implementedNames)
    }

    /// Every opener of a backend module has a `.backend` row naming that module, and every `.backend` row
    /// names a module whose openers include its type.
    @Test func backendRowsNameTheirModules() {
        for (module, types) in MapBackends.modules {
            for type in types {
                let row = MapCatalog.entry(named: type.name)
                #expect(row?.module == module, "\(type.name): opener in \(module), row says \(String(describing: row?.module))")
            }
        }
        for row in MapCatalog.entries {
            guard let module = row.module else { continue }
            let types = MapBackends.modules.first { $0.module == module }?.types ?? []
            #expect(types.contains { $0.name == row.name }, "\(row.name): row names \(module), which has no opener for it")
        }
    }

    /// The Debian package's Depends are derived from these rows: each library names its package in every
    /// release, and the package that ships the library here is one of them (when dpkg can say).
    @Test func everyLibraryComesFromTheDebianPackageItsRowNames() throws {
        let libraries = MapCatalog.libraries
        #expect(!libraries.isEmpty)
        for library in libraries {
            #expect(Set(library.shipped.map(\.release)) == Set(PostfixRelease.allCases), "\(library.soname): not every release")
            for soname in library.sonames {
                #expect(soname.hasPrefix("lib") && soname.contains(".so"), "\(soname)")
            }
            #expect(!library.debianPackages.contains(""), "\(library.soname) names no Debian package")
            #expect(library.dependsEntry == library.debianPackages.joined(separator: " | "))
            if library.loading == .linked {
                // One soname, in the executable's dynamic section, whatever the release.
                #expect(library.sonames.count == 1, "\(library.sonames): a linked library has one soname")
            }
            let flags = RTLD_NOW | RTLD_LOCAL
            if library.loading == .linked {
                // Linked by a backend module this test links: loaded before the test ran.
                #expect(dlopen(library.soname, flags | RTLD_NOLOAD) != nil,
                        "\(library.soname) is said to be linked, but the process has not loaded it")
            }
            // The first soname that loads here, as the loaders try them.
            var handle: UnsafeMutableRawPointer?
            var loaded = ""
            for soname in library.sonames where handle == nil {
                handle = dlopen(soname, flags)
                loaded = soname
            }
            guard let handle else {
                // A library loaded on first use may be missing where only the unit tests run (scripts/ensure-deps
                // test installs them all).
                if library.loading == .linked || ProcessInfo.processInfo.environment["REQUIRE_ORACLE"] == "1" {
                    Issue.record("dlopen \(library.sonames): \(String(cString: dlerror()))")
                }
                continue
            }
            dlclose(handle)
            guard FileManager.default.isExecutableFile(atPath: "/usr/bin/dpkg-query") else { continue }
            guard let path = libraryPath(loaded) else {
                Issue.record("ldconfig -p does not list \(loaded)")
                continue
            }
            let owner = debianOwner(of: path)
            let named = library.shipped.filter { $0.soname == loaded }.map(\.debianPackage)
            #expect(owner.map(named.contains) == true, "\(path) is in \(owner ?? "no package"), the catalog says \(named)")
        }
    }

    /// A library renamed between releases is tried under each soname; when none loads, the reason names
    /// every one (so a missing libldap says both `libldap-2.5.so.0` and `libldap.so.2`).
    @Test func aLibraryMissingUnderEverySonameNamesEach() {
        let names = ["libpostfix-maps-missing-a.so.1", "libpostfix-maps-missing-b.so.2"]
        let sonames: [UnsafePointer<CChar>?] = names.map { UnsafePointer(strdup($0)) } + [nil]
        let symbols: [UnsafePointer<CChar>?] = [UnsafePointer(strdup("missing_function")), nil]
        defer {
            for p in sonames + symbols { free(UnsafeMutablePointer(mutating: p)) }
        }
        var table: [UnsafeMutableRawPointer?] = [nil]
        var error = [CChar](repeating: 0, count: 512)
        let status = clib_open("missing", sonames, symbols, &table, &error, error.count)
        #expect(status == -1)
        let text = String(decoding: error.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        #expect(text.hasPrefix(names[0] + ": "), "\(text)")
        #expect(text.contains("; " + names[1] + ": "), "\(text)")
    }

    /// Debian 13 renamed libldap (OpenLDAP 2.6) and, for 64-bit time_t, Berkeley DB's package: the Depends
    /// give both releases' names, newest first.
    @Test func dependsNameBothReleases() {
        #expect(MapCatalog.SharedLibrary.ldap.dependsEntry == "libldap2 | libldap-2.5-0")
        #expect(MapCatalog.SharedLibrary.ldap.sonames == ["libldap.so.2", "libldap-2.5.so.0"])
        #expect(MapCatalog.SharedLibrary.berkeleyDB.dependsEntry == "libdb5.3t64 | libdb5.3")
        #expect(MapCatalog.SharedLibrary.lmdb.dependsEntry == "liblmdb0")
        #expect(MapCatalog.SharedLibrary.ldap.shipped(in: .v3_7)?.debianPackage == "libldap-2.5-0")
    }

    /// The code names the catalog's sonames: a system-library target links exactly the libraries of the
    /// `.linked` rows, and each library loaded on first use is named by its loader in Sources/ (a C
    /// loader's `#define ..._SONAME`, or nis's list of sonames).
    @Test func librariesAreTheOnesTheCodeLinksAndLoads() throws {
        let sources = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Sources")
        let files = FileManager.default.enumerator(atPath: sources.path)?.compactMap { $0 as? String } ?? []
        var linked: Set<String> = []
        var loadedText = ""
        for file in files {
            let text = (try? String(contentsOf: sources.appendingPathComponent(file), encoding: .utf8)) ?? ""
            if file.hasSuffix("module.modulemap") {
                for line in text.split(separator: "\n") where line.trimmingCharacters(in: .whitespaces).hasPrefix("link \"") {
                    linked.insert(String(line.split(separator: "\"")[1]))
                }
            } else if (file.hasSuffix(".c") || file.hasSuffix(".swift")) && !file.hasSuffix("MapCatalog.swift") {
                loadedText += text
            }
        }
        let catalogLinked = MapCatalog.libraries.filter { $0.loading == .linked }
        #expect(!linked.isEmpty)
        for name in linked {
            #expect(catalogLinked.contains { $0.soname.hasPrefix("lib\(name).so") },
                    "a system-library target links \(name), which no catalog row names")
        }
        for library in catalogLinked {
            #expect(linked.contains { library.soname.hasPrefix("lib\($0).so") }, "\(library.soname): no target links it")
        }
        for library in MapCatalog.libraries where library.loading == .onFirstUse {
            for soname in library.sonames {
                let named = loadedText.contains("\"\(soname)\"")
                #expect(named, "\(soname): no loader in Sources/ names it")
            }
        }
    }

    /// Each row's Debian package of Postfix: Debian's `postconf -m` lists exactly the rows that have one
    /// (those whose package is installed), and a dynamically loaded type's plugin belongs to that package.
    @Test func postfixPackagesAreDebians() throws {
        let postconf = "/usr/sbin/postconf"
        guard FileManager.default.isExecutableFile(atPath: postconf),
              FileManager.default.isExecutableFile(atPath: "/usr/bin/dpkg-query") else {
            #expect(ProcessInfo.processInfo.environment["REQUIRE_ORACLE"] != "1", "Debian's postconf is not installed")
            return
        }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("catalog-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        FileManager.default.createFile(atPath: dir + "/main.cf", contents: Data())
        let listed = Set(run(postconf, ["-c", dir, "-m"]).split(separator: "\n").map(String.init))
        #expect(listed.contains("hash"), "postconf -m: \(listed)")
        let shlib = run(postconf, ["-c", dir, "-dh", "shlib_directory"]).trimmingCharacters(in: .whitespacesAndNewlines)
        var plugins: [String: String] = [:]
        let dynamic = (try? String(contentsOfFile: "/usr/share/postfix/dynamicmaps.cf", encoding: .utf8)) ?? ""
        for line in dynamic.split(separator: "\n") where !line.hasPrefix("#") {
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            if fields.count >= 2 { plugins[String(fields[0])] = String(fields[1]) }
        }
        for name in listed {
            #expect(MapCatalog.entry(named: name)?.postfixPackage != nil, "postconf -m lists \(name), whose row names no package")
        }
        for row in MapCatalog.entries {
            guard let package = row.postfixPackage else {
                #expect(!listed.contains(row.name), "\(row.name): Debian's Postfix has it, the row names no package")
                continue
            }
            guard isInstalled(package) else { continue }
            #expect(listed.contains(row.name), "\(package) is installed, but postconf -m does not list \(row.name)")
            if let plugin = plugins[row.name] {
                let owner = debianOwner(of: plugin.hasPrefix("/") ? plugin : shlib + "/" + plugin)
                #expect(owner == package, "\(row.name): its plugin \(plugin) is in \(owner ?? "no package"), the row says \(package)")
            } else {
                #expect(package == "postfix", "\(row.name) is built into Debian's postfix, the row says \(package)")
            }
        }
    }
}

/// The file the dynamic loader finds for `soname` (`ldconfig -p`), or nil.
private func libraryPath(_ soname: String) -> String? {
    let ldconfig = ["/usr/sbin/ldconfig", "/sbin/ldconfig"].first { FileManager.default.isExecutableFile(atPath: $0) }
    guard let ldconfig else { return nil }
    // "\tlibdb-5.3.so (libc6,x86-64) => /lib/x86_64-linux-gnu/libdb-5.3.so"
    for line in run(ldconfig, ["-p"]).split(separator: "\n") {
        let parts = line.trimmingCharacters(in: .whitespaces).components(separatedBy: " => ")
        if parts.count == 2, parts[0].split(separator: " ").first.map(String.init) == soname { return parts[1] }
    }
    return nil
}

/// The Debian package that owns `path` (tried as is and with the symbolic links resolved, since merged
/// /usr has /lib point into /usr/lib), or nil.
private func debianOwner(of path: String) -> String? {
    let resolved = URL(fileURLWithPath: path).resolvingSymlinksInPath().path
    var candidates = [path, resolved]
    for p in [path, resolved] {
        if p.hasPrefix("/usr/lib/") { candidates.append(String(p.dropFirst(4))) }
        if p.hasPrefix("/lib/") { candidates.append("/usr" + p) }
    }
    for candidate in candidates {
        let out = run("/usr/bin/dpkg-query", ["-S", candidate])
        if let line = out.split(separator: "\n").first, let colon = line.range(of: ": ") {
            // "libdb5.3:amd64: /usr/lib/x86_64-linux-gnu/libdb-5.3.so"
            return String(line[..<colon.lowerBound]).split(separator: ":").first.map(String.init)
        }
    }
    return nil
}

private func isInstalled(_ package: String) -> Bool {
    run("/usr/bin/dpkg-query", ["-W", "-f=${Status}", package]).hasSuffix("install ok installed")
}

/// Standard output of `program arguments` ("" when it cannot run).
private func run(_ program: String, _ arguments: [String]) -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: program)
    process.arguments = arguments
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = FileHandle.nullDevice
    do { try process.run() } catch { return "" }
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return String(decoding: data, as: UTF8.self)
}
