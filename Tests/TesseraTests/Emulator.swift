import Foundation
import TesseraAWS
import TesseraSupport

/// The AWS emulator that scripts/test starts (moto's server with signature checking on).
enum Emulator {
    /// `.local/test.env` as `scripts/emulator start test` wrote it, or `TESSERA_EMULATOR_ENV`.
    static let variables: [String: String] = read(variable: "TESSERA_EMULATOR_ENV", default: ".local/test.env")

    /// The second emulator, without signature checking (`scripts/emulator start test-open --open`).
    static let openVariables: [String: String] = read(variable: "TESSERA_OPEN_EMULATOR_ENV",
                                                      default: ".local/test-open.env")

    static func read(variable: String, default relative: String) -> [String: String] {
        let root = Fixtures.directory.deletingLastPathComponent().deletingLastPathComponent()
        let path = ProcessInfo.processInfo.environment[variable] ?? root.appendingPathComponent(relative).path
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return [:] }
        var values: [String: String] = [:]
        for line in text.split(separator: "\n") where line.hasPrefix("export ") {
            let pair = line.dropFirst("export ".count)
            guard let eq = pair.firstIndex(of: "=") else { continue }
            values[String(pair[..<eq])] = String(pair[pair.index(after: eq)...])
        }
        return values
    }

    /// The emulator's configuration; fails with how to start it when it is not running.
    static func config() throws -> AWSConfig {
        guard variables["AWS_ENDPOINT_URL"] != nil else { throw EmulatorMissing() }
        return try AWSConfig.fromEnvironment(Environment(variables))
    }

    static func client(retry: RetryPolicy = RetryPolicy(baseDelay: 0.05)) throws -> AWSClient {
        AWSClient(config: try config(), retryPolicy: retry)
    }

    /// A client of the emulator that does not check signatures.
    static func openClient() throws -> AWSClient {
        guard openVariables["AWS_ENDPOINT_URL"] != nil else { throw EmulatorMissing() }
        return AWSClient(config: try AWSConfig.fromEnvironment(Environment(openVariables)),
                         retryPolicy: RetryPolicy(baseDelay: 0.05))
    }

    /// A name no other test run uses.
    static func uniqueName(_ prefix: String) -> String {
        "\(prefix)-\(UUID().uuidString.prefix(8).lowercased())"
    }

    struct EmulatorMissing: Error, CustomStringConvertible {
        var description: String {
            "no AWS emulator: run the tests with scripts/test, or start one with `scripts/emulator start test`"
        }
    }
}
