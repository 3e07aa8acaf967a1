import Glibc
import TesseraHTTP
import TesseraSupport

/// Log levels as Lambda names them (`AWS_LAMBDA_LOG_LEVEL`).
public enum LogLevel: Int, Sendable, Comparable, CaseIterable {
    case trace, debug, info, warn, error, fatal

    public init?(name: String) {
        let wanted = name.fastUppercased()
        guard let level = Self.allCases.first(where: { $0.name == wanted }) else { return nil }
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

/// One line per entry on stderr: JSON (`timestamp`, `level`, `requestId`, `picture`, `message`) or Text, as
/// `AWS_LAMBDA_LOG_FORMAT` says; entries below `AWS_LAMBDA_LOG_LEVEL` (default INFO) are dropped.
public struct LambdaLogger: Sendable {
    public enum Format: Sendable { case text, json }

    public var format: Format
    public var minimumLevel: LogLevel
    public var requestId: String?
    /// The picture (`collection/name`) the lines are about: a top-level `picture` key in JSON, so one
    /// CloudWatch Logs filter follows a picture through all three functions.
    public var picture: String?

    public init(format: Format = .text, minimumLevel: LogLevel = .info, requestId: String? = nil, picture: String? = nil) {
        self.format = format
        self.minimumLevel = minimumLevel
        self.requestId = requestId
        self.picture = picture
    }

    /// The logger Lambda's environment variables ask for; unknown values fall back to Text and INFO.
    public static func fromEnvironment() -> LambdaLogger {
        let format: Format = getenvString("AWS_LAMBDA_LOG_FORMAT")?.fastUppercased() == "JSON" ? .json : .text
        let level = getenvString("AWS_LAMBDA_LOG_LEVEL").flatMap(LogLevel.init(name:)) ?? .info
        return LambdaLogger(format: format, minimumLevel: level)
    }

    /// The same logger tagged with an invocation's request id.
    public func with(requestId: String?) -> LambdaLogger {
        var copy = self
        copy.requestId = requestId
        return copy
    }

    /// The same logger for lines about one picture (`collection/name`).
    public func with(picture: String?) -> LambdaLogger {
        var copy = self
        copy.picture = picture
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
        var bytes = renderBytes(level, message(), timestamp: UTCTime(epochMilliseconds: UTCTime.nowMilliseconds()).iso8601)
        // One write(2) per entry so lines from concurrent writers never interleave.
        bytes.append(UInt8(ascii: "\n"))
        bytes.withUnsafeBytes { _ = write(2, $0.baseAddress, $0.count) }
    }

    func render(_ level: LogLevel, _ message: String, timestamp: String) -> String {
        String(decoding: renderBytes(level, message, timestamp: timestamp), as: UTF8.self)
    }

    /// The entry's line without its newline, written straight as bytes (an error is logged on every
    /// failed invocation: no intermediate Strings).
    func renderBytes(_ level: LogLevel, _ message: String, timestamp: String) -> [UInt8] {
        var line = [UInt8]()
        line.reserveCapacity(message.utf8.count + timestamp.utf8.count + 96)
        switch format {
        case .json:
            line += #"{"timestamp":""#.utf8
            line += timestamp.utf8
            line += #"","level":""#.utf8
            line += level.name.utf8
            line.append(UInt8(ascii: "\""))
            if let requestId {
                line += #","requestId":"#.utf8
                appendJSONQuoted(requestId, to: &line)
            }
            if let picture {
                line += #","picture":"#.utf8
                appendJSONQuoted(picture, to: &line)
            }
            line += #","message":"#.utf8
            appendJSONQuoted(message, to: &line)
            line.append(UInt8(ascii: "}"))
        case .text:
            line += timestamp.utf8
            line.append(UInt8(ascii: "\t"))
            appendSingleLine(requestId ?? "-", to: &line)
            line.append(UInt8(ascii: "\t"))
            line += level.name.utf8
            line.append(UInt8(ascii: "\t"))
            appendSingleLine(message, to: &line)
        }
        return line
    }
}

/// Text entries stay single lines, so one entry is one CloudWatch event and a message quoting what a
/// stranger sent cannot start a line of its own: CR and LF bytes are written as `\r` and `\n`
/// (byte by byte: Swift counts "\r\n" as one Character, so a Character-wise split missed it).
private func appendSingleLine(_ text: String, to line: inout [UInt8]) {
    guard text.utf8.contains(where: { $0 == UInt8(ascii: "\n") || $0 == UInt8(ascii: "\r") }) else {
        line += text.utf8
        return
    }
    for byte in text.utf8 {
        switch byte {
        case UInt8(ascii: "\n"): line += [UInt8(ascii: "\\"), UInt8(ascii: "n")]
        case UInt8(ascii: "\r"): line += [UInt8(ascii: "\\"), UInt8(ascii: "r")]
        default: line.append(byte)
        }
    }
}
