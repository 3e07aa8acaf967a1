import Foundation
import Glibc
import Testing
import TesseraAWS
import TesseraEvents
import TesseraLocal
import TesseraSupport

/// The local stack behaves as Lambda does when an instance dies: the real function binaries from
/// template.yaml, several instances each, against the emulator. An instance is made to hold an event
/// without running it by stopping every instance (SIGSTOP) while its `/next` waits: the event goes out on
/// its connection, and the SIGKILL that follows ends it holding the event, as a crash mid-invocation does.
@Suite(.serialized)
struct LocalStackFaultTests {
    /// The stack's lines, as DeviceIdentityTests keeps them.
    typealias Lines = DeviceIdentityTests.Lines

    struct Started {
        let stack: LocalStack
        let ids: [String: String]
        let lines: Lines
        let aws: AWSClient
    }

    static func start(maxInstances: Int = 3, retryDelays: [Double] = [0.2, 0.2]) throws -> Started {
        let template = try LocalTemplate.load(LocalTemplateTests.root.appendingPathComponent("template.yaml").path,
                                              stackName: Emulator.uniqueName("faults"))
        let aws = try Emulator.openClient()
        let ids = try LocalResources.provision(template, aws: aws)
        let logs = NSTemporaryDirectory() + "faults-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: logs, withIntermediateDirectories: true)
        let lines = Lines()
        let stack = try LocalStack(functions: try LocalFunction.all(in: template, ids: ids),
                                   code: .buildProducts(FunctionProcess.binDirectory.path), environment: Emulator.openVariables,
                                   apiAccess: try LocalResources.apiAccess(template, ids: ids,
                                                                           emulatorURL: Emulator.openVariables["AWS_ENDPOINT_URL"]!),
                                   logDirectory: logs, maxInstances: maxInstances, asyncRetryDelays: retryDelays,
                                   log: { lines.add($0) })
        return Started(stack: stack, ids: ids, lines: lines, aws: aws)
    }

    static func eventually(_ seconds: Double, _ condition: () throws -> Bool) rethrows -> Bool {
        try DeviceIdentityTests.eventually(seconds, condition)
    }

    /// Every instance of `executable`, stopped where it waits for its next event (once each waits).
    static func stopAll(_ stack: LocalStack, _ executable: String) -> [pid_t] {
        let pids = stack.instancePids[executable] ?? []
        _ = eventually(20) { stack.waitingInstances[executable] == pids.count }
        for pid in pids { kill(pid, SIGSTOP) }
        return pids
    }

    @Test func instancesFollowTheTemplatesReservedConcurrencyWithinTheCap() throws {
        let template = try LocalTemplate.load(LocalTemplateTests.root.appendingPathComponent("template.yaml").path)
        let ids = ["ReassemblyQueue": "http://q/reassembly", "ResizeQueue": "http://q/resize", "NotifyTopic": "arn:topic",
                   "PiecesTable": "pieces", "PicturesTable": "pictures", "OriginalsBucket": "tessera-originals-local",
                   "RenditionsBucket": "renditions", "PieceFailuresQueue": "http://q/failures"]
        let functions = try LocalFunction.all(in: template, ids: ids)
        let storage = try #require(functions.first { $0.executable == "piece-storage" })
        #expect(storage.reservedConcurrency == 10)
        #expect(storage.asyncRetries == 2)
        #expect(storage.onFailureQueue == ids["PieceFailuresQueue"])
        #expect(storage.instances(cap: 4) == 4)
        var one = storage
        one.reservedConcurrency = 1
        #expect(one.instances(cap: 4) == 1)
        one.reservedConcurrency = nil
        #expect(one.instances(cap: 3) == 3)
        let processor = try #require(functions.first { $0.executable == "picture-processor" })
        #expect(processor.reservedConcurrency == 10)
        #expect(processor.asyncRetries == 2)
        #expect(processor.onFailureQueue == nil)

        let started = try Self.start(maxInstances: 3)
        defer { started.stack.stop() }
        for executable in ["piece-storage", "picture-processor", "picture-api"] {
            #expect(started.stack.instancePids[executable]?.count == 3, "\(started.stack.instancePids)")
        }
    }

    @Test func anInstanceKilledMidInvocationIsReplacedAndItsAsyncEventRetried() throws {
        let started = try Self.start()
        let stack = started.stack
        defer { stack.stop() }
        let before = Self.stopAll(stack, "piece-storage")
        let piece = IoTPieceMessage.piece(machineId: "cam-k", label: "killed", index: 1, data: [1, 2, 3])
        stack.deliverIoT(topic: "tessera/pieces/cam-k", payload: Array(piece.json.utf8))
        // The event went out to one of the stopped instances; kill them all, as a crash would.
        #expect(Self.eventually(10) { (stack.heldEvents["piece-storage"] ?? 0) == 1 }, "\(started.lines.all.joined(separator: "\n"))")
        for pid in before {
            kill(pid, SIGKILL)
        }
        let db = DynamoDBClient(aws: started.aws)
        let table = try #require(started.ids["PiecesTable"])
        func stored() throws -> Bool {
            try !db.queryAll(table: table, keyCondition: .init("#id = :id", names: ["#id": "pictureId"],
                                                               values: [":id": .s("cam-k/killed")]), consistentRead: true).isEmpty
        }
        #expect(try Self.eventually(30) { try stored() }, "the retried piece was not stored:\n\(started.lines.all.joined(separator: "\n"))")
        #expect(started.lines.all.contains { $0.contains("exited with status 137 holding") }, "\(started.lines.all.joined(separator: "\n"))")
        #expect(started.lines.all.contains { $0.contains("[iot-rule] piece-storage failed: Runtime.ExitError") }, "\(started.lines.all.joined(separator: "\n"))")
        #expect(started.lines.all.contains { $0.hasPrefix("[async] piece-storage event") && $0.contains("attempt 2 of 3") })
        // Replaced: as many instances as before, none of them the killed ones.
        #expect(Self.eventually(10) { stack.instancePids["piece-storage"]?.count == before.count })
        #expect(Set(stack.instancePids["piece-storage"] ?? []).isDisjoint(with: before))
    }

