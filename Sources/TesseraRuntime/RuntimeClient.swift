import TesseraHTTP
import TesseraSupport

/// The Lambda Runtime API (`/2018-06-01/runtime/...`) over the project's HTTP client.
public final class RuntimeClient {
    /// One invocation handed out by `/invocation/next`: its context (from the headers) and its event.
    public struct Invocation: Sendable {
        public let context: LambdaContext
        public let event: [UInt8]
    }

    /// How the Runtime API answered a post.
    public enum PostOutcome: Sendable, Equatable {
        case accepted
        /// 413: the response is larger than Lambda allows.
        case tooLarge(String)
        /// 400/403/404 etc.: the post was refused, the runtime can go on.
        case rejected(status: Int, body: String)
    }

    public enum Failure: Error, CustomStringConvertible {
        /// 500 or an unreachable API: the execution environment is broken, the process must end.
        case runtimeAPIUnavailable(String)
        /// `/next` answered without a request id.
        case malformedInvocation(String)

        public var description: String {
            switch self {
            case let .runtimeAPIUnavailable(reason): "Runtime API unavailable: \(reason)"
            case let .malformedInvocation(reason): "malformed invocation from the Runtime API: \(reason)"
            }
        }
    }

    private let base: String
    private let nextURL: String
    private let http: HTTPClient

    /// `endpoint` is `AWS_LAMBDA_RUNTIME_API`, host and port.
    public init(endpoint: String) {
        base = "http://\(endpoint)/2018-06-01/runtime"
        nextURL = base + "/invocation/next"
        // Posts are to a local agent and should be quick; /next waits as long as it must.
        http = HTTPClient(options: .init(connectTimeoutMs: 5_000, timeoutMs: 30_000, usesProxyVariables: false))
    }

    /// The Runtime API connection's gate (socket descriptor, refuse-new-connections flag), for the
    /// SIGTERM handler.
    public var connectionGate: UnsafeMutablePointer<Int32> { http.connectionGate }

    /// Blocks until Lambda has an event for this environment; `onArrival` runs as soon as its answer
    /// starts arriving.
    public func next(onArrival: (@Sendable () -> Void)? = nil) throws -> Invocation {
        let response: HTTPResponse
        do {
            response = try http.send(HTTPRequest(method: "GET", url: nextURL, timeoutMs: 0,
                                                 headerSelection: Self.invocationHeaders, onResponseStart: onArrival))
        } catch {
            throw Failure.runtimeAPIUnavailable(String(describing: error))
        }
        guard response.status == 200 else {
            throw Failure.runtimeAPIUnavailable("GET /invocation/next answered \(response.status): \(response.text)")
        }
        let headers = response.selectedHeaders ?? SelectedHeaders(count: Self.invocationHeaders.count)
        guard let requestId = headers.string(Field.requestId), !requestId.isEmpty else {
            throw Failure.malformedInvocation("no Lambda-Runtime-Aws-Request-Id header")
        }
        let context = LambdaContext(
            requestId: requestId,
            // Absent, not a number, beyond Int or not positive: no deadline known (0).
            deadlineMilliseconds: max(0, headers.integer(Field.deadline) ?? 0),
            invokedFunctionARN: headers.string(Field.functionARN) ?? "",
            traceId: headers[Field.traceId].flatMap { $0.isEmpty ? nil : String(decoding: $0, as: UTF8.self) },
            clientContext: headers.string(Field.clientContext),
            cognitoIdentity: headers.string(Field.cognitoIdentity),
            logger: LambdaLogger(requestId: requestId))
        return Invocation(context: context, event: response.body)
    }

    /// The fields of `/next`'s answer the context is made of, picked out as bytes as they arrive.
    static let invocationHeaders = HeaderSelection([
        "Lambda-Runtime-Aws-Request-Id", "Lambda-Runtime-Deadline-Ms", "Lambda-Runtime-Invoked-Function-Arn",
        "Lambda-Runtime-Trace-Id", "Lambda-Runtime-Client-Context", "Lambda-Runtime-Cognito-Identity",
    ])

    /// Indexes into `invocationHeaders`.
    enum Field {
        static let requestId = 0, deadline = 1, functionARN = 2, traceId = 3, clientContext = 4, cognitoIdentity = 5
    }

    public func postResponse(requestId: String, body: [UInt8]) throws -> PostOutcome {
        try post("/invocation/\(PercentEncoding.encode(requestId))/response", body: body, headers: HTTPHeaders())
    }

    public func postError(requestId: String, type: String, message: String) throws -> PostOutcome {
        try post("/invocation/\(PercentEncoding.encode(requestId))/error", body: errorBody(type, message),
                 headers: errorHeaders(type))
    }

    public func postInitError(type: String, message: String) throws -> PostOutcome {
        try post("/init/error", body: errorBody(type, message), headers: errorHeaders(type))
    }

    /// The media type Lambda documents for error bodies, and the type header it shows.
    private func errorHeaders(_ type: String) -> HTTPHeaders {
        HTTPHeaders([("Lambda-Runtime-Function-Error-Type", type),
                     ("Content-Type", "application/vnd.aws.lambda.error+json")])
    }

    private func errorBody(_ type: String, _ message: String) -> [UInt8] {
        var body = Array(#"{"errorType":"#.utf8)
        body.reserveCapacity(type.utf8.count + message.utf8.count + 64)
        appendJSONQuoted(type, to: &body)
        body += #","errorMessage":"#.utf8
        appendJSONQuoted(message, to: &body)
        body += #","stackTrace":[]}"#.utf8
        return body
    }

    private func post(_ path: String, body: [UInt8], headers: HTTPHeaders) throws -> PostOutcome {
        let response: HTTPResponse
        do {
            response = try http.send(HTTPRequest(method: "POST", url: base + path, headers: headers, body: body))
        } catch {
            throw Failure.runtimeAPIUnavailable(String(describing: error))
        }
        switch response.status {
        case 200..<300: return .accepted
        case 413: return .tooLarge(response.text)
        case 500...: throw Failure.runtimeAPIUnavailable("POST \(path) answered \(response.status): \(response.text)")
        default: return .rejected(status: response.status, body: response.text)
        }
    }
}
