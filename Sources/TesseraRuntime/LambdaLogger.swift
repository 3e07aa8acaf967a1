import Glibc
import TesseraHTTP
import TesseraSupport

/// Log levels as Lambda names them (`AWS_LAMBDA_LOG_LEVEL`).
public enum LogLevel: Int, Sendable, Comparable, CaseIterable {
    case trace, debug, info, warn, error, fatal

    public init?(name: String) {
        guard let level = Self.allCases.first(where: { $0.name == name.uppercased() }) else { return nil }
        self = level
    }

    public var name: String {
        switch self {
        case .trace: "TRACE"
        case .debug: "DEBUG"
        case .info: "INFO"
        case .warn: "WARN"
        case .error: "ERROR"
        case .fatal: "FATAL"
        }
    }

    public static func < (a: LogLevel, b: LogLevel) -> Bool { a.rawValue < b.rawValue }
}

/// One line per entry on stderr: JSON (`timestamp`, `level`, `requestId`, `message`) or Text, as
/// `AWS_LAMBDA_LOG_FORMAT` says; entries below `AWS_LAMBDA_LOG_LEVEL` (default INFO) are dropped.
public struct LambdaLogger: Sendable {
    public enum Format: Sendable { case text, json }

    public var format: Format
    public var minimumLevel: LogLevel
    public var requestId: String?

    public init(format: Format = .text, minimumLevel: LogLevel = .info, requestId: String? = nil) {
        self.format = format
        self.minimumLevel = minimumLevel
        self.requestId = requestId
    }

    /// The logger Lambda's environment variables ask for; unknown values fall back to Text and INFO.
    public static func fromEnvironment() -> LambdaLogger {
        let format: Format = getenvString("AWS_LAMBDA_LOG_FORMAT")?.uppercased() == "JSON" ? .json : .text
        let level = getenvString("AWS_LAMBDA_LOG_LEVEL").flatMap(LogLevel.init(name:)) ?? .info
        return LambdaLogger(format: format, minimumLevel: level)
    }

    /// The same logger tagged with an invocation's request id.
    public func with(requestId: String?) -> LambdaLogger {
        var copy = self
        copy.requestId = requestId
        return copy
    }

    public func trace(_ message: @autoclosure () -> String) { log(.trace, message()) }
    public func debug(_ message: @autoclosure () -> String) { log(.debug, message()) }
    public func info(_ message: @autoclosure () -> String) { log(.info, message()) }
    public func warn(_ message: @autoclosure () -> String) { log(.warn, message()) }
    public func error(_ message: @autoclosure () -> String) { log(.error, message()) }
    public func fatal(_ message: @autoclosure () -> String) { log(.fatal, message()) }

    public func log(_ level: LogLevel, _ message: @autoclosure () -> String) {
        guard level >= minimumLevel else { return }
        let line = render(level, message(), timestamp: UTCTime(epochMilliseconds: UTCTime.nowMilliseconds()).iso8601)
        // One write(2) per entry so lines from concurrent writers never interleave.
        var bytes = Array(line.utf8)
        bytes.append(UInt8(ascii: "\n"))
        bytes.withUnsafeBytes { _ = write(2, $0.baseAddress, $0.count) }
    }

    func render(_ level: LogLevel, _ message: String, timestamp: String) -> String {
        switch format {
        case .json:
            var line = "{\"timestamp\":\"\(timestamp)\",\"level\":\"\(level.name)\""
            if let requestId { line += ",\"requestId\":\(jsonQuoted(requestId))" }
            return line + ",\"message\":\(jsonQuoted(message))}"
        case .text:
            // Text lines stay single lines too, so one entry is one CloudWatch event.
            let flat = message.contains("\n") ? message.split(separator: "\n").joined(separator: "\\n") : message
            return "\(timestamp)\t\(requestId ?? "-")\t\(level.name)\t\(flat)"
        }
    }
}