    @Test func anAsyncEventFailingThreeTimesGoesToTheOnFailureQueue() throws {
        let started = try Self.start()
        defer { started.stack.stop() }
        // piece-storage refuses a machine_id other than the topic's thing: a function error each time.
        let piece = IoTPieceMessage.piece(machineId: "cam-x", label: "refused", index: 1, data: [1])
        started.stack.deliverIoT(topic: "tessera/pieces/cam-y", payload: Array(piece.json.utf8))
        let sqs = SQSClient(aws: started.aws)
        let queue = try #require(started.ids["PieceFailuresQueue"])
        var records: [SQSClient.Message] = []
        #expect(try Self.eventually(30) {
            records += try sqs.receiveMessages(queueURL: queue, max: 10, waitSeconds: 0)
            return !records.isEmpty
        }, "\(started.lines.all.joined(separator: "\n"))")
        #expect(records.count == 1)
        let record = try JSONSerialization.jsonObject(with: Data(try #require(records.first).Body.utf8)) as? [String: Any]
        let context = record?["requestContext"] as? [String: Any]
        #expect(context?["condition"] as? String == "RetriesExhausted")
        #expect(context?["approximateInvokeCount"] as? Int == 3)
        #expect((record?["requestPayload"] as? [String: Any])?["machine_id"] as? String == "cam-x")
        #expect(started.lines.all.filter { $0.hasPrefix("[iot-rule] piece-storage failed: Tessera.InvalidEvent") }.count == 3)
        // One request id through the three attempts, as Lambda keeps it.
        let reports = started.lines.all.filter { $0.hasPrefix("[piece-storage] REPORT") && $0.contains("InvalidEvent") }
        #expect(reports.count == 3)
        #expect(Set(reports.map { $0.split(separator: "\t")[0] }).count == 1, "\(reports)")
    }

    @Test func anSQSBatchHeldByAKilledInstanceReturnsToItsQueue() throws {
        let started = try Self.start()
        let stack = started.stack
        defer { stack.stop() }
        let sqs = SQSClient(aws: started.aws)
        let queue = try #require(started.ids["ResizeQueue"])
        // The emulator's s3:TestEvent from setting up the bucket's notification goes first.
        #expect(Self.eventually(30) { started.lines.all.contains { $0.contains("s3:TestEvent ignored") } }, "\(started.lines.all.joined(separator: "\n"))")
        let before = Self.stopAll(stack, "picture-processor")
        _ = try sqs.sendMessage(queueURL: queue, body: #"{"Service":"Amazon S3","Event":"s3:TestEvent","Bucket":"b"}"#)
        #expect(Self.eventually(20) { (stack.heldEvents["picture-processor"] ?? 0) == 1 }, "\(started.lines.all.joined(separator: "\n"))")
        let mark = started.lines.all.count
        for pid in before { kill(pid, SIGKILL) }
        #expect(Self.eventually(10) { started.lines.all.contains { $0.contains("exited with status 137 holding") } })
        // The mapping saw the invocation fail, so the message was not deleted: it stays in flight until the
        // queue's visibility timeout (the template's 360 s) ends, then comes back (the soak sees it come back).
        sleepSeconds(1)
        let attributes = try sqs.queueAttributes(queueURL: queue, names: ["ApproximateNumberOfMessagesNotVisible"])
        #expect(attributes["ApproximateNumberOfMessagesNotVisible"] == "1", "\(attributes)\n\(started.lines.all.joined(separator: "\n"))")
        #expect(!started.lines.all.dropFirst(mark).contains { $0.contains("0 returned to the queue") }, "\(started.lines.all.joined(separator: "\n"))")
        #expect(Self.eventually(10) { stack.instancePids["picture-processor"]?.count == before.count })
    }

    @Test func theBrokerStartsAgainOnItsPortAfterItDies() throws {
        let broker = try MosquittoBroker()
        defer { broker.stop() }
        #expect(try broker.restartIfExited() == false)
        kill(broker.pid, SIGKILL)
        #expect(Self.eventually(5) { !broker.isRunning })
        #expect(try broker.restartIfExited() == true)
        let client = try MQTTClient(broker: broker.url, clientId: "after-restart")
        try client.publish(topic: "t/x", payload: [1], qos: 1)
        client.disconnect()
    }
}
