import Foundation
import Testing
import TesseraLocal

/// scripts/elf-check, the packaging step's guard (DESIGN.md "Deploying"): small C programs from
/// Tests/Fixtures/elf compiled here with `cc`, and a real function binary of this build.
@Suite(.serialized) struct ELFCheckTests {
    static let root = Fixtures.directory.deletingLastPathComponent().deletingLastPathComponent()
    static let script = root.appendingPathComponent("scripts/elf-check").path
    /// This machine's architecture as Lambda names it, and the other one.
    #if arch(x86_64)
    static let arch = "x86_64", otherArch = "arm64", otherELF = "aarch64"
    #else
    static let arch = "arm64", otherArch = "x86_64", otherELF = "x86_64"
    #endif

    struct Run: CustomStringConvertible {
        let status: Int32
        let output: String
        var description: String { "exit \(status):\n\(output)" }
    }

    /// Runs `command` to its end; its stdout and stderr together.
    static func run(_ command: [String], in directory: URL) throws -> Run {
        let log = directory.appendingPathComponent("run-\(UUID().uuidString).log").path
        let child = try ChildProcess(command, environment: ProcessInfo.processInfo.environment, logPath: log)
        guard let exit = child.waitForExit(timeout: 120) else {
            child.terminate()
            throw Timeout(command: command)
        }
        return Run(status: exit.status, output: child.log)
    }

    struct Timeout: Error { let command: [String] }

    static func elfCheck(_ arguments: [String], in directory: URL) throws -> Run {
        try run([script] + arguments, in: directory)
    }

    /// Compiles Tests/Fixtures/elf/NAME.c into DIRECTORY/NAME.
    static func compile(_ name: String, in directory: URL, libraries: [String] = []) throws -> String {
        let output = directory.appendingPathComponent(name).path
        let source = Fixtures.url("elf/\(name).c").path
        let cc = try run(["cc", "-O1", "-o", output, source] + libraries, in: directory)
        try #require(cc.status == 0, "cc \(name).c: \(cc)")
        return output
    }

