import Glibc
import TesseraAWS
import TesseraSupport

/// The functions of template.yaml hosted as Lambda hosts them, wired as AWS wires them: each binary
/// behind its own local Runtime API, SQS event source mappings polling their queues (batch size,
/// partial batch responses; the queues' redrive policies move what keeps failing), the HTTP API's
/// function behind the local endpoint, and IoT rule deliveries (`deliverIoT`) invoking their function
/// once per message, asynchronously. Like Lambda, each function runs as several instances where its
/// reserved concurrency allows, an instance whose process exits or is killed is replaced, and the event
/// it held fails: an asynchronous one is retried (`EventInvokeConfig`), an SQS batch comes back after
/// its visibility timeout.
public final class LocalStack: @unchecked Sendable {
    public let functions: [LocalFunction]
    public private(set) var gateway: LocalAPIGateway?
    private var runtimes: [String: LocalRuntimeAPI] = [:]
    private var instances: [Instance] = []
    /// Asynchronous events (IoT rule deliveries) waiting for their outcome, by request id.
    private var asyncEvents: [String: AsyncEvent] = [:]
    /// Asynchronous events waiting out their retry delay.
    private var retryQueue: [(due: UInt64, event: AsyncEvent)] = []
    private var environments: [String: [String: String]] = [:]
    private let asyncRetryDelays: [Double]
    private var code: FunctionCode = .buildProducts(".")
    private var sqsForDestinations: AWSConfig?
    private let state = ConditionLock()
    private var stopped = false
    private var workers = 0
    private let log: @Sendable (String) -> Void

    /// Starts every function from `code` (prepared) with `environment` (the emulator's variables) plus its
    /// own; `logDirectory` gets `<executable>.log` each, whose lines `log` receives as `[name] line`.
    /// Each function runs as `function.instances(cap: maxInstances)` processes, as Lambda scales out up to
    /// the reserved concurrency: so END can overtake the last piece here as on AWS (picture-processor then
    /// looks again within seconds). `functionEnvironment` adds to a function's variables by executable
    /// name (the soak points their `AWS_ENDPOINT_URL` at its fault proxy; the stack's own calls go straight).
    /// A failed asynchronous event is retried after `asyncRetryDelays`: Lambda waits about 1 and 2 minutes, which
    /// matters (a claim's lease, a throttled table may take that long to clear); tests shorten them.
    public init(functions: [LocalFunction], code: FunctionCode, environment: [String: String], apiPort: UInt16 = 0,
                apiAccess: LocalAPIGateway.Access,
                logDirectory: String, maxInstances: Int = 4, functionEnvironment: [String: [String: String]] = [:],
                asyncRetryDelays: [Double] = [60, 120], log: @escaping @Sendable (String) -> Void) throws {
        self.functions = functions
        self.log = log
        self.asyncRetryDelays = asyncRetryDelays
        do {
            try start(code: code, environment: environment, apiPort: apiPort, apiAccess: apiAccess,
                      logDirectory: logDirectory, maxInstances: maxInstances, functionEnvironment: functionEnvironment)
        } catch {
            // Whatever started before the failure stops with it.
            stop()
            throw error
        }
    }

