import Glibc
import TesseraAWS
import TesseraHTTP
import TesseraSupport

/// Everything `tessera local up` runs: the emulator, template.yaml's resources and functions, the
/// MQTT broker with the IoT rules' bridge, and the page's endpoint; `stop()` ends them all.
public final class LocalUp: @unchecked Sendable {
    public private(set) var pageURL = ""
    public private(set) var mqttAddress = ""
    public let emulatorURL: String
    public private(set) var iotTopics: [String] = []
    /// What the template's IoT policies let a device publish to, `%c` for its client id (`tessera/pieces/%c`).
    public private(set) var devicePublishPatterns: [String] = []
    /// The IoT rules' subscriber's password on the local broker: a fresh one each run.
    private let bridgeCredentials = MQTTClient.Credentials(username: "tessera-local-iot-rules",
                                                            password: hexString(randomBytes(16)))
    public private(set) var environment: [String: String] = [:]
    /// The user `up` made in the template's user pool, and its password.
    public private(set) var demoUser: (name: String, password: String)?
    private var emulator: ChildProcess?
    private var stack: LocalStack?
    private var broker: MosquittoBroker?
    private var bridge: MQTTClient?
    private let stateDirectory: String
    private let lock = ConditionLock()
    private var stopped = false

    public init(template path: String, apiPort: UInt16, emulator emulatorPath: String,
                stateDirectory: String, code: FunctionCode, functionEndpoints: [String: String] = [:],
                log: @escaping @Sendable (String) -> Void) throws {
        self.stateDirectory = stateDirectory
        if let pid = Self.runningPid(stateDirectory) {
            throw LocalUpError("the local stack of \(stateDirectory) already runs (process \(pid)): stop it with "
                               + "`tessera local down`, or give this one another --state")
        }
        guard mkdir(stateDirectory, 0o755) == 0 || errno == EEXIST, mkdir("\(stateDirectory)/logs", 0o755) == 0 || errno == EEXIST else {
            throw LocalUpError("cannot make the state folder \(stateDirectory)/logs: \(String(cString: strerror(errno)))")
        }
        let template = try LocalTemplate.load(path)
        // The zips are unpacked before anything starts, so a broken one stops nothing half made.
        try code.prepare(template.resources(ofType: "AWS::Serverless::Function").map { LocalFunction.executableName($0.logicalId) })
        guard access(emulatorPath, X_OK) == 0 else {
            throw LocalUpError("no AWS emulator at \(emulatorPath): run scripts/setup (it installs moto's server into .venv)")
        }
        let port = try freeLoopbackPort()
        emulatorURL = "http://127.0.0.1:\(port)"
        var env = ["AWS_ENDPOINT_URL": emulatorURL, "AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local",
                   "AWS_REGION": LocalTemplate.region]
        // A failure from here on stops what was started.
        do {
            let emulator = try ChildProcess([emulatorPath, "-H", "127.0.0.1", "-p", String(port)],
                                            environment: Environment.process().values,
                                            logPath: "\(stateDirectory)/logs/emulator.log")
            self.emulator = emulator
            try Self.waitForEmulator(emulatorURL, process: emulator)
            log("[local] emulator on \(emulatorURL); creating \(template.resources.count) resources of \(path)")
            let aws = AWSClient(config: try AWSConfig.fromEnvironment(Environment(env)), retryPolicy: RetryPolicy(baseDelay: 0.1))
            let ids = try LocalResources.provision(template, aws: aws)
            let functions = try LocalFunction.all(in: template, ids: ids)
            devicePublishPatterns = try LocalDevicePolicy.publishPatterns(in: template, ids: ids)
            // A local-only queue subscribed to every topic, so `tessera local status` can show the notifications.
            let sqs = SQSClient(aws: aws), sns = SNSClient(aws: aws)
            let watch = try sqs.createQueue(name: "\(template.stackName)-notifications")
            for topic in template.resources(ofType: "AWS::SNS::Topic") {
                guard let arn = ids[topic.logicalId] else { continue }
                try sns.subscribeQueue(topicARN: arn, queueARN: try sqs.queueARN(queueURL: watch))
            }
            // The template's user pool, with a user to sign in as (the page, `tessera local status`, tests).
            let access = try LocalResources.apiAccess(template, ids: ids, emulatorURL: emulatorURL)
            if let pool = template.resources(ofType: "AWS::Cognito::UserPool").first.flatMap({ ids[$0.logicalId] }) {
                let password = "Local-" + hexString(randomBytes(8)) + "!"
                try CognitoClient(aws: aws).createUser(poolId: pool, username: "demo", password: password)
                demoUser = ("demo", password)
            }
            let stack = try LocalStack(functions: functions, code: code, environment: env,
                                       apiPort: apiPort, apiAccess: access, logDirectory: "\(stateDirectory)/logs",
                                       functionEnvironment: functionEndpoints.mapValues { ["AWS_ENDPOINT_URL": $0] }, log: log)
            self.stack = stack
            // The devices' IoT policy, enforced: each client publishes only where the policy lets its
            // thing (here: its client id) publish; only the rules' subscriber reads.
            let broker = try MosquittoBroker(accessControl: .init(publishPatterns: devicePublishPatterns,
                                                                  reader: bridgeCredentials))
            self.broker = broker
            mqttAddress = broker.url
            iotTopics = Array(Set(functions.flatMap(\.iotTopics))).sorted()
            try connectBridge()
            watchBridge(log: log)
            pageURL = stack.gateway?.url ?? "(no function serves HTTP)"
            // What other commands (`tessera send`, `tessera local status`, scripts) need to find the stack.
            for function in functions { env.merge(function.environment) { old, _ in old } }
            env["NOTIFICATIONS_QUEUE_URL"] = watch
            env["TESSERA_PAGE_URL"] = pageURL
            env["TESSERA_MQTT"] = mqttAddress
            if let (user, password) = demoUser {
                env["TESSERA_USER"] = user
                env["TESSERA_PASSWORD"] = password
            }
            environment = env
            let exports = env.keys.sorted().map { "export \($0)=\(shellQuoted(env[$0]!))\n" }.joined()
            _ = writeFile("\(stateDirectory)/up.env", Array(exports.utf8))
            _ = writeFile("\(stateDirectory)/up.pid", Array("\(getpid())\n".utf8))
        } catch {
            stop()
            throw error
        }
    }

