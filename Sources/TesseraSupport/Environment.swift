import Glibc

/// Environment variables, read once into a dictionary so configuration parsing is testable.
public struct Environment: Sendable {
    public let values: [String: String]

    public init(_ values: [String: String]) { self.values = values }

    /// The process environment.
    public static func process() -> Environment {
        var values: [String: String] = [:]
        var cursor = environ
        while let entry = cursor.pointee {
            let pair = String(cString: entry)
            // The first "=" byte ends the name (a value may begin with a combining mark, which a
            // Character-wise search would take together with the "=").
            if let eq = pair.utf8.firstIndex(of: UInt8(ascii: "=")) {
                values[String(pair[..<eq])] = String(pair[pair.utf8.index(after: eq)...])
            }
            cursor += 1
        }
        return Environment(values)
    }

    /// The value, or nil when unset or empty.
    public subscript(name: String) -> String? {
        guard let value = values[name], !value.isEmpty else { return nil }
        return value
    }

    /// A variable that must be set.
    public func required(_ name: String) throws -> String {
        guard let value = self[name] else { throw ConfigurationError(variable: name, problem: "is not set") }
        return value
    }

    /// An integer variable within `range`, or `defaultValue` when unset.
    public func integer(_ name: String, default defaultValue: Int, range: ClosedRange<Int>) throws -> Int {
        guard let text = self[name] else { return defaultValue }
        guard let value = Int(text.trimmingHTTPWhitespace()) else {
            throw ConfigurationError(variable: name, problem: "must be a whole number, got \"\(text)\"")
        }
        guard range.contains(value) else {
            throw ConfigurationError(variable: name,
                                     problem: "must be between \(range.lowerBound) and \(range.upperBound), got \(value)")
        }
        return value
    }
}

/// A missing or malformed environment variable; reported to `/runtime/init/error`.
public struct ConfigurationError: LambdaReportableError, Equatable {
    public let variable: String
    public let problem: String

    public init(variable: String, problem: String) {
        self.variable = variable
        self.problem = problem
    }

    public var errorType: String { "Runtime.ConfigurationError" }
    public var description: String { "environment variable \(variable) \(problem)" }
}

/// The environment variable's value, or nil when unset or empty.
public func getenvString(_ name: String) -> String? {
    guard let raw = getenv(name) else { return nil }
    let value = String(cString: raw)
    return value.isEmpty ? nil : value
}
