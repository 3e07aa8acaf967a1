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

    public init(service: AWSService, operation: String, method: String = "POST", path: String = "/",
                query: [(name: String, value: String)] = [], headers: HTTPHeaders = HTTPHeaders(), body: [UInt8] = []) {
        self.service = service
        self.operation = operation
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers
        self.body = body
    }
}

/// The one request path every service client shares: sign, send, retry, decode errors.
public final class AWSClient {
    public let config: AWSConfig
    public let retryPolicy: RetryPolicy
    private let http: HTTPClient
    private let quota = RetryQuota()

    public init(config: AWSConfig, retryPolicy: RetryPolicy = RetryPolicy(), http: HTTPClient = HTTPClient()) {
        self.config = config
        self.retryPolicy = retryPolicy
        self.http = http
    }

    /// Sends the request, retrying as the policy allows; returns a 2xx response or throws `AWSError`.
    public func send(_ request: AWSRequest) throws -> HTTPResponse {
        let endpoint = config.endpoint(for: request.service)
        let signer = SigV4Signer(credentials: config.credentials, region: config.region,
                                 service: request.service.signingName)
        let payload = SigV4Signer.Payload.of(request.body)
        var attempt = 1
        var retryCost: Int?
        while true {
            var signable = SignableRequest(method: request.method, scheme: endpoint.scheme, host: endpoint.host,
                                           path: endpoint.basePath + request.path, query: request.query,
                                           headers: request.headers)
            signer.signHeaders(&signable, payload: payload, addContentSHA256Header: request.service == .s3)
            // The invocation's trace header, as the AWS SDKs forward it (unsigned); Lambda's loop
            // detection reads it too.
            if let trace = getenvString("_X_AMZN_TRACE_ID") { signable.headers.set("X-Amzn-Trace-Id", trace) }
            let failure: AWSError
            do {
                let response = try http.send(HTTPRequest(method: request.method, url: signable.url,
                                                         headers: signable.headers, body: request.body))
                if (200..<300).contains(response.status) {
                    quota.release(retryCost)
                    return response
                }
                failure = .service(ServiceError.decode(response, service: request.service, operation: request.operation))
            } catch let error as HTTPError {
                failure = .transport(service: request.service, operation: request.operation, error)
            }
            guard attempt < retryPolicy.maxAttempts, retryPolicy.isRetryable(failure),
                  let cost = quota.acquire(after: failure) else { throw failure }
            retryCost = cost
            sleepSeconds(retryPolicy.delay(beforeRetry: attempt))
            attempt += 1
        }
    }
}