    /// The IoT rules' stand-in: a subscriber on the rules' topics with a client id of its own (a device
    /// reusing it would take the session over) and the broker's one reading account, handing each message
    /// to the stack.
    private func connectBridge() throws {
        guard let broker, let stack else { return }
        let client = try MQTTClient(broker: broker.url, clientId: "tessera-local-iot-rules-\(getpid())-\(monotonicNanoseconds() % 1_000_000)",
                                    credentials: bridgeCredentials)
        for topic in iotTopics {
            // deliverIoT builds each rule's event from the topic and the message as its SELECT says, and
            // only queues it, so the client's network thread is never held up.
            try client.subscribe(topic, qos: 1) { topic, payload in stack.deliverIoT(topic: topic, payload: payload) }
        }
        lock.withLock { bridge = client }
    }

    /// Restarts the broker when its process ends (as IoT Core stays up, devices just reconnect), and
    /// reconnects the bridge when the broker drops it, and says so.
    private func watchBridge(log: @escaping @Sendable (String) -> Void) {
        startThread { [weak self] in
            while let self, !lock.withLock({ stopped }) {
                do {
                    if try broker?.restartIfExited() == true { log("[local] the MQTT broker exited: started again on \(mqttAddress)") }
                } catch {
                    log("[local] the MQTT broker exited and did not start again: \(error)")
                }
                if let failure = lock.withLock({ bridge })?.connectionFailure {
                    log("[local] the IoT rules' MQTT connection dropped (\(failure)); reconnecting")
                    lock.withLock { bridge }?.disconnect()
                    do { try connectBridge() } catch { log("[local] reconnecting the IoT rules failed: \(error)") }
                }
                sleepSeconds(1)
            }
        }
    }

    public func stop() {
        let first = lock.withLock { () -> Bool in
            defer { stopped = true }
            return !stopped
        }
        guard first else { return }
        lock.withLock { bridge }?.disconnect()
        broker?.stop()
        stack?.stop()
        emulator?.terminate()
        // Only this stack's files: another `up` on the same folder was refused at its start.
        if Self.runningPid(stateDirectory) == nil || Self.runningPid(stateDirectory) == getpid() {
            unlink("\(stateDirectory)/up.pid")
            unlink("\(stateDirectory)/up.env")
        }
    }

    /// The pid in `<state>/up.pid` when it is a live `tessera local up` (a stale file, a reused pid or
    /// anything else written there gives nil: never a process to signal).
    public static func runningPid(_ stateDirectory: String) -> pid_t? {
        guard let bytes = readFile("\(stateDirectory)/up.pid", maxBytes: 64),
              let pid = pid_t(String(decoding: bytes, as: UTF8.self).trimmingHTTPWhitespace()), pid > 1,
              kill(pid, 0) == 0 || errno == EPERM,
              let stat = readFile("/proc/\(pid)/stat", maxBytes: 4096), let close = stat.lastIndex(of: UInt8(ascii: ")")),
              close + 2 < stat.count, stat[close + 2] != UInt8(ascii: "Z"),
              let cmdline = readFile("/proc/\(pid)/cmdline", maxBytes: 65_536) else { return nil }
        let arguments = cmdline.split(separator: 0, omittingEmptySubsequences: false).map { String(decoding: $0, as: UTF8.self) }
        guard arguments.first?.hasSuffix("tessera") == true,
              let local = arguments.firstIndex(of: "local"), arguments.index(after: local) < arguments.endIndex,
              arguments[arguments.index(after: local)] == "up" else { return nil }
        return pid
    }

    static func waitForEmulator(_ url: String, process: ChildProcess) throws {
        let http = HTTPClient(options: .init(connectTimeoutMs: 500, timeoutMs: 2_000))
        for _ in 0..<100 {
            if (try? http.send(HTTPRequest(method: "GET", url: url + "/moto-api/data.json")))?.status == 200 { return }
            guard process.isRunning else { throw LocalUpError("the emulator exited at start-up: \(process.log.suffix(400))") }
            sleepSeconds(0.1)
        }
        throw LocalUpError("the emulator did not answer within 10 s")
    }
}

/// Why the local stack could not start.
public struct LocalUpError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// `count` random bytes (the system's generator).
func randomBytes(_ count: Int) -> [UInt8] {
    var generator = SystemRandomNumberGenerator()
    return (0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) }
}

func shellQuoted(_ text: String) -> String { "'" + text.split(separator: "'", omittingEmptySubsequences: false).joined(separator: "'\\''") + "'" }
