import Glibc
import TesseraAWS
import TesseraHTTP
import TesseraSupport

/// Everything `tessera local up` runs: the emulator, template.yaml's resources and functions, the
/// MQTT broker with the IoT rules' bridge, and the page's endpoint; `stop()` ends them all.
public final class LocalUp: @unchecked Sendable {
    public let pageURL: String
    public let mqttAddress: String
    public let emulatorURL: String
    public let iotTopics: [String]
    public let environment: [String: String]
    private let emulator: ChildProcess
    private let stack: LocalStack
    private let broker: MosquittoBroker
    private let bridge: MQTTClient
    private let stateDirectory: String

    public init(template path: String, apiPort: UInt16, emulator emulatorPath: String,
                stateDirectory: String, binDirectory: String, log: @escaping @Sendable (String) -> Void) throws {
        self.stateDirectory = stateDirectory
        mkdir(stateDirectory, 0o755)
        mkdir("\(stateDirectory)/logs", 0o755)
        let template = try LocalTemplate.load(path)
        guard access(emulatorPath, X_OK) == 0 else {
            throw LocalUpError("no AWS emulator at \(emulatorPath): run scripts/setup (it installs moto's server into .venv)")
        }
        let port = try freePort()
        emulator = try ChildProcess([emulatorPath, "-H", "127.0.0.1", "-p", String(port)], environment: Environment.process().values,
                                    logPath: "\(stateDirectory)/logs/emulator.log")
        emulatorURL = "http://127.0.0.1:\(port)"
        var env = ["AWS_ENDPOINT_URL": emulatorURL, "AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local",
                   "AWS_REGION": LocalTemplate.region, "PATH": "/usr/bin:/bin"]
        let aws = AWSClient(config: try AWSConfig.fromEnvironment(Environment(env)), retryPolicy: RetryPolicy(baseDelay: 0.1))
        try Self.waitForEmulator(emulatorURL, process: emulator)
        log("[local] emulator on \(emulatorURL); creating \(template.resources.count) resources of \(path)")
        let ids = try LocalResources.provision(template, aws: aws)
        let functions = try LocalFunction.all(in: template, ids: ids)
        // A local-only queue subscribed to every topic, so `tessera local status` can show the notifications.
        let sqs = SQSClient(aws: aws), sns = SNSClient(aws: aws)
        let watch = try sqs.createQueue(name: "\(template.stackName)-notifications")
        for topic in template.resources(ofType: "AWS::SNS::Topic") {
            guard let arn = ids[topic.logicalId] else { continue }
            try sns.subscribeQueue(topicARN: arn, queueARN: try sqs.queueARN(queueURL: watch))
        }
        stack = try LocalStack(functions: functions, binDirectory: binDirectory, environment: env, apiPort: apiPort,
                               logDirectory: "\(stateDirectory)/logs", log: log)
        broker = try MosquittoBroker()
        mqttAddress = broker.url
        iotTopics = Array(Set(functions.flatMap(\.iotTopics))).sorted()
        bridge = try MQTTClient(broker: mqttAddress, clientId: "tessera-local-iot-rules")
        for topic in iotTopics {
            // The rule's `SELECT *`: the message's JSON is the event (deliverIoT only queues, so the
            // client's network thread is never held up).
            try bridge.subscribe(topic, qos: 1) { [stack] topic, payload in stack.deliverIoT(topic: topic, payload: payload) }
        }
        pageURL = stack.gateway?.url ?? "(no function serves HTTP)"
        // What other commands (`tessera send`, `tessera local status`, scripts) need to find the stack.
        for function in functions { env.merge(function.environment) { old, _ in old } }
        env["NOTIFICATIONS_QUEUE_URL"] = watch
        env["TESSERA_PAGE_URL"] = pageURL
        env["TESSERA_MQTT"] = mqttAddress
        env.removeValue(forKey: "PATH")
        environment = env
        let exports = env.keys.sorted().map { "export \($0)=\(shellQuoted(env[$0]!))\n" }.joined()
        _ = writeFile("\(stateDirectory)/up.env", Array(exports.utf8))
        _ = writeFile("\(stateDirectory)/up.pid", Array("\(getpid())\n".utf8))
    }

    public func stop() {
        bridge.disconnect()
        broker.stop()
        stack.stop()
        emulator.terminate()
        unlink("\(stateDirectory)/up.pid")
        unlink("\(stateDirectory)/up.env")
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

/// A port nothing listens on now (the kernel's pick).
func freePort() throws -> UInt16 {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let ok = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
    }
    guard ok else { throw LocalUpError("cannot find a free port: \(errnoText())") }
    return UInt16(bigEndian: address.sin_port)
}

func shellQuoted(_ text: String) -> String { "'" + text.split(separator: "'", omittingEmptySubsequences: false).joined(separator: "'\\''") + "'" }
