import Foundation
import Testing
import TesseraAWS
import TesseraEvents
import TesseraLocal
import TesseraPictures
import TesseraSupport

/// A pieces table and a reassembly queue of their own in the emulator, and `piece-storage`
/// processes serving them, each behind its own local Runtime API as Lambda runs `bootstrap`.
final class PieceStorageStack {
    let aws: AWSClient
    let db: DynamoDBClient
    let sqs: SQSClient
    let table: String
    let queue: String

    init() throws {
        aws = try Emulator.client()
        db = DynamoDBClient(aws: aws)
        sqs = SQSClient(aws: aws)
        table = Emulator.uniqueName("pieces")
        try db.createTable(.init(name: table, partitionKey: ("pictureId", "S"), sortKey: ("piece", "N")))
        try db.enableTimeToLive(table: table, attribute: "expiresAt")
        queue = try sqs.createQueue(name: Emulator.uniqueName("reassembly"))
    }

    /// The function's environment for the test limits (MAX_PIECES 50, MAX_PIECE_BYTES 8192).
    func environment(api: LocalRuntimeAPI) -> [String: String] {
        var env = Emulator.variables
        env["AWS_LAMBDA_RUNTIME_API"] = api.endpoint
        env["PIECES_TABLE"] = table
        env["REASSEMBLY_QUEUE_URL"] = queue
        env["MAX_PIECES"] = String(MalformedPieceEvents.maxPieces)
        env["MAX_PIECE_BYTES"] = String(MalformedPieceEvents.maxPieceBytes)
        env["AWS_LAMBDA_LOG_FORMAT"] = "JSON"
        return env
    }

    /// `count` processes, each polling its own Runtime API.
    func start(_ count: Int = 1) throws -> [PieceStorageFunction] {
        try (0..<count).map { _ in
            let api = try LocalRuntimeAPI()
            do {
                return PieceStorageFunction(api: api, process: try FunctionProcess.start("piece-storage",
                                                                                       environment: environment(api: api)))
            } catch {
                api.stop()
                throw error
            }
        }
    }

    /// Every item of one picture, consistently read, in piece order.
    func items(_ pictureId: String) throws -> [Item] {
        try db.queryAll(table: table, keyCondition: .init("#id = :id", names: ["#id": "pictureId"],
                                                          values: [":id": .s(pictureId)]), consistentRead: true)
    }

    /// Every message in the queue (each received once: hidden for 5 minutes once received).
    func drainQueue() throws -> [SQSClient.Message] {
        var messages: [SQSClient.Message] = []
        while true {
            let batch = try sqs.receiveMessages(queueURL: queue, max: 10, waitSeconds: messages.isEmpty ? 1 : 0,
                                                visibilityTimeout: 300)
            if batch.isEmpty { return messages }
            messages += batch
        }
    }

    /// The reassembly requests in the queue, decoded.
    func reassemblyRequests() throws -> [ReassemblyRequest] {
        try drainQueue().map { try JSONDecoder().decode(ReassemblyRequest.self, from: Data($0.Body.utf8)) }
    }
}

/// One `piece-storage` process behind its own Runtime API.
final class PieceStorageFunction {
    let api: LocalRuntimeAPI
    let process: ChildProcess

    init(api: LocalRuntimeAPI, process: ChildProcess) {
        self.api = api
        self.process = process
    }

    func invoke(_ event: [UInt8]) -> LocalRuntimeAPI.Outcome? { api.invoke(event) }
    func invoke(_ event: String) -> LocalRuntimeAPI.Outcome? { api.invoke(Array(event.utf8)) }

    /// Ends the process (SIGTERM) and the API; the exit status.
    @discardableResult
    func stop() -> Int32 {
        let status = process.terminate().status
        // LocalRuntimeAPI's `written` hook holds it `unowned` and runs after a post's 202 went out, which
        // the function may act on first: give that hook time before the API can be released.
        usleep(50_000)
        api.stop()
        return status
    }
}

/// template.yaml's PiecesTopicRule, run as the local stack runs it: what piece-storage gets for a device's
/// message on its topic.
enum PiecesRule {
    static let rule: IoTRuleSQL = {
        let template = try! LocalTemplate.load(LocalTemplateTests.root.appendingPathComponent("template.yaml").path)
        let storage = try! LocalFunction.all(in: template, ids: [:]).first { $0.executable == "piece-storage" }!
        return storage.iotRules[0]
    }()

    /// The event for `payload` published on `<PiecesTopic>/<thing>` (the default prefix).
    static func event(_ payload: [UInt8], from thing: String) throws -> [UInt8] {
        try rule.event(topic: "tessera/pieces/\(thing)", payload: payload)
    }

    /// The event for a device's message published on its own topic (the one its machine_id names).
    static func event(ofOwn message: String) throws -> [UInt8] {
        let fields = try JSONSerialization.jsonObject(with: Data(message.utf8)) as? [String: Any]
        return try event(Array(message.utf8), from: fields?["machine_id"] as? String ?? "")
    }
}

enum PieceEvents {
    /// The events the IoT rule makes of a device's messages on its own topic (`thing` = machine id).
    static func piece(_ machineId: String, _ label: String, _ index: Int, _ data: [UInt8]) -> String {
        IoTPieceMessage.piece(machineId: machineId, label: label, index: index, data: data).event(thing: machineId)
    }

    static func end(_ machineId: String, _ label: String, total: Int, sha256: String? = nil) -> String {
        IoTPieceMessage.end(machineId: machineId, label: label, total: total, sha256: sha256, contentType: nil)
            .event(thing: machineId)
    }

    /// The exact body piece storage answers with.
    static func answer(_ pictureId: String, piece: Int, _ status: String) -> LocalRuntimeAPI.Outcome {
        .response(Array("{\"pictureId\":\"\(pictureId)\",\"piece\":\(piece),\"status\":\"\(status)\"}".utf8))
    }

    /// An error post as piece storage makes it: type in the body and in the header.
    static func error(_ type: String, _ message: String) -> LocalRuntimeAPI.Outcome {
        .error(type: type, message: message, headerType: type)
    }

    static func invalid(_ message: String) -> LocalRuntimeAPI.Outcome { error("Tessera.InvalidEvent", message) }
}
