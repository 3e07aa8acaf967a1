import Foundation
import TesseraLocal

/// A function binary of this package, started as Lambda starts `bootstrap`.
enum FunctionProcess {
    /// Where `swift build` put the executables: next to the test runner, or `TESSERA_BIN_DIR`.
    static var binDirectory: URL {
        if let dir = ProcessInfo.processInfo.environment["TESSERA_BIN_DIR"] { return URL(fileURLWithPath: dir) }
        return URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
    }

    static func start(_ name: String, environment: [String: String]) throws -> ChildProcess {
        let binary = binDirectory.appendingPathComponent(name)
        guard FileManager.default.isExecutableFile(atPath: binary.path) else { throw Missing(path: binary.path) }
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("\(name)-\(UUID().uuidString).log")
        return try ChildProcess([binary.path], environment: environment, logPath: log.path)
    }

    struct Missing: Error, CustomStringConvertible {
        let path: String
        var description: String { "no executable at \(path): build it first (`swift build`, scripts/test does)" }
    }
}
