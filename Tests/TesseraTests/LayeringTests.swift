import Foundation
import Testing
import TesseraLocal

/// Each function links only the layers it uses: what the dynamic linker would load, read with ldd.
struct LayeringTests {
    func neededLibraries(_ executable: String) throws -> [String] {
        let binary = FunctionProcess.binDirectory.appendingPathComponent(executable).path
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("ldd-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: log) }
        let ldd = try ChildProcess(["ldd", binary], environment: ["PATH": "/usr/bin:/bin"], logPath: log)
        #expect(ldd.waitForExit(timeout: 30)?.status == 0)
        return ldd.log.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
    }

    @Test(arguments: ["piece-storage", "picture-api"])
    func functionsWithoutPixelsDoNotLinkTurboJPEG(_ function: String) throws {
        let libraries = try neededLibraries(function)
        #expect(libraries.contains { $0.hasPrefix("libcurl") }, "ldd printed \(libraries)")
        #expect(!libraries.contains { $0.contains("turbojpeg") }, "\(function) links \(libraries)")
    }

    /// The functions' layers carry their own JSON and base64 (Foundation costs a cold start time and
    /// memory), and import neither _Concurrency nor _StringProcessing (the regex engine).
    @Test(arguments: ["piece-storage", "picture-processor", "picture-api"])
    func functionsLinkNoFoundation(_ function: String) throws {
        let libraries = try neededLibraries(function)
        #expect(libraries.contains { $0.hasPrefix("libswiftCore") }, "ldd printed \(libraries)")
        #expect(!libraries.contains { $0.contains("Foundation") || $0.contains("ICU") }, "\(function) links \(libraries)")
        for library in ["_Concurrency", "_StringProcessing", "_RegexParser", "dispatch"] {
            #expect(!libraries.contains { $0.contains(library) }, "\(function) links \(libraries)")
        }
    }

    @Test func theNoOpFunctionLinksNoConcurrencyOrRegexRuntime() throws {
        let libraries = try neededLibraries("noop-function")
        #expect(libraries.contains { $0.hasPrefix("libswiftCore") }, "ldd printed \(libraries)")
        for library in ["Foundation", "_Concurrency", "_StringProcessing", "_RegexParser", "dispatch"] {
            #expect(!libraries.contains { $0.contains(library) }, "noop-function links \(libraries)")
        }
    }

    @Test func theCLIDoesLinkTurboJPEG() throws {
        // The check above would pass for a binary ldd cannot read: make sure it sees turbojpeg where it is.
        #expect(try neededLibraries("tessera").contains { $0.contains("libturbojpeg") })
    }
}
