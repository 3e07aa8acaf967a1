import Foundation

/// A function binary of this package run as Lambda runs `bootstrap`: a child process with an environment.
final class FunctionProcess: @unchecked Sendable {
    let process = Process()
    let logURL: URL

    /// Where `swift build` put the executables: next to the test runner, or `TESSERA_BIN_DIR`.
    static var binDirectory: URL {
        if let dir = ProcessInfo.processInfo.environment["TESSERA_BIN_DIR"] { return URL(fileURLWithPath: dir) }
        return URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
    }

    init(_ name: String, environment: [String: String]) throws {
        let binary = Self.binDirectory.appendingPathComponent(name)
        guard FileManager.default.isExecutableFile(atPath: binary.path) else {
            throw Missing(path: binary.path)
        }
        logURL = FileManager.default.temporaryDirectory.appendingPathComponent("\(name)-\(UUID().uuidString).log")
        _ = FileManager.default.createFile(atPath: logURL.path, contents: nil)
        let log = try FileHandle(forWritingTo: logURL)
        process.executableURL = binary
        process.environment = environment
        process.standardOutput = log
        process.standardError = log
        try process.run()
    }

    var isRunning: Bool { process.isRunning }

    /// Sends SIGTERM and waits; returns the exit status.
    func terminate() -> Int32 {
        if process.isRunning { process.terminate() }
        return waitForExit()
    }

    func waitForExit(timeout: TimeInterval = 10) -> Int32 {
        let limit = Date(timeIntervalSinceNow: timeout)
        while process.isRunning && Date() < limit { Thread.sleep(forTimeInterval: 0.01) }
        if process.isRunning { process.interrupt(); process.waitUntilExit() }
        return process.terminationStatus
    }

    var log: String { (try? String(contentsOf: logURL, encoding: .utf8)) ?? "" }

    struct Missing: Error, CustomStringConvertible {
        let path: String
        var description: String { "no executable at \(path): build it first (`swift build`, scripts/test does)" }
    }
}
