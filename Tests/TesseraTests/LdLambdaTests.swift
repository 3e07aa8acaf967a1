import Foundation
import Glibc
import Testing

/// scripts/ld-lambda, the linker the functions ship with: on a machine whose glibc is newer than
/// provided.al2023's 2.34 it binds what it can to 2.34, supplies what libstdc++ and the unwinder need
/// from 2.35 and 2.36, refuses the rest by name, and links libcurl without symbol versions. Small C
/// programs from Tests/Fixtures/elf, linked through it by clang and checked by scripts/elf-check.
@Suite(.serialized) struct LdLambdaTests {
    static let linker = ELFCheckTests.root.appendingPathComponent("scripts/ld-lambda").path

    /// Links Tests/Fixtures/elf/NAME.c through scripts/ld-lambda (or the default linker) into DIRECTORY.
    static func link(_ name: String, in directory: URL, libraries: [String] = [], lambda: Bool = true,
                     language: String = "c") throws -> (path: String, run: ELFCheckTests.Run) {
        let output = directory.appendingPathComponent(name + (lambda ? "-lambda" : "-plain")).path
        var command = [language == "c" ? "clang" : "clang++", "-O1", "-no-pie", "-o", output,
                       Fixtures.url("elf/\(name).\(language)").path]
        if lambda { command.append("--ld-path=\(linker)") }
        return (output, try ELFCheckTests.run(command + libraries, in: directory))
    }

    static var glibcIsNewerThan234: Bool {
        var text = [CChar](repeating: 0, count: 64)
        guard confstr(Int32(_CS_GNU_LIBC_VERSION), &text, text.count) > 0 else { return false }
        let version = String(cString: text).split(separator: " ").last?.split(separator: ".").compactMap { Int($0) } ?? []
        return version.count >= 2 && (version[0], version[1]) > (2, 34)
    }

    @Test(.enabled(if: glibcIsNewerThan234, "this machine's glibc is provided.al2023's or older: nothing to bind"))
    func aNewerDefaultVersionIsBoundToTheOldOne() throws {
        let dir = try ELFCheckTests.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let plain = try Self.link("hypotf", in: dir, libraries: ["-lm"], lambda: false)
        try #require(plain.run.status == 0, "\(plain.run)")
        let refused = try ELFCheckTests.elfCheck(["provided.al2023", plain.path], in: dir)
        #expect(refused.status == 1 && refused.output.contains("needs GLIBC_2.35 (hypotf) from libm.so.6"), "\(refused)")

        let lambda = try Self.link("hypotf", in: dir, libraries: ["-lm"])
        try #require(lambda.run.status == 0, "\(lambda.run)")
        let checked = try ELFCheckTests.elfCheck(["provided.al2023", lambda.path], in: dir)
        #expect(checked.status == 0, "\(checked)")
        let symbols = try ELFCheckTests.run(["objdump", "-T", lambda.path], in: dir)
        #expect(symbols.output.contains("(GLIBC_2.2.5) hypotf") || symbols.output.contains("(GLIBC_2.17) hypotf"), "\(symbols)")
        // It calls the old hypotf and gets the new one's answers.
        for arguments in [["3", "4"], ["5", "12"], ["1e30", "1e30"], ["3e38", "3e38"], ["1e-40", "1e-40"], ["nan", "inf"]] {
            let old = try ELFCheckTests.run([lambda.path] + arguments, in: dir), new = try ELFCheckTests.run([plain.path] + arguments, in: dir)
            #expect(old.status == 0 && old.output == new.output && !old.output.isEmpty, "hypotf\(arguments): \(old) against \(new)")
        }
        #expect(try ELFCheckTests.run([lambda.path, "5", "12"], in: dir).output == "13.0\n")
    }

    @Test(.enabled(if: glibcIsNewerThan234, "this machine's glibc is provided.al2023's or older: nothing to supply"))
    func arc4randomIsSuppliedAndTheProgramRuns() throws {
        let dir = try ELFCheckTests.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let lambda = try Self.link("glibc-2.36", in: dir)
        try #require(lambda.run.status == 0, "\(lambda.run)")
        let checked = try ELFCheckTests.elfCheck(["provided.al2023", lambda.path], in: dir)
        #expect(checked.status == 0, "\(checked)")
        let first = try ELFCheckTests.run([lambda.path], in: dir), second = try ELFCheckTests.run([lambda.path], in: dir)
        #expect(first.status == 0 && UInt32(first.output.trimmingCharacters(in: .whitespacesAndNewlines)) != nil, "\(first)")
        #expect(first.output != second.output, "two runs drew the same number: \(first.output)")
    }

