import Glibc
import TesseraEvents
import TesseraSupport

/// A picture's journey through the local stack: the functions' JSON log lines that carry its `picture`
/// (`collection/name`), from `<state>/logs/<function>.log`, in time order.
public enum PictureJourney {
    public struct Step: Equatable, Sendable {
        public let timestamp: String
        public let function: String
        public let level: String
        public let message: String
    }

    /// The function log files of a state folder's `logs/` (the emulator's and mosquitto's are not functions').
    public static func logFiles(in directory: String) -> [(function: String, path: String)] {
        guard let dir = opendir(directory) else { return [] }
        defer { closedir(dir) }
        var files: [(String, String)] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            guard name.hasSuffix(".log"), !name.hasSuffix(".unzip.log"), name != "emulator.log", name != "mosquitto.log" else { continue }
            files.append((String(name.dropLast(4)), "\(directory)/\(name)"))
        }
        return files.sorted { $0.0 < $1.0 }
    }

    /// The picture's log lines (metrics lines left out), ordered by timestamp, then by function.
    public static func steps(of picture: String, logDirectory: String) -> [Step] {
        var steps: [Step] = []
        for (function, path) in logFiles(in: logDirectory) {
            guard let bytes = readFile(path) else { continue }
            for line in bytes.split(separator: UInt8(ascii: "\n")) where line.first == UInt8(ascii: "{") {
                guard case let .object(fields)? = try? JSONValue.parse(Array(line)), fields["_aws"] == nil,
                      fields["picture"] == .string(picture), case let .string(message)? = fields["message"] else { continue }
                func text(_ key: String) -> String {
                    if case let .string(value)? = fields[key] { return value }
                    return ""
                }
                steps.append(Step(timestamp: text("timestamp"), function: function, level: text("level"), message: message))
            }
        }
        // ISO 8601 in UTC with milliseconds: text order is time order. Stable for lines of the same millisecond.
        return steps.enumerated().sorted { ($0.element.timestamp, $0.offset) < ($1.element.timestamp, $1.offset) }.map(\.element)
    }
}
