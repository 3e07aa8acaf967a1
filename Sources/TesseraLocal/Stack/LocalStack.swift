import Glibc
import TesseraAWS
import TesseraSupport

/// The functions of template.yaml hosted as Lambda hosts them, wired as AWS wires them: each binary
/// behind its own local Runtime API, SQS event source mappings polling their queues (batch size,
/// partial batch responses; the queues' redrive policies move what keeps failing), the HTTP API's
/// function behind the local endpoint, and IoT rule deliveries (`deliverIoT`) invoking their function
/// once per message, asynchronously.
public final class LocalStack: @unchecked Sendable {
    public let functions: [LocalFunction]
    public private(set) var gateway: LocalAPIGateway?
    private var runtimes: [String: LocalRuntimeAPI] = [:]
    private var processes: [(name: String, process: ChildProcess)] = []
    /// Request ids of IoT deliveries not yet looked at, by function.
    private var iotPending: [String: [String]] = [:]
    private let state = ConditionLock()
    private var stopped = false
    private var workers = 0
    private let log: @Sendable (String) -> Void

    /// Starts every function from `code` (prepared) with `environment` (the emulator's variables) plus its
    /// own; `logDirectory` gets `<executable>.log` each, whose lines `log` receives as `[name] line`.
    /// A function an IoT rule invokes runs as `iotInstances` processes, as Lambda scales asynchronous
    /// invocations out: so END can overtake the last piece here as on AWS (picture-processor then looks
    /// again within seconds).
    public init(functions: [LocalFunction], code: FunctionCode, environment: [String: String], apiPort: UInt16 = 0,
                apiAccess: LocalAPIGateway.Access,
                logDirectory: String, iotInstances: Int = 4, log: @escaping @Sendable (String) -> Void) throws {
        self.functions = functions
        self.log = log
        do {
            try start(code: code, environment: environment, apiPort: apiPort, apiAccess: apiAccess,
                      logDirectory: logDirectory, iotInstances: iotInstances)
        } catch {
            // Whatever started before the failure stops with it.
            stop()
            throw error
        }
    }

    private func start(code: FunctionCode, environment: [String: String], apiPort: UInt16, apiAccess: LocalAPIGateway.Access,
                       logDirectory: String,
                       iotInstances: Int) throws {
        let aws = try AWSConfig.fromEnvironment(Environment(environment))
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
            env["AWS_LAMBDA_RUNTIME_API"] = runtime.endpoint
            env["AWS_LAMBDA_FUNCTION_NAME"] = function.executable
            env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] = String(function.memoryMB)
            env["AWS_LAMBDA_LOG_FORMAT"] = "JSON"
            let logPath = "\(logDirectory)/\(function.executable).log"
            unlink(logPath)
            for instance in 0..<(function.iotTopics.isEmpty ? 1 : max(1, iotInstances)) {
                let process = try ChildProcess([binary], environment: env, logPath: logPath)
                state.withLock { processes.append((function.executable + (instance > 0 ? " #\(instance + 1)" : ""), process)) }
            }
            follow(logPath, as: function.executable)
            for queue in function.queues {
                work { [self] in
                    // A client a thread: one libcurl handle must not serve two threads.
                    let mapping = EventSourceMapping(queueURL: queue.url, sqs: SQSClient(aws: AWSClient(config: aws)),
                                                     api: runtime, batchSize: queue.batchSize)
                    while !isStopped {
                        do {
                            let poll = try mapping.poll(waitSeconds: 1, timeout: Double(function.timeoutSeconds) + 5)
                            if poll.received > 0 {
                                log("[event-source] \(queue.url.split(separator: "/").last ?? ""): \(poll.received) message(s) "
                                    + "to \(function.executable), \(poll.failed.count) returned to the queue")
                            }
                        } catch {
                            sleepSeconds(0.5)  // the emulator stopping ends the stack; until then, poll again
                        }
                    }
                }
            }
            if !function.iotTopics.isEmpty { reportIoTOutcomes(of: function, runtime) }
            if function.servesHTTP, gateway == nil {
                gateway = try LocalAPIGateway(runtime: runtime, port: apiPort, access: apiAccess)
            }
        }
        watchProcesses()
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
                let id = runtime.enqueue(event)
                state.withLock {
                    iotPending[function.logicalId, default: []].append(id)
                    state.broadcast()
                }
            }
        }
    }

    /// Logs the IoT deliveries that failed, in order.
    private func reportIoTOutcomes(of function: LocalFunction, _ runtime: LocalRuntimeAPI) {
        work { [self] in
            while true {
                let next: String? = state.withLock {
                    _ = state.wait(until: monotonicNanoseconds() + 1_000_000_000) { stopped || iotPending[function.logicalId]?.isEmpty == false }
                    return stopped ? nil : iotPending[function.logicalId]?.isEmpty == false ? iotPending[function.logicalId]!.removeFirst() : ""
                }
                guard let id = next else { return }
                if id.isEmpty { continue }
                switch runtime.wait(for: id, timeout: Double(function.timeoutSeconds) * 4 + 5) {
                case let .error(type, message, _)?: log("[iot-rule] \(function.executable) failed: \(type): \(message)")
                case nil: log("[iot-rule] \(function.executable) did not answer invocation \(id) in time")
                default: break
                }
            }
        }
    }

    /// Says when a function's process ends (a crash, a missing library), once.
    private func watchProcesses() {
        work { [self] in
            var reported: Set<Int32> = []
            while !isStopped {
                for (name, process) in state.withLock({ processes }) where !reported.contains(process.pid) {
                    if let exit = process.waitForExit(timeout: 0) {
                        reported.insert(process.pid)
                        if !isStopped { log("[local] \(name) exited with status \(exit.status); its invocations will time out") }
                    }
                }
                sleepSeconds(1)
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
        for (_, process) in state.withLock({ processes }) { process.terminate() }
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
