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
    private var outcomeHook: (@Sendable (String, Outcome, Double) -> Void)?
    /// When each event in flight went out, in monotonic nanoseconds (its duration, its timeout).
    private var handedAt: [String: UInt64] = [:]
    /// Each execution environment's own endpoint (`addInstance`), and which one holds each event.
    private var instanceServers: [Int: HTTPServer] = [:]
    private var nextInstance = 1
    private var endedInstances: Set<Int> = []
    private var holders: [String: Int] = [:]
    /// Instances whose `/next` is waiting for an event now.
    private var waiting: [Int: Int] = [:]

    public init(functionARN: String = "arn:aws:lambda:us-east-1:123456789012:function:local",
                maxResponseBytes: Int = LocalRuntimeAPI.lambdaResponseLimit, invocationTimeoutMs: Int = 30_000,
                port: UInt16 = 0) throws {
        self.functionARN = functionARN
        self.maxResponseBytes = maxResponseBytes
        self.invocationTimeoutMs = invocationTimeoutMs
        // Weak: a connection thread may still finish a request after the owner let the API go.
        server = try makeServer(port: port, instance: nil)
    }

    private func makeServer(port: UInt16, instance: Int?) throws -> HTTPServer {
        // Weak: a connection thread may still finish a request after the owner let the API go.
        try HTTPServer(port: port, written: { [weak self] _, response in
            guard let self, let id = response.headers["Lambda-Runtime-Aws-Request-Id"] else { return }
            condition.withLock { handedOut }?(id)
        }) { [weak self] request in
            self?.route(request, instance: instance) ?? HTTPResponse(status: 503, body: Array("{\"errorMessage\":\"stopped\"}".utf8))
        }
    }

    /// A new execution environment's own Runtime API endpoint (`host:port`) on the same queue of events,
    /// as each Lambda instance has its own: the events it takes are known to be its own, so
    /// `instanceEnded` can fail the one it held when its process dies.
    public func addInstance() throws -> (instance: Int, endpoint: String) {
        let instance = condition.withLock { () -> Int in
            defer { nextInstance += 1 }
            return nextInstance
        }
        let server = try makeServer(port: 0, instance: instance)
        condition.withLock { instanceServers[instance] = server }
        return (instance, "127.0.0.1:\(server.port)")
    }

    /// The process of `instance` ended (exited, killed, timed out): the event it held fails as Lambda fails
    /// it (`Runtime.ExitError`, or `errorType` given), and its endpoint hands out nothing more (a `/next`
    /// it left waiting would otherwise take the next event into a closed socket). Returns the failed ids.
    @discardableResult
    public func instanceEnded(_ instance: Int, errorType: String = "Runtime.ExitError", message: String) -> [String] {
        let (failed, server) = condition.withLock { () -> ([String], HTTPServer?) in
            endedInstances.insert(instance)
            let held = holders.filter { $0.value == instance && inFlight.contains($0.key) }.map(\.key)
            for id in held {
                inFlight.remove(id)
                holders[id] = nil
                outcomes[id] = .error(type: errorType, message: "RequestId: \(id) Error: \(message)", headerType: nil)
            }
            condition.broadcast()
            return (held, instanceServers.removeValue(forKey: instance))
        }
        server?.stop()
        if let hook = condition.withLock({ outcomeHook }) {
            for id in failed {
                hook(id, outcomes(id) ?? .error(type: errorType, message: message, headerType: nil), elapsedMs(id, end: true))
            }
        }
        return failed
    }

    /// The request ids `instance` holds now (taken from `/next`, not yet answered).
    public func events(heldBy instance: Int) -> [String] {
        condition.withLock { holders.filter { $0.value == instance && inFlight.contains($0.key) }.map(\.key) }
    }

    /// How many of the instances have a `/next` waiting for an event (ready for one).
    public var waitingInstances: Int { condition.withLock { waiting.values.filter { $0 > 0 }.count } }

    private func outcomes(_ id: String) -> Outcome? { condition.withLock { outcomes[id] } }

    /// Milliseconds since `id` went out (0 if it never did); `end` forgets when.
    private func elapsedMs(_ id: String, end: Bool) -> Double {
        condition.withLock {
            let start = end ? handedAt.removeValue(forKey: id) : handedAt[id]
            return start.map { Double(monotonicNanoseconds() - $0) / 1e6 } ?? 0
        }
    }

    /// Whether `instance` holds an event it got more than `limitMs` ago (Lambda would have ended it).
    public func overdue(_ instance: Int, limitMs: Int) -> Bool {
        condition.withLock {
            let now = monotonicNanoseconds()
            return holders.contains { entry in
                entry.value == instance && inFlight.contains(entry.key)
                    && handedAt[entry.key].map { now - $0 > UInt64(limitMs) * 1_000_000 } == true
            }
        }
    }

    /// Calls `hook` with every outcome as it is recorded (a post, or an instance's end) and the
    /// invocation's milliseconds, outside the lock.
    public func onOutcome(_ hook: @escaping @Sendable (String, Outcome, Double) -> Void) {
        condition.withLock { outcomeHook = hook }
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

    public func stop() {
        server.stop()
        for server in condition.withLock({ instanceServers.values }) { server.stop() }
    }

    /// Queues an event and returns its request id: a new one, or `id` (Lambda retries an asynchronous
    /// event under the request id it first had).
    @discardableResult
    public func enqueue(_ event: [UInt8], traceId: String? = nil, id given: String? = nil) -> String {
        let id = given ?? UUID().uuidString.lowercased()
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

    private func route(_ request: HTTPServer.Request, instance: Int?) -> HTTPResponse {
        let prefix = "/2018-06-01/runtime"
        guard request.path.hasPrefix(prefix) else { return notFound(request) }
        let parts = request.path.dropFirst(prefix.count).split(separator: "/").map(String.init)
        switch (request.method, parts.count, parts.first, parts.last) {
        case ("GET", 2, "invocation", "next"):
            return next(instance: instance)
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

    private func next(instance: Int?) -> HTTPResponse {
        condition.withLock { nextLocked(instance: instance) }
    }

    private func nextLocked(instance: Int?) -> HTTPResponse {
        if timelineValue.firstNext == nil { timelineValue.firstNext = monotonicNanoseconds() }
        func ended() -> Bool { instance.map { endedInstances.contains($0) } ?? false }
        if let instance { waiting[instance, default: 0] += 1 }
        _ = condition.wait { !queue.isEmpty || !injectedNextFailures.isEmpty || ended() }
        if let instance { waiting[instance, default: 1] -= 1 }
        if ended() {
            return HTTPResponse(status: 410, body: Array("{\"errorType\":\"Runtime.Ended\",\"errorMessage\":\"this instance has ended\"}".utf8))
        }
        if !injectedNextFailures.isEmpty {
            let status = injectedNextFailures.removeFirst()
            return HTTPResponse(status: status, body: Array("{\"errorType\":\"Injected\",\"errorMessage\":\"injected failure\"}".utf8))
        }
        let pending = queue.removeFirst()
        inFlight.insert(pending.id)
        if let instance { holders[pending.id] = instance }
        handedAt[pending.id] = monotonicNanoseconds()
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
        let (response, recorded, hook) = condition.withLock { () -> (HTTPResponse, Outcome?, (@Sendable (String, Outcome, Double) -> Void)?) in
            let response = recordLocked(id: id, outcome: outcome, tooLarge: size)
            return (response, response.status == 202 ? outcomes[id] : nil, outcomeHook)
        }
        if let recorded { let ms = elapsedMs(id, end: true); hook?(id, recorded, ms) }
        return response
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
        holders[id] = nil
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
