import TesseraHTTP
import TesseraSupport

/// One AWS operation to send: where, what, and how to sign it.
public struct AWSRequest: Sendable {
    public var service: AWSService
    /// The API's name for the call, for errors and logs (`PutItem`, `SendMessage`, ...).
    public var operation: String
    public var method: String
    /// Wire path below the endpoint, percent-encoded, starting with `/`.
    public var path: String
    public var query: [(name: String, value: String)]
    public var headers: HTTPHeaders
    public var body: [UInt8]
    /// Put before the endpoint's host (`bucket.` for virtual-hosted S3).
    public var hostPrefix: String
    /// The body's SHA-256 when the caller has it already (S3 uploads send it as their checksum too).
    public var bodySHA256: [UInt8]?
    /// The largest response body accepted (`AWSError.responseTooLarge` past it).
    public var maxResponseBytes: Int?

    public init(service: AWSService, operation: String, method: String = "POST", path: String = "/",
                query: [(name: String, value: String)] = [], headers: HTTPHeaders = HTTPHeaders(), body: [UInt8] = [],
                hostPrefix: String = "", bodySHA256: [UInt8]? = nil, maxResponseBytes: Int? = nil) {
        self.service = service
        self.operation = operation
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers
        self.body = body
        self.hostPrefix = hostPrefix
        self.bodySHA256 = bodySHA256
        self.maxResponseBytes = maxResponseBytes
    }
}

/// The one request path every service client shares: sign, send, retry, decode errors.
///
/// A value: `scoped(_:)` gives a copy bound to one invocation's deadline and trace id, sharing the
/// connection and the retry quota.
public struct AWSClient {
    public let config: AWSConfig
    public let retryPolicy: RetryPolicy
    /// The invocation these calls belong to; unbounded outside one.
    public private(set) var scope: CallScope
    private let transport: Transport

    public init(config: AWSConfig, retryPolicy: RetryPolicy = RetryPolicy(), http: HTTPClient = HTTPClient()) {
        self.config = config
        self.retryPolicy = retryPolicy
        scope = CallScope()
        transport = Transport(http: http)
    }

    /// The same client, its calls bound to `scope` (deadline and trace id of one invocation).
    public func scoped(_ scope: CallScope) -> AWSClient {
        var copy = self
        copy.scope = scope
        return copy
    }

    /// Sends the request, retrying as the policy and the deadline allow; returns a 2xx response or
    /// throws `AWSError`.
    public func send(_ request: AWSRequest) throws -> HTTPResponse {
        let endpoint = config.endpoint(for: request.service)
        let signer = SigV4Signer(credentials: config.credentials, region: config.region,
                                 service: request.service.signingName)
        let payload = request.bodySHA256.map { SigV4Signer.Payload.hash(hexString($0)) }
            ?? SigV4Signer.Payload.of(request.body)
        var attempt = 1
        var retryCost: Int?
        while true {
            // Each attempt gets at most the time left before the deadline less the margin.
            let budget = scope.attemptBudgetMilliseconds(default: transport.http.options.timeoutMs)
            guard budget > 0 else {
                throw AWSError.deadlineExceeded(service: request.service, operation: request.operation,
                                                attempts: attempt - 1, lastError: nil)
            }
            var signable = SignableRequest(method: request.method, scheme: endpoint.scheme,
                                           host: request.hostPrefix + endpoint.host,
                                           path: endpoint.basePath + request.path, query: request.query,
                                           headers: request.headers)
            signer.signHeaders(&signable, payload: payload, addContentSHA256Header: request.service == .s3)
            // The invocation's trace header, as the AWS SDKs forward it (unsigned); Lambda's loop
            // detection reads it too.
            if let trace = scope.traceId { signable.headers.set("X-Amzn-Trace-Id", trace) }
            let failure: AWSError
            do {
                let response = try transport.http.send(HTTPRequest(
                    method: request.method, url: signable.url, headers: signable.headers, body: request.body,
                    timeoutMs: budget, maxResponseBytes: request.maxResponseBytes))
                if (200..<300).contains(response.status) {
                    transport.quota.release(retryCost)
                    return response
                }
                failure = .service(ServiceError.decode(response, service: request.service, operation: request.operation))
            } catch let HTTPError.responseTooLarge(_, limit) {
                throw AWSError.responseTooLarge(service: request.service, operation: request.operation, limit: limit)
            } catch let error as HTTPError {
                failure = .transport(service: request.service, operation: request.operation, error)
            }
            guard attempt < retryPolicy.maxAttempts, retryPolicy.isRetryable(failure) else {
                throw scope.isExhausted ? AWSError.deadlineExceeded(
                    service: request.service, operation: request.operation, attempts: attempt, lastError: failure)
                    : failure
            }
            let delay = retryPolicy.delay(beforeRetry: attempt)
            // A retry that could not even start before the deadline is not made.
            guard scope.allows(waitingSeconds: delay) else {
                throw AWSError.deadlineExceeded(service: request.service, operation: request.operation,
                                                attempts: attempt, lastError: failure)
            }
            guard let cost = transport.quota.acquire(after: failure) else { throw failure }
            retryCost = cost
            sleepSeconds(delay)
            attempt += 1
        }
    }

    /// Waits `seconds` before another round of a multi-round operation (BatchWriteItem's
    /// UnprocessedItems); throws the deadline error instead when the wait would run past it.
    func waitBeforeRound(_ seconds: Double, service: AWSService, operation: String, round: Int) throws {
        guard scope.allows(waitingSeconds: seconds) else {
            throw AWSError.deadlineExceeded(service: service, operation: operation, attempts: round, lastError: nil)
        }
        sleepSeconds(seconds)
    }
}

/// What the copies of one client share: the connection and the retry quota.
private final class Transport {
    let http: HTTPClient
    let quota = RetryQuota()

    init(http: HTTPClient) { self.http = http }
}
