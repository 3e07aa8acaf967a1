import TesseraAWS
import TesseraSupport

/// picture-api and picture-processor hosted as Lambda hosts them, against the emulator: the API
/// behind an HTTP endpoint for the page, the processor fed from its queues by event source mappings
/// that poll until `stop()`. A browser upload to the originals bucket becomes a gallery thumbnail.
public final class LocalPictureStack: @unchecked Sendable {
    public let gateway: LocalAPIGateway
    private let apiRuntime: LocalRuntimeAPI
    private let processorRuntime: LocalRuntimeAPI
    private let api: ChildProcess
    private let processor: ChildProcess
    private let state = ConditionLock()
    private var stopped = false
    private var pollers = 0

    /// Starts both binaries with `environment` (the emulator's variables and the stack's names, as
    /// `tessera local init` prints them); polls the queues named by `REASSEMBLY_QUEUE_URL` and
    /// `RESIZE_QUEUE_URL` when set. `logDirectory` gets one log file a function.
    public init(apiBinary: String, processorBinary: String, environment: [String: String], port: UInt16 = 0,
                logDirectory: String? = nil, onPoll: (@Sendable (String, EventSourceMapping.Poll) -> Void)? = nil) throws {
        apiRuntime = try LocalRuntimeAPI(functionARN: "arn:aws:lambda:us-east-1:123456789012:function:picture-api",
                                         invocationTimeoutMs: 10_000)
        processorRuntime = try LocalRuntimeAPI(
            functionARN: "arn:aws:lambda:us-east-1:123456789012:function:picture-processor", invocationTimeoutMs: 60_000)
        func start(_ binary: String, _ runtime: LocalRuntimeAPI, _ name: String) throws -> ChildProcess {
            var env = environment
            env["AWS_LAMBDA_RUNTIME_API"] = runtime.endpoint
            env["AWS_LAMBDA_LOG_FORMAT"] = env["AWS_LAMBDA_LOG_FORMAT"] ?? "JSON"
            return try ChildProcess([binary], environment: env, logPath: logDirectory.map { "\($0)/\(name).log" })
        }
        api = try start(apiBinary, apiRuntime, "picture-api")
        processor = try start(processorBinary, processorRuntime, "picture-processor")
        gateway = try LocalAPIGateway(runtime: apiRuntime, port: port)
        let aws = try AWSConfig.fromEnvironment(Environment(environment))
        for variable in ["REASSEMBLY_QUEUE_URL", "RESIZE_QUEUE_URL"] {
            guard let queue = environment[variable], !queue.isEmpty else { continue }
            state.withLock { pollers += 1 }
            startThread { [self] in
                // A client a thread: one libcurl handle must not serve two threads.
                let mapping = EventSourceMapping(queueURL: queue, sqs: SQSClient(aws: AWSClient(config: aws)),
                                                 api: processorRuntime)
                while !state.withLock({ stopped }) {
                    do {
                        let poll = try mapping.poll(waitSeconds: 1)
                        if poll.received > 0 { onPoll?(variable, poll) }
                    } catch {
                        // The emulator going away ends the stack; until then a failed poll is retried.
                        sleepSeconds(0.5)
                    }
                }
                state.withLock { pollers -= 1; state.broadcast() }
            }
        }
    }

    /// The page's address.
    public var url: String { gateway.url }

    /// Stops polling, the endpoint and both functions (SIGTERM, as Lambda ends an environment).
    public func stop() {
        let first = state.withLock { () -> Bool in
            defer { stopped = true }
            return !stopped
        }
        guard first else { return }
        gateway.stop()
        _ = state.withLock { state.wait(until: monotonicNanoseconds() + 5_000_000_000) { pollers == 0 } }
        api.terminate()
        processor.terminate()
        apiRuntime.stop()
        processorRuntime.stop()
    }

    deinit { stop() }
}