    private func start(code: FunctionCode, environment: [String: String], apiPort: UInt16, apiAccess: LocalAPIGateway.Access,
                       logDirectory: String,
                       maxInstances: Int, functionEnvironment: [String: [String: String]]) throws {
        let aws = try AWSConfig.fromEnvironment(Environment(environment))
        self.code = code
        sqsForDestinations = aws
        for function in functions {
            let (binary, codeEnvironment) = code.command(function.executable)
            guard access(binary, X_OK) == 0 else {
                throw LocalUpError("no \(function.executable) at \(binary): build the functions first (`swift build`)")
            }
            let runtime = try LocalRuntimeAPI(
                functionARN: "arn:aws:lambda:\(LocalTemplate.region):\(LocalTemplate.accountId):function:\(function.executable)",
                invocationTimeoutMs: function.timeoutSeconds * 1000)
            runtimes[function.logicalId] = runtime
            var env = environment.merging(function.environment) { _, own in own }.merging(codeEnvironment) { _, code in code }
            env.merge(functionEnvironment[function.executable] ?? [:]) { _, given in given }
            env["AWS_LAMBDA_FUNCTION_NAME"] = function.executable
            env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] = String(function.memoryMB)
            env["AWS_LAMBDA_LOG_FORMAT"] = "JSON"
            env["_TESSERA_LOG_PATH"] = "\(logDirectory)/\(function.executable).log"
            unlink(env["_TESSERA_LOG_PATH"]!)
            environments[function.logicalId] = env
            runtime.onOutcome { [weak self] id, outcome, milliseconds in
                self?.finished(function, id: id, outcome: outcome, milliseconds: milliseconds)
            }
            let count = function.instances(cap: maxInstances)
            for _ in 0..<count { try startInstance(of: function) }
            follow(env["_TESSERA_LOG_PATH"]!, as: function.executable)
            // As Lambda's SQS pollers scale up to the function's concurrency: a poller per instance and queue.
            for queue in function.queues { for _ in 0..<count {
                work { [self] in
                    // A client a thread: one libcurl handle must not serve two threads.
                    let mapping = EventSourceMapping(queueURL: queue.url, sqs: SQSClient(aws: AWSClient(config: aws)),
                                                     api: runtime, batchSize: queue.batchSize)
                    while !isStopped {
                        do {
                            let poll = try mapping.poll(waitSeconds: 1, timeout: Double(function.timeoutSeconds) + 5)
                            if poll.received > 0 {
                                log("[event-source] \(queue.url.split(separator: "/").last ?? ""): \(poll.received) message(s) "
                                    + "to \(function.executable), \(poll.failed.count) returned to the queue"
                                    + (poll.redelivered > 0 ? ", \(poll.redelivered) redelivered" : ""))
                            }
                        } catch {
                            sleepSeconds(0.5)  // the emulator stopping ends the stack; until then, poll again
                        }
                    }
                }
            } }
            if function.servesHTTP, gateway == nil {
                gateway = try LocalAPIGateway(runtime: runtime, port: apiPort, access: apiAccess)
            }
        }
        watchProcesses()
        retryAsynchronousEvents()
    }

    /// One instance of a function: a process behind its own Runtime API endpoint.
    private struct Instance {
        let function: LocalFunction
        let number: Int
        let process: ChildProcess
        var name: String { "\(function.executable) #\(number)" }
    }

    /// An asynchronous invocation's event, and how many times it was tried.
    private struct AsyncEvent {
        let function: LocalFunction
        let event: [UInt8]
        var attempts: Int
        /// The request id of the first attempt, kept by the retries.
        var id: String? = nil
    }

    private func startInstance(of function: LocalFunction) throws {
        guard let runtime = runtimes[function.logicalId], var env = environments[function.logicalId] else { return }
        let (binary, _) = code.command(function.executable)
        let (number, endpoint) = try runtime.addInstance()
        env["AWS_LAMBDA_RUNTIME_API"] = endpoint
        let logPath = env.removeValue(forKey: "_TESSERA_LOG_PATH")
        let process = try ChildProcess([binary], environment: env, logPath: logPath)
        state.withLock { instances.append(Instance(function: function, number: number, process: process)) }
    }

    /// The pids of the running instances, by executable (what the soak sends SIGKILL to).
    public var instancePids: [String: [pid_t]] {
        state.withLock { Dictionary(grouping: instances, by: \.function.executable).mapValues { $0.map(\.process.pid) } }
    }

    /// How many instances of each function wait for an event now, by executable.
    public var waitingInstances: [String: Int] {
        var result: [String: Int] = [:]
        for function in functions { result[function.executable] = runtimes[function.logicalId]?.waitingInstances ?? 0 }
        return result
    }

    /// How many events each function's instances hold now (taken, not yet answered), by executable.
    public var heldEvents: [String: Int] {
        let all = state.withLock { instances }
        var held: [String: Int] = [:]
        for instance in all {
            held[instance.function.executable, default: 0] += runtimes[instance.function.logicalId]?.events(heldBy: instance.number).count ?? 0
        }
        return held
    }

    /// Lambda's REPORT line for every invocation, then, for an asynchronous one that failed, its retry
    /// (after a delay) or, once retries are spent, its `OnFailure` destination.
    private func finished(_ function: LocalFunction, id: String, outcome: LocalRuntimeAPI.Outcome, milliseconds: Double) {
        let billed = Int(milliseconds.rounded(.up))
        var failure = ""
        if case let .error(type, message, _) = outcome { failure = "\tError: \(type): \(message.prefix(300))" }
        log("[\(function.executable)] REPORT RequestId: \(id)\tDuration: \(String(format2(milliseconds))) ms\t"
            + "Billed Duration: \(billed) ms\tMemory Size: \(function.memoryMB) MB\(failure)")
        guard var event = state.withLock({ asyncEvents.removeValue(forKey: id) }) else { return }
        guard case let .error(type, message, _) = outcome else { return }
        log("[iot-rule] \(function.executable) failed: \(type): \(message)")
        if event.attempts <= function.asyncRetries {
            let delay = asyncRetryDelays.isEmpty ? 0 : asyncRetryDelays[min(event.attempts - 1, asyncRetryDelays.count - 1)]
            log("[async] \(function.executable) event \(id) retried in \(String(Int(delay * 1000))) ms "
                + "(attempt \(event.attempts + 1) of \(function.asyncRetries + 1))")
            event.attempts += 1
            event.id = id
            state.withLock {
                retryQueue.append((monotonicNanoseconds() + UInt64(delay * 1e9), event))
                state.broadcast()
            }
        } else if let queue = function.onFailureQueue {
            sendToDestination(queue, function: function, id: id, event: event, type: type, message: message)
        } else {
            log("[async] \(function.executable) event \(id) dropped after \(event.attempts) attempts (no OnFailure destination)")
        }
    }

    /// Lambda's invocation record, as its SQS OnFailure destination receives it.
    private func sendToDestination(_ queue: String, function: LocalFunction, id: String, event: AsyncEvent, type: String, message: String) {
        let arn = "arn:aws:lambda:\(LocalTemplate.region):\(LocalTemplate.accountId):function:\(function.executable)"
        let record = "{\"version\":\"1.0\",\"timestamp\":\(jsonQuoted(UTCTime(epochMilliseconds: UTCTime.nowMilliseconds()).iso8601)),\"requestContext\":{"
            + "\"requestId\":\(jsonQuoted(id)),\"functionArn\":\(jsonQuoted(arn + ":$LATEST")),\"condition\":\"RetriesExhausted\","
            + "\"approximateInvokeCount\":\(event.attempts)},\"requestPayload\":\(String(decoding: event.event, as: UTF8.self)),"
            + "\"responseContext\":{\"statusCode\":200,\"executedVersion\":\"$LATEST\",\"functionError\":\"Unhandled\"},"
            + "\"responsePayload\":{\"errorType\":\(jsonQuoted(type)),\"errorMessage\":\(jsonQuoted(message))}}"
        do {
            guard let aws = sqsForDestinations else { return }
            // A client a call: outcomes arrive on the Runtime API's connection threads.
            _ = try SQSClient(aws: AWSClient(config: aws)).sendMessage(queueURL: queue, body: record)
            log("[async] \(function.executable) event \(id) failed \(event.attempts) times: sent to its OnFailure queue")
        } catch {
            log("[async] \(function.executable) event \(id) failed \(event.attempts) times and its OnFailure queue refused it: \(error)")
        }
    }

    /// Puts failed asynchronous events back on their function's queue when their delay is over.
    private func retryAsynchronousEvents() {
        work { [self] in
            while true {
                let due: [AsyncEvent]? = state.withLock {
                    _ = state.wait(until: monotonicNanoseconds() + 200_000_000) {
                        stopped || retryQueue.contains { $0.due <= monotonicNanoseconds() }
                    }
                    if stopped { return nil }
                    let now = monotonicNanoseconds()
                    let ready = retryQueue.filter { $0.due <= now }.map(\.event)
                    retryQueue.removeAll { $0.due <= now }
                    return ready
                }
                guard let due else { return }
                for event in due { invokeAsynchronously(event) }
            }
        }
    }

    private func invokeAsynchronously(_ event: AsyncEvent) {
        guard let runtime = runtimes[event.function.logicalId] else { return }
        // Recorded before the event can be taken, so its outcome always finds it.
        state.withLock { asyncEvents[runtime.enqueue(event.event, id: event.id)] = event }
    }

    /// The functions IoT rules invoke for messages on `topic` (MQTT topic filter matching).
    public func iotFunctions(for topic: String) -> [LocalFunction] {
        functions.filter { $0.iotRules.contains { $0.matches(topic: topic) } }
    }

    /// What the IoT rules do with a message on `topic`: each rule whose FROM filter matches builds its
    /// event as its SELECT says (`IoTRuleSQL.event`: the named fields, `topic(N) AS name`) and invokes
    /// its function once, asynchronously (Lambda's async invocation). A message a rule cannot build an
    /// event from is logged and not delivered, as AWS sends a rule's failures to its error action. Only
    /// queues: outcomes are looked at by one thread a function, so a flood of messages costs no thread each.
    public func deliverIoT(topic: String, payload: [UInt8]) {
        for function in functions {
            guard let runtime = runtimes[function.logicalId] else { continue }
            for rule in function.iotRules where rule.matches(topic: topic) {
                let event: [UInt8]
                do {
                    event = try rule.event(topic: topic, payload: payload)
                } catch {
                    log("[iot-rule] \(function.executable) not invoked: \(error)")
                    continue
                }
                _ = runtime
                invokeAsynchronously(AsyncEvent(function: function, event: event, attempts: 1))
            }
        }
    }

    /// Replaces an instance whose process ended, as Lambda starts a new execution environment; the event
    /// it held fails (`Runtime.ExitError`), so an asynchronous one is retried and an SQS batch returns
    /// to its queue. An instance still holding an event past the function's timeout is killed, as
    /// Lambda ends one that timed out (`Sandbox.Timedout`).
    private func watchProcesses() {
        work { [self] in
            while !isStopped {
                for instance in state.withLock({ instances }) {
                    guard let runtime = runtimes[instance.function.logicalId] else { continue }
                    if runtime.overdue(instance.number, limitMs: instance.function.timeoutSeconds * 1000) {
                        log("[local] \(instance.name) timed out after \(instance.function.timeoutSeconds) s: killed")
                        runtime.instanceEnded(instance.number, errorType: "Sandbox.Timedout",
                                              message: "Task timed out after \(instance.function.timeoutSeconds).00 seconds")
                        kill(instance.process.pid, SIGKILL)
                    }
                    guard let exit = instance.process.waitForExit(timeout: 0), !isStopped else { continue }
                    let failed = runtime.instanceEnded(instance.number, message: exit.status > 128
                        ? "Runtime exited with signal \(exit.status - 128)" : "Runtime exited with status \(exit.status)")
                    state.withLock { instances.removeAll { $0.process.pid == instance.process.pid } }
                    log("[local] \(instance.name) exited with status \(exit.status)"
                        + (failed.isEmpty ? "" : " holding \(failed.joined(separator: ", "))") + "; starting another")
                    do { try startInstance(of: instance.function) } catch { log("[local] cannot replace \(instance.name): \(error)") }
                }
                sleepSeconds(0.1)
            }
        }
    }

    public var isStopped: Bool { state.withLock { stopped } }

    /// Stops the endpoint, the mappings, and every function (SIGTERM, as Lambda ends an environment).
    public func stop() {
        let first = state.withLock { () -> Bool in
            defer { stopped = true }
            return !stopped
        }
        guard first else { return }
        gateway?.stop()
        state.withLock { state.broadcast() }
        _ = state.withLock { state.wait(until: monotonicNanoseconds() + 10_000_000_000) { workers == 0 } }
        for instance in state.withLock({ instances }) { instance.process.terminate() }
        for runtime in runtimes.values { runtime.stop() }
    }

    deinit { stop() }

    private func work(_ body: @escaping @Sendable () -> Void) {
        state.withLock { workers += 1 }
        startThread { [self] in
            body()
            state.withLock { workers -= 1; state.broadcast() }
        }
    }

    /// Prints the function's log lines as they are written, tagged with its name.
    private func follow(_ path: String, as name: String) {
        work { [self] in
            var fd: Int32 = -1, pending: [UInt8] = []
            var chunk = [UInt8](repeating: 0, count: 65_536)
            defer { if fd >= 0 { close(fd) } }
            while true {
                let done = isStopped
                if fd < 0 { fd = open(path, O_RDONLY | O_CLOEXEC) }
                while fd >= 0 {
                    let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
                    guard n > 0 else { break }
                    pending += chunk[0..<n]
                }
                while let newline = pending.firstIndex(of: 10) {
                    log("[\(name)] " + String(decoding: pending[..<newline], as: UTF8.self))
                    pending.removeSubrange(...newline)
                }
                if done { return }
                sleepSeconds(0.2)
            }
        }
    }

    /// MQTT topic filter matching: `+` one level, `#` the rest.
    static func matches(filter: String, topic: String) -> Bool { IoTRuleSQL.matches(filter: filter, topic: topic) }
}

/// Milliseconds with two decimals, as Lambda's REPORT line writes them.
func format2(_ value: Double) -> String {
    let hundredths = Int((value * 100).rounded())
    let fraction = hundredths % 100
    return "\(hundredths / 100).\(fraction < 10 ? "0" : "")\(fraction)"
}
