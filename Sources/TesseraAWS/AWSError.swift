import TesseraHTTP
import TesseraSupport

/// A failed AWS call: the service's own error, or no usable answer at all.
public enum AWSError: LambdaReportableError, Equatable {
    /// The service answered with an error.
    case service(ServiceError)
    /// No response arrived (after the retries the policy allows).
    case transport(service: AWSService, operation: String, HTTPError)
    /// A 2xx response whose body could not be understood.
    case invalidResponse(service: AWSService, operation: String, reason: String)
    /// The response body was larger than the caller allowed; reading stopped at the limit.
    case responseTooLarge(service: AWSService, operation: String, limit: Int)
    /// The request could not be made as asked (a value the service cannot carry).
    case invalidRequest(service: AWSService, operation: String, reason: String)
    /// The invocation's deadline left no time for (another) attempt; `lastError` is the last failure.
    indirect case deadlineExceeded(service: AWSService, operation: String, attempts: Int, lastError: AWSError?)

    public var errorType: String {
        switch self {
        case let .service(error): "AWS.\(error.code)"
        case .transport: "AWS.TransportError"
        case .invalidResponse: "AWS.InvalidResponse"
        case .deadlineExceeded: "AWS.DeadlineExceeded"
        case .responseTooLarge: "AWS.ResponseTooLarge"
        case .invalidRequest: "AWS.InvalidRequest"
        }
    }

    public var description: String {
        switch self {
        case let .service(error): error.description
        case let .transport(service, operation, error): "\(service.rawValue) \(operation): \(error)"
        case let .invalidResponse(service, operation, reason):
            "\(service.rawValue) \(operation): unreadable response: \(reason)"
        case let .responseTooLarge(service, operation, limit):
            "\(service.rawValue) \(operation): the response is larger than the \(limit) bytes allowed"
        case let .invalidRequest(service, operation, reason): "\(service.rawValue) \(operation): \(reason)"
        case let .deadlineExceeded(service, operation, attempts, lastError):
            "\(service.rawValue) \(operation) gave up before the invocation's deadline after \(attempts) attempt(s)"
                + (lastError.map { "; last error: \($0)" } ?? ": no time left for an attempt")
        }
    }

    /// The AWS error code, when the service sent one.
    public var code: String? {
        if case let .service(error) = self { return error.code }
        return nil
    }
}

/// An error document from an AWS service (JSON or XML), with what identifies the request.
public struct ServiceError: Sendable, Equatable, CustomStringConvertible {
    public let service: AWSService
    public let operation: String
    public let status: Int
    /// `ConditionalCheckFailedException`, `SignatureDoesNotMatch`, ...
    public let code: String
    public let message: String
    public let requestId: String?

    public var description: String {
        "\(service.rawValue) \(operation) failed with HTTP \(status) \(code): \(message)"
            + (requestId.map { " (request id \($0))" } ?? "")
    }

    /// Reads an error response. JSON services put the code in `__type`; XML ones in `<Code>`; some
    /// services (and the emulator's auth layer) answer XML even for JSON APIs, so both are tried.
    public static func decode(_ response: HTTPResponse, service: AWSService, operation: String) -> ServiceError {
        let text = response.text
        var code: String?
        var message: String?
        var requestId = response.headers["x-amzn-RequestId"] ?? response.headers["x-amz-request-id"]
        if text.first == "{" {
            code = jsonStringField(text, "__type").map { String($0.split(separator: "#").last ?? Substring($0)) }
            message = jsonStringField(text, "message") ?? jsonStringField(text, "Message")
        } else if text.contains("<") {
            code = xmlElement(text, "Code")
            message = xmlElement(text, "Message")
            requestId = requestId ?? xmlElement(text, "RequestId")
        }
        if code == nil, let queryError = response.headers["x-amzn-query-error"] {
            code = String(queryError.prefix { $0 != ";" })
        }
        return ServiceError(service: service, operation: operation, status: response.status,
                            code: code ?? "HTTP\(response.status)",
                            message: message ?? (text.isEmpty ? "no error document" : String(text.prefix(300))),
                            requestId: requestId)
    }
}

/// The string value of a top-level-ish JSON field, without decoding the whole document.
func jsonStringField(_ json: String, _ name: String) -> String? {
    guard let keyRange = json.rangeOfFirst("\"\(name)\"") else { return nil }
    var rest = json[keyRange.upperBound...].drop { $0 == " " || $0 == "\n" || $0 == "\t" }
    guard rest.first == ":" else { return nil }
    rest = rest.dropFirst().drop { $0 == " " || $0 == "\n" || $0 == "\t" }
    guard rest.first == "\"" else { return nil }
    var out = ""
    var escaped = false
    for ch in rest.dropFirst() {
        if escaped {
            out.append(ch == "n" ? "\n" : ch == "t" ? "\t" : ch)
            escaped = false
        } else if ch == "\\" {
            escaped = true
        } else if ch == "\"" {
            return out
        } else {
            out.append(ch)
        }
    }
    return nil
}

/// The text of the first `<name>` element, with the five XML entities decoded.
func xmlElement(_ xml: String, _ name: String) -> String? {
    guard let open = xml.rangeOfFirst("<\(name)>"),
          let close = xml[open.upperBound...].rangeOfFirst("</\(name)>") else { return nil }
    return xmlUnescape(String(xml[open.upperBound..<close.lowerBound]))
}

func xmlUnescape(_ text: String) -> String {
    guard text.contains("&") else { return text }
    var out = text
    for (entity, value) in [("&lt;", "<"), ("&gt;", ">"), ("&quot;", "\""), ("&apos;", "'"), ("&#39;", "'"), ("&amp;", "&")] {
        out = out.replacingAll(entity, with: value)
    }
    return out
}
