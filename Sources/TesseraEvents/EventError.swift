import TesseraSupport

/// An event that cannot be processed; the message names the field and the rule it breaks.
public enum EventError: LambdaReportableError, Equatable {
    /// Larger than any event that can reach the function; refused before it is parsed.
    case tooLarge(bytes: Int, limit: Int, rule: String)
    /// Not UTF-8 (RFC 8259 requires it); `offset` counts bytes from 0.
    case notUTF8(offset: Int, reason: String)
    case notJSON(String)
    /// A key that appears twice in one object (`path` as `a.b[2].c`): parsers disagree on which value
    /// wins (Foundation kept the first, JavaScript and Python keep the last), so neither is guessed.
    case duplicateKey(path: String)
    case notAnObject(actualType: String)
    case missingField(String)
    case invalidField(String, problem: String)

    public var errorType: String { "Tessera.InvalidEvent" }

    public var description: String {
        switch self {
        case let .tooLarge(bytes, limit, rule): "event is \(bytes) bytes, over the \(limit)-byte limit (\(rule))"
        case let .notUTF8(offset, reason): "event is not valid UTF-8 at byte \(offset): \(reason)"
        case let .notJSON(reason): "event is not valid JSON: \(reason)"
        case let .duplicateKey(path):
            "field `\(path)` appears more than once; events with duplicate keys are refused"
        case let .notAnObject(type): "event must be a JSON object, got \(type)"
        case let .missingField(field): "field `\(field)` is missing"
        case let .invalidField(field, problem): "field `\(field)` \(problem)"
        }
    }
}
