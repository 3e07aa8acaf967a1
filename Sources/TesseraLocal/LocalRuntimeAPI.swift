import FoundationEssentials
import TesseraAWS
import TesseraEvents
import TesseraHTTP
import TesseraRuntime
import TesseraSupport

/// The Lambda Runtime API served on loopback, so function binaries run here as Lambda runs `bootstrap`.
///
/// Events are queued with `enqueue`; a function's `GET /next` blocks until one is there, as in Lambda.
/// Outcomes (responses and error posts) are kept per request id.
public final class LocalRuntimeAPI: @unchecked Sendable {
    /// What a function answered to one invocation.
    public enum Outcome: Equatable, Sendable, CustomStringConvertible {
        case response([UInt8])
        /// An error post: `errorType`/`errorMessage` from the body, `headerType` from
        /// `Lambda-Runtime-Function-Error-Type`.
        case error(type: String, message: String, headerType: String?)

        public var description: String {
            switch self {
            case let .response(body): "response(\(String(decoding: body, as: UTF8.self)))"
            case let .error(type, message, _): "error(\(type): \(message))"
            }
        }
    }

    /// Moments the benchmark and tests read, in monotonic nanoseconds.
    public struct Timeline: Sendable {
        public var firstNext: UInt64?
        public var firstOutcome: UInt64?
    }

    /// Lambda's limit on a synchronous response.
    public static let lambdaResponseLimit = 6_291_556

    private struct Pending {
        let id: String
        let event: [UInt8]
        let traceId: String?
    }

    public let functionARN: String
    private let maxResponseBytes: Int
    private let invocationTimeoutMs: Int
    private let condition = ConditionLock()
    private var queue: [Pending] = []
    private var outcomes: [String: Outcome] = [:]
    private var inFlight: Set<String> = []
    private var initErrorOutcome: Outcome?
    private var injectedNextFailures: [Int] = []
    private var timelineValue = Timeline()
    private var server: HTTPServer!
    private var contentTypes: [String: String] = [:]
    private var handedOut: (@Sendable (String) -> Void)?

    public init(functionARN: String = "arn:aws:lambda:us-east-1:123456789012:function:local",
                maxResponseBytes: Int = LocalRuntimeAPI.lambdaResponseLimit, invocationTimeoutMs: Int = 30_000,
                port: UInt16 = 0) throws {
        self.functionARN = functionARN
        self.maxResponseBytes = maxResponseBytes
        self.invocationTimeoutMs = invocationTimeoutMs
        // Weak: a connection thread may still finish a request after the owner let the API go.
        server = try HTTPServer(port: port, written: { [weak self] _, response in
            guard let self, let id = response.headers["Lambda-Runtime-Aws-Request-Id"] else { return }
            condition.withLock { handedOut }?(id)
        }) { [weak self] request in
            self?.route(request) ?? HTTPResponse(status: 503, body: Array("{\"errorMessage\":\"stopped\"}".utf8))
        }
    }

    /// Calls `hook` with each request id right after its event went out on the socket.
    public func onHandedOut(_ hook: @escaping @Sendable (String) -> Void) {
        condition.withLock { handedOut = hook }
    }

    /// The `Content-Type` of the post that answered `id`.
    public func contentType(of id: String) -> String? {
        condition.withLock { contentTypes[id] }
    }

    /// `host:port`, the value of `AWS_LAMBDA_RUNTIME_API` for the functions.
    public var endpoint: String { "127.0.0.1:\(server.port)" }

    public var timeline: Timeline { condition.withLock { timelineValue } }

    public func stop() { server.stop() }

    /// Queues an event and returns its request id.
    @discardableResult
    public func enqueue(_ event: [UInt8], traceId: String? = nil) -> String {
        let id = UUID().uuidString.lowercased()
        condition.withLock {
            queue.append(Pending(id: id, event: event, traceId: traceId))
            condition.broadcast()
        }
        return id
    }

    /// Waits for the outcome of `id`; nil when `timeout` seconds pass first.
    public func wait(for id: String, timeout: Double = 30) -> Outcome? {
        let limit = deadline(after: timeout)
        return condition.withLock {
            _ = condition.wait(until: limit) { outcomes[id] != nil }
            return outcomes[id]
        }
    }

    /// Queues an event and waits for its outcome.
    public func invoke(_ event: [UInt8], traceId: String? = nil, timeout: Double = 30) -> Outcome? {
        wait(for: enqueue(event, traceId: traceId), timeout: timeout)
    }

    /// Waits for a `/runtime/init/error` post.
    public func waitForInitError(timeout: Double = 30) -> Outcome? {
        let limit = deadline(after: timeout)
        return condition.withLock {
            _ = condition.wait(until: limit) { initErrorOutcome != nil }
            return initErrorOutcome
        }
    }