    static func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("elf-check-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    @Test func aPlainProgramFitsAL2023ButNotAL2() throws {
        let dir = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let binary = try Self.compile("within-al2023", in: dir)

        let al2023 = try Self.elfCheck(["provided.al2023", binary], in: dir)
        #expect(al2023.status == 0, "\(al2023)")
        #expect(al2023.output.contains("OK provided.al2023"), "\(al2023)")

        // Debian 12's glibc gives __libc_start_main the version GLIBC_2.34: newer than Amazon Linux 2's.
        let al2 = try Self.elfCheck(["provided.al2", binary], in: dir)
        #expect(al2.status == 1, "\(al2)")
        #expect(al2.output.contains("needs GLIBC_2.34 (__libc_start_main) from libc.so.6, provided.al2 has glibc 2.26"),
                "\(al2)")
        #expect(al2.output.contains("NOT DEPLOYABLE to provided.al2"), "\(al2)")
    }

    @Test func aGlibc236SymbolIsRefusedForAL2023ByName() throws {
        let dir = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let binary = try Self.compile("glibc-2.36", in: dir)
        let result = try Self.elfCheck(["provided.al2023", binary], in: dir)
        #expect(result.status == 1, "\(result)")
        #expect(result.output.contains("REFUSED bootstrap: needs GLIBC_2.36 (arc4random) from libc.so.6, "
                                       + "provided.al2023 has glibc 2.34"), "\(result)")
    }

    @Test func libturbojpegMustTravelInTheArtifactsLib() throws {
        let dir = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let binary = try Self.compile("uses-turbojpeg", in: dir, libraries: ["-lturbojpeg"])
        let artifact = dir.appendingPathComponent("artifact")
        let lib = artifact.appendingPathComponent("lib")
        try FileManager.default.createDirectory(at: lib, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: binary, toPath: artifact.appendingPathComponent("bootstrap").path)

        let without = try Self.elfCheck(["provided.al2023", artifact.path], in: dir)
        #expect(without.status == 1, "\(without)")
        #expect(without.output.contains("needs libturbojpeg.so.0, which provided.al2023 does not have and the "
                                        + "artifact's lib/ does not carry"), "\(without)")

        // The library this program was linked with, copied under its soname (symlinks resolved).
        let found = try Self.run(["cc", "-print-file-name=libturbojpeg.so"], in: dir)
        let library = URL(fileURLWithPath: found.output.trimmingCharacters(in: .whitespacesAndNewlines))
            .resolvingSymlinksInPath()
        try #require(FileManager.default.fileExists(atPath: library.path), "no libturbojpeg: \(found)")
        try FileManager.default.copyItem(at: library, to: lib.appendingPathComponent("libturbojpeg.so.0"))

        let with = try Self.elfCheck(["provided.al2023", artifact.path], in: dir)
        #expect(with.status == 0, "\(with)")
        #expect(with.output.contains("from lib/: libturbojpeg.so.0"), "\(with)")

        // The same artifact as a deployment zip (python3's zipfile keeps the modes, as zip does).
        let zip = dir.appendingPathComponent("function.zip").path
        let zipped = try Self.run(["/bin/sh", "-c", "cd '\(artifact.path)' && python3 -m zipfile -c '\(zip)' bootstrap lib"],
                                  in: dir)
        try #require(zipped.status == 0, "\(zipped)")
        let fromZip = try Self.elfCheck(["provided.al2023", zip], in: dir)
        #expect(fromZip.status == 0, "\(fromZip)")
        #expect(fromZip.output.contains("2 ELF files (bootstrap, libturbojpeg.so.0)"), "\(fromZip)")
    }

    @Test func theArchitectureMustMatch() throws {
        let dir = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let binary = try Self.compile("within-al2023", in: dir)
        let result = try Self.elfCheck(["provided.al2023", binary, "--arch", Self.otherArch], in: dir)
        #expect(result.status == 1, "\(result)")
        #expect(result.output.contains("the function's architecture is \(Self.otherELF)"), "\(result)")
        let same = try Self.elfCheck(["provided.al2023", binary, "--arch", Self.arch], in: dir)
        #expect(same.status == 0, "\(same)")
    }

    @Test func aBootstrapLambdaCannotExecuteIsRefused() throws {
        let dir = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let binary = try Self.compile("within-al2023", in: dir)
        let artifact = dir.appendingPathComponent("artifact")
        try FileManager.default.createDirectory(at: artifact, withIntermediateDirectories: true)
        let bootstrap = artifact.appendingPathComponent("bootstrap").path
        try FileManager.default.copyItem(atPath: binary, toPath: bootstrap)
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: bootstrap)
        let result = try Self.elfCheck(["provided.al2023", artifact.path], in: dir)
        #expect(result.status == 1, "\(result)")
        #expect(result.output.contains("bootstrap is not executable"), "\(result)")
    }

    /// A function binary of this build (linked against this machine's glibc) is not deployable to
    /// provided.al2, and elf-check says it is the glibc.
    @Test func theRealPictureAPIBinaryIsRefusedForAL2() throws {
        let dir = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let binary = FunctionProcess.binDirectory.appendingPathComponent("picture-api").path
        try #require(FileManager.default.isExecutableFile(atPath: binary), "build it first: \(binary)")
        let result = try Self.elfCheck(["provided.al2", binary], in: dir)
        #expect(result.status == 1, "\(result)")
        #expect(result.output.contains("provided.al2 has glibc 2.26"), "\(result)")
        #expect(result.output.contains("REFUSED bootstrap: needs GLIBC_2."), "\(result)")
        // Amazon Linux 2's Lambda environment has no libcurl: it has to travel in lib/.
        #expect(result.output.contains("needs libcurl.so.4, which provided.al2 does not have"), "\(result)")
    }
}
