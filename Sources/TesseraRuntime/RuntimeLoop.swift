import Glibc
import Synchronization
import TesseraHTTP
import TesseraSupport

/// The invocation loop: next event, handler, response or error, forever.
///
/// A handler error or a malformed event never ends the loop; a broken Runtime API (500, unreachable,
/// an invocation without a request id) or SIGTERM does.
public struct RuntimeLoop {
    /// Why `run` returned.
    public enum Exit: Equatable, Sendable {
        case terminated
        case runtimeAPIFailed(String)
    }

    let client: RuntimeClient
    let logger: LambdaLogger
    /// The `function` dimension of the metrics lines (`piece-storage`, ...); nil writes none.
    let function: String?

    public init(client: RuntimeClient, logger: LambdaLogger, function: String? = nil) {
        self.client = client
        self.logger = logger
        self.function = function
    }

    /// Serves invocations until the Runtime API fails or SIGTERM arrives.
    public func run(_ handler: some LambdaHandler) -> Exit {
        while !terminationRequested.load(ordering: .relaxed) {
            do {
                try serveOne(handler)
            } catch {
                // Only Runtime API failures escape serveOne: an API that is gone or answers without a
                // request id cannot be served, and polling it again would only spin. After SIGTERM a
                // closed connection is the shutdown itself.
                if terminationRequested.load(ordering: .relaxed) { return .terminated }
                return .runtimeAPIFailed(String(describing: error))
            }
        }
        return .terminated
    }

    /// Serves one invocation; only Runtime API failures escape.
    public func serveOne(_ handler: some LambdaHandler) throws {
        runtimeGate = client.connectionGate
        // Busy from the moment the answer to /next starts arriving, so a SIGTERM from then on lets
        // this invocation finish (and post its outcome, on a new connection if need be).
        let invocation = try client.next(onArrival: {
            busy.store(true, ordering: .sequentiallyConsistent)
            runtimeGate?[1] = 0
        })
        busy.store(true, ordering: .sequentiallyConsistent)
        defer { busy.store(false, ordering: .sequentiallyConsistent) }
        var context = invocation.context
        let requestId = context.requestId
        context.logger = logger.with(requestId: requestId)
        let log = context.logger

        let output: [UInt8]
        do {
            output = try handler.handle(invocation.event, context: context)
        } catch {
            let (type, message) = errorReport(for: error)
            log.with(picture: context.metrics.picture).error("\(type): \(message)")
            writeMetrics(context)
            report(try client.postError(requestId: requestId, type: type, message: message), log)
            return
        }
        // Before the outcome is posted: after it, Lambda may freeze the process.
        writeMetrics(context)
        switch try client.postResponse(requestId: requestId, body: output) {
        case .accepted:
            break
        case let .tooLarge(detail):
            let message = "response of \(output.count) bytes is larger than Lambda accepts: \(detail)"
            log.error(message)
            report(try client.postError(requestId: requestId, type: "Runtime.ResponseTooLarge",
                                        message: message), log)
        case let .rejected(status, body):
            log.error("Runtime API refused the response (\(status)): \(body)")
        }
    }

    /// The invocation's metrics line(s); the first invocation of the process is its cold start.
    private func writeMetrics(_ context: LambdaContext) {
        guard let function else { return }
        context.metrics.write(function: function, requestId: context.requestId,
                              coldStart: coldStartPending.exchange(false, ordering: .relaxed),
                              remainingMilliseconds: context.deadlineMilliseconds > 0 ? context.remainingMilliseconds : nil)
    }

    private func report(_ outcome: RuntimeClient.PostOutcome, _ log: LambdaLogger) {
        if case let .rejected(status, body) = outcome { log.error("Runtime API refused the error (\(status)): \(body)") }
        if case let .tooLarge(body) = outcome { log.error("Runtime API refused the error as too large: \(body)") }
    }
}

/// Set from the first byte of an invocation until its outcome is posted, so SIGTERM lets it finish.
private let busy = Atomic<Bool>(false)
private let terminationRequested = Atomic<Bool>(false)
/// True until the process's first invocation has written its metrics.
private let coldStartPending = Atomic<Bool>(true)
/// The Runtime API connection's gate (`HTTPClient.connectionGate`), which the SIGTERM handler uses.
nonisolated(unsafe) private var runtimeGate: UnsafeMutablePointer<Int32>?

/// Ends the process on SIGTERM: at once when idle, after the current invocation otherwise. Ignores
/// SIGPIPE, so a closed log pipe cannot kill an invocation.
///
/// Idle means blocked on `/next` with nothing arriving, but the handler cannot see inside libcurl: an
/// answer may already sit in libcurl's buffer (read from the socket, its header callback not yet
/// run). So the handler never exits while a connection exists. It forbids new connections, and if
/// nothing waits in the socket it shuts the socket's reading side: libcurl then either finishes the
/// answer it holds (the invocation is served, its outcome posted on a new connection, which the
/// answer's arrival allows again) or fails `/next`, and the loop, seeing SIGTERM, exits 0.
public func installTerminationHandler() {
    signal(SIGPIPE, SIG_IGN)
    // A parent may have spawned us with signals blocked (threaded launchers do): unblock SIGTERM.
    var unblock = sigset_t()
    sigemptyset(&unblock)
    sigaddset(&unblock, SIGTERM)
    sigprocmask(SIG_UNBLOCK, &unblock, nil)
    signal(SIGTERM) { _ in
        terminationRequested.store(true, ordering: .sequentiallyConsistent)
        guard !busy.load(ordering: .sequentiallyConsistent) else { return }
        guard let gate = runtimeGate, gate[0] >= 0 else { quit() }
        gate[1] = 1
        // An answer already waiting in the socket is an invocation handed out: let it be served.
        var descriptor = pollfd(fd: gate[0], events: Int16(POLLIN), revents: 0)
        if poll(&descriptor, 1, 0) > 0 && descriptor.revents & Int16(POLLIN) != 0 { return }
        if shutdown(gate[0], Int32(SHUT_RD)) != 0 { quit() }
    }
}

/// Leaves at once, from the signal handler (only async-signal-safe calls).
private func quit() -> Never {
    let note = "SIGTERM: runtime stopping\n"
    _ = note.withCString { write(2, $0, strlen($0)) }
    _exit(0)
}