    /// C++ exceptions unwind through libgcc_eh's _Unwind_Find_FDE, which calls _dl_find_object
    /// (glibc 2.35): the one ld-lambda supplies must find the frames, or the throw terminates.
    @Test(.enabled(if: glibcIsNewerThan234, "this machine's glibc is provided.al2023's or older: nothing to supply"))
    func exceptionsStillUnwind() throws {
        let dir = try ELFCheckTests.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let lambda = try Self.link("throws", in: dir, libraries: ["-lstdc++"], language: "cpp")
        try #require(lambda.run.status == 0, "\(lambda.run)")
        let checked = try ELFCheckTests.elfCheck(["provided.al2023", lambda.path], in: dir)
        #expect(checked.status == 0, "\(checked)")
        let needs = try ELFCheckTests.run(["readelf", "-d", lambda.path], in: dir)
        #expect(!needs.output.contains("libstdc++.so") && !needs.output.contains("libgcc_s.so"), "linked statically: \(needs)")
        let run = try ELFCheckTests.run([lambda.path], in: dir)
        #expect(run.status == 0 && run.output == "caught: from three frames down\n", "\(run)")
    }

    @Test(.enabled(if: glibcIsNewerThan234, "this machine's glibc is provided.al2023's or older"))
    func aFunctionOnlyANewerGlibcHasFailsTheLinkByName() throws {
        let dir = try ELFCheckTests.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let lambda = try Self.link("glibc-2.36-only", in: dir)
        #expect(lambda.run.status != 0, "\(lambda.run)")
        #expect(lambda.run.output.contains("pidfd_open (GLIBC_2.36, which libc.so.6 has at no version up to GLIBC_2.34)"),
                "\(lambda.run)")
        #expect(!FileManager.default.fileExists(atPath: lambda.path), "a refused link leaves no binary")
    }

    /// glibc versions a function anew when what it does changes: only functions known to behave the same
    /// at the older version are rebound. With the floor at Amazon Linux 2's 2.26, __libc_start_main@GLIBC_2.34
    /// has an older version, which would not run the program's constructors: refused, named.
    @Test(.enabled(if: glibcIsNewerThan234, "this machine's glibc is provided.al2023's or older"))
    func onlyFunctionsKnownToBehaveTheSameAreRebound() throws {
        let dir = try ELFCheckTests.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let output = dir.appendingPathComponent("floor-226").path
        let run = try ELFCheckTests.run(["/usr/bin/env", "TESSERA_GLIBC_FLOOR=2.26", "clang", "-O1", "-no-pie", "-o", output,
                                         Fixtures.url("elf/within-al2023.c").path, "--ld-path=\(Self.linker)"], in: dir)
        #expect(run.status != 0, "\(run)")
        #expect(run.output.contains("__libc_start_main (GLIBC_2.34 from libc.so.6: its GLIBC_2.2.5 version is not known to behave the same)")
                || run.output.contains("__libc_start_main (GLIBC_2.34 from libc.so.6: its GLIBC_2.17 version is not known to behave the same)"),
                "\(run)")
        #expect(!FileManager.default.fileExists(atPath: output), "a refused link leaves no binary")
    }

    @Test func libcurlIsLinkedWithoutSymbolVersions() throws {
        let dir = try ELFCheckTests.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let plain = try Self.link("uses-curl", in: dir, libraries: ["-lcurl"], lambda: false)
        try #require(plain.run.status == 0, "\(plain.run)")
        let plainCheck = try ELFCheckTests.elfCheck(["provided.al2023", plain.path], in: dir)
        // Debian's libcurl versions its symbols; where it does, the plain link is refused for AL2023.
        let versioned = try ELFCheckTests.run(["objdump", "-T", plain.path], in: dir).output.contains("CURL_")
        if versioned {
            #expect(plainCheck.status == 1 && plainCheck.output.contains("from libcurl.so.4, but provided.al2023's libcurl.so.4 has no symbol versions"),
                    "\(plainCheck)")
        }
        let lambda = try Self.link("uses-curl", in: dir, libraries: ["-lcurl"])
        try #require(lambda.run.status == 0, "\(lambda.run)")
        let checked = try ELFCheckTests.elfCheck(["provided.al2023", lambda.path], in: dir)
        #expect(checked.status == 0, "\(checked)")
        let symbols = try ELFCheckTests.run(["objdump", "-T", lambda.path], in: dir)
        #expect(!symbols.output.contains("CURL_"), "\(symbols)")
        #expect(symbols.output.contains("curl_version"), "\(symbols)")
        // At run time the real libcurl serves the unversioned reference.
        let run = try ELFCheckTests.run([lambda.path], in: dir)
        #expect(run.status == 0 && run.output.hasPrefix("libcurl/"), "\(run)")
    }
}