    /// Makes the next polls of `/next` answer these statuses (a broken execution environment).
    public func failNextPolls(with statuses: [Int]) {
        condition.withLock {
            injectedNextFailures.append(contentsOf: statuses)
            condition.broadcast()
        }
    }

    private func route(_ request: HTTPServer.Request) -> HTTPResponse {
        let prefix = "/2018-06-01/runtime"
        guard request.path.hasPrefix(prefix) else { return notFound(request) }
        let parts = request.path.dropFirst(prefix.count).split(separator: "/").map(String.init)
        switch (request.method, parts.count, parts.first, parts.last) {
        case ("GET", 2, "invocation", "next"):
            return next()
        case ("POST", 3, "invocation", "response"):
            return record(id: parts[1]) {
                request.body.count > maxResponseBytes ? nil : .response(request.body)
            } tooLarge: { request.body.count }
        case ("POST", 3, "invocation", "error"):
            condition.withLock { contentTypes[parts[1]] = request.headers["content-type"] ?? "" }
            return record(id: parts[1]) { errorOutcome(request) } tooLarge: { 0 }
        case ("POST", 2, "init", "error"):
            condition.withLock {
                initErrorOutcome = errorOutcome(request)
                condition.broadcast()
            }
            return accepted()
        default:
            return notFound(request)
        }
    }

    private func next() -> HTTPResponse {
        condition.withLock { nextLocked() }
    }

    private func nextLocked() -> HTTPResponse {
        if timelineValue.firstNext == nil { timelineValue.firstNext = monotonicNanoseconds() }
        _ = condition.wait { !queue.isEmpty || !injectedNextFailures.isEmpty }
        if !injectedNextFailures.isEmpty {
            let status = injectedNextFailures.removeFirst()
            return HTTPResponse(status: status, body: Array("{\"errorType\":\"Injected\",\"errorMessage\":\"injected failure\"}".utf8))
        }
        let pending = queue.removeFirst()
        inFlight.insert(pending.id)
        var headers = HTTPHeaders([
            ("Lambda-Runtime-Aws-Request-Id", pending.id),
            // As in Lambda, the time starts when the function gets the event, not when it was queued.
            ("Lambda-Runtime-Deadline-Ms", String(UTCTime.nowMilliseconds() + invocationTimeoutMs)),
            ("Lambda-Runtime-Invoked-Function-Arn", functionARN),
            ("Content-Type", "application/json"),
        ])
        if let trace = pending.traceId { headers.add("Lambda-Runtime-Trace-Id", trace) }
        return HTTPResponse(status: 200, headers: headers, body: pending.event)
    }

    private func record(id: String, outcome: () -> Outcome?, tooLarge size: () -> Int) -> HTTPResponse {
        condition.withLock { recordLocked(id: id, outcome: outcome, tooLarge: size) }
    }

    private func recordLocked(id: String, outcome: () -> Outcome?, tooLarge size: () -> Int) -> HTTPResponse {
        guard inFlight.contains(id) else {
            return HTTPResponse(status: 400, body: Array(
                "{\"errorMessage\":\"Invalid request ID\",\"errorType\":\"InvalidRequestID\"}".utf8))
        }
        guard let value = outcome() else {
            return HTTPResponse(status: 413, body: Array(("{\"errorMessage\":\"Exceeded maximum allowed payload size"
                + " (\(maxResponseBytes) bytes): \(size()) bytes\",\"errorType\":\"RequestEntityTooLarge\"}").utf8))
        }
        inFlight.remove(id)
        outcomes[id] = value
        if timelineValue.firstOutcome == nil { timelineValue.firstOutcome = monotonicNanoseconds() }
        condition.broadcast()
        return accepted()
    }

    private func errorOutcome(_ request: HTTPServer.Request) -> Outcome {
        var fields: [String: JSONValue] = [:]
        if case let .object(object)? = try? JSONValue.parse(request.body) { fields = object }
        func text(_ name: String) -> String { if case let .string(value)? = fields[name] { value } else { "" } }
        return .error(type: text("errorType"), message: text("errorMessage"),
                      headerType: request.headers["Lambda-Runtime-Function-Error-Type"])
    }

    private func accepted() -> HTTPResponse {
        HTTPResponse(status: 202, body: Array("{\"status\":\"OK\"}".utf8))
    }

    private func notFound(_ request: HTTPServer.Request) -> HTTPResponse {
        HTTPResponse(status: 404, body: Array("{\"errorMessage\":\"no route for \(request.method) \(request.path)\"}".utf8))
    }
}
