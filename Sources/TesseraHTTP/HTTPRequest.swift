import TesseraSupport

/// One HTTP request: what the client sends, byte for byte.
public struct HTTPRequest: Sendable {
    public var method: String
    /// Absolute URL, already percent-encoded as it goes on the wire.
    public var url: String
    public var headers: HTTPHeaders
    public var body: [UInt8]
    /// Total time allowed for the exchange in milliseconds; `nil` takes the client's default, 0 waits forever.
    public var timeoutMs: Int?
    /// Called once, on this thread, when the response's status line arrives (before its headers and body).
    public var onResponseStart: (@Sendable () -> Void)?
    /// The largest response body accepted: reading stops past it and the request fails with
    /// `HTTPError.responseTooLarge`, so a huge object cannot exhaust memory.
    public var maxResponseBytes: Int?
    /// When set, the response keeps only these header fields, as bytes (`HTTPResponse.selectedHeaders`),
    /// and `HTTPResponse.headers` stays empty: for hot paths that read a few known fields.
    public var headerSelection: HeaderSelection?

    public init(method: String, url: String, headers: HTTPHeaders = HTTPHeaders(), body: [UInt8] = [],
                timeoutMs: Int? = nil, maxResponseBytes: Int? = nil, headerSelection: HeaderSelection? = nil,
                onResponseStart: (@Sendable () -> Void)? = nil) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        self.timeoutMs = timeoutMs
        self.onResponseStart = onResponseStart
        self.maxResponseBytes = maxResponseBytes
        self.headerSelection = headerSelection
    }
}

/// One HTTP response with its whole body.
public struct HTTPResponse: Sendable {
    public var status: Int
    public var headers: HTTPHeaders
    public var body: [UInt8]
    /// The fields the request's `headerSelection` asked for (nil when it had none).
    public var selectedHeaders: SelectedHeaders?

    public init(status: Int, headers: HTTPHeaders = HTTPHeaders(), body: [UInt8] = [],
                selectedHeaders: SelectedHeaders? = nil) {
        self.status = status
        self.headers = headers
        self.body = body
        self.selectedHeaders = selectedHeaders
    }

    /// The body as UTF-8 text (invalid bytes repaired), for messages and logs.
    public var text: String { String(decoding: body, as: UTF8.self) }
}
