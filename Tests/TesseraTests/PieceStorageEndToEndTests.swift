import Foundation
import Testing
import TesseraAWS
import TesseraEvents
import TesseraHTTP
import TesseraImaging
import TesseraPictures
import TesseraRuntime
import TesseraSupport
import TesseraLocal

/// `piece-storage` as Lambda runs it: a child process polling the local Runtime API, writing to the
/// emulator's DynamoDB and SQS with signature checking on.
struct PieceStorageEndToEndTests {
    func environment(api: LocalRuntimeAPI, table: String, queue: String) -> [String: String] {
        var env = Emulator.variables
        env["AWS_LAMBDA_RUNTIME_API"] = api.endpoint
        env["PIECES_TABLE"] = table
        env["REASSEMBLY_QUEUE_URL"] = queue
        env["MAX_PIECES"] = String(MalformedPieceEvents.maxPieces)
        env["MAX_PIECE_BYTES"] = String(MalformedPieceEvents.maxPieceBytes)
        env["AWS_LAMBDA_LOG_FORMAT"] = "JSON"
        return env
    }

    func event(_ fields: [String: Any]) -> [UInt8] {
        Array(MalformedPieceEvents.json(fields).utf8)
    }

    @Test func realPhotoOutOfOrderWithDuplicatesThenEnd() throws {
        let aws = try Emulator.client()
        let db = DynamoDBClient(aws: aws)
        let sqs = SQSClient(aws: aws)
        let table = Emulator.uniqueName("pieces")
        try db.createTable(.init(name: table, partitionKey: ("pictureId", "S"), sortKey: ("piece", "N")))
        try db.enableTimeToLive(table: table, attribute: "expiresAt")
        let queue = try sqs.createQueue(name: Emulator.uniqueName("reassembly"))
        let api = try LocalRuntimeAPI()
        defer { api.stop() }
        let function = try FunctionProcess.start("piece-storage", environment: environment(api: api, table: table, queue: queue))
        defer { function.terminate() }

        let photo = try Fixtures.bytes("photos/fresh-flower.jpg")
        let size = MalformedPieceEvents.maxPieceBytes
        let pieces = stride(from: 0, to: photo.count, by: size).map { Array(photo[$0..<min($0 + size, photo.count)]) }
        #expect(pieces.count == 10)
        let sha = hexString(SHA256.hash(photo))
        func pieceEvent(_ index: Int) -> [UInt8] {
            event(["machine_id": "cam-7", "label": "fresh-flower", "count": index,
                   "data": Data(pieces[index - 1]).base64EncodedString()])
        }

        // Out of order, piece 4 twice.
        var statuses: [Int: [String]] = [:]
        for index in [3, 1, 10, 4, 7, 2, 4, 9, 5, 8, 6] {
            let outcome = api.invoke(pieceEvent(index))
            guard case let .response(body)? = outcome else {
                Issue.record("piece \(index): \(String(describing: outcome))\n\(function.log)")
                return
            }
            let status = try JSONSerialization.jsonObject(with: Data(body)) as! [String: Any]
            statuses[index, default: []].append(status["status"] as! String)
        }
        #expect(statuses[4] == ["stored", "duplicate"])
        #expect(statuses.filter { $0.key != 4 }.values.allSatisfy { $0 == ["stored"] })

        // A different payload for a stored index is refused; the stored piece stays.
        let conflict = api.invoke(event(["machine_id": "cam-7", "label": "fresh-flower", "count": 2, "data": "AAAA"]))
        guard case let .error(type, message, headerType)? = conflict else {
            Issue.record("conflicting piece accepted: \(String(describing: conflict))")
            return
        }
        #expect(type == "Tessera.ConflictingPiece" && headerType == "Tessera.ConflictingPiece")
        #expect(message.contains("conflicting piece 2 of cam-7/fresh-flower"))

        // Every malformed event comes back as an error posting; the process keeps serving.
        for (what, text, expected) in MalformedPieceEvents.all {
            let outcome = api.invoke(Array(text.utf8))
            guard case let .error(type, message, _)? = outcome else {
                Issue.record("\(what): \(String(describing: outcome))")
                continue
            }
            #expect(type == "Tessera.InvalidEvent", "\(what)")
            #expect(message.contains(expected), "\(what): \(message)")
        }
        #expect(function.isRunning)

        let end = event(["machine_id": "cam-7", "label": "fresh-flower", "count": 10, "data": "END",
                         "sha256": sha, "content_type": "image/jpeg"])
        #expect(api.invoke(end).map { "\($0)".contains("reassembly-requested") } == true)
        // END again (at-least-once delivery): no second request.
        #expect(api.invoke(end).map { "\($0)".contains("\"status\":\"duplicate\"") } == true)

        let items = try db.queryAll(table: table, keyCondition: .init(
            "#id = :id", names: ["#id": "pictureId"], values: [":id": .s("cam-7/fresh-flower")]), consistentRead: true)
        #expect(items.compactMap { $0["piece"]?.int } == Array(0...10))
        #expect(items.dropFirst().flatMap { $0["data"]?.bytes ?? [] } == photo)
        #expect(items.allSatisfy { ($0["expiresAt"]?.int ?? 0) > Int(Date().timeIntervalSince1970) + 86_000 })
        #expect(items[0]["total"] == .number(10))
        #expect(items[0]["sha256"] == .s(sha))

        let messages = try sqs.receiveMessages(queueURL: queue, max: 10, waitSeconds: 1)
        #expect(messages.count == 1)
        let request = try JSONDecoder().decode(ReassemblyRequest.self, from: Data(messages[0].Body.utf8))
        #expect(request == ReassemblyRequest(machineId: "cam-7", label: "fresh-flower", pieces: 10, sha256: sha))

        #expect(function.isRunning)
        #expect(function.terminate().status == 0, "SIGTERM must end the runtime cleanly\n\(function.log)")
        // JSON log lines carry the request id.
        let line = function.log.split(separator: "\n").first { $0.contains("reassembly requested") }
        let object = try JSONSerialization.jsonObject(with: Data((line ?? "").utf8)) as? [String: String]
        #expect(object?["level"] == "INFO")
        #expect(object?["requestId"]?.isEmpty == false)
    }

    @Test(arguments: [
        ("PIECES_TABLE", nil, "environment variable PIECES_TABLE is not set"),
        ("MAX_PIECES", "lots", "environment variable MAX_PIECES must be a whole number"),
        ("MAX_PIECE_BYTES", "500000", "MAX_PIECE_BYTES must be between 1 and 399000"),
        ("REASSEMBLY_QUEUE_URL", "reassembly", "REASSEMBLY_QUEUE_URL must be an SQS queue URL"),
    ] as [(String, String?, String)])
    func configurationErrorIsAnInitErrorNamingTheVariable(_ variable: String, _ value: String?, _ expected: String) throws {
        let api = try LocalRuntimeAPI()
        defer { api.stop() }
        var env = environment(api: api, table: "t", queue: "http://127.0.0.1:1/123456789012/q")
        env[variable] = value
        let function = try FunctionProcess.start("piece-storage", environment: env)
        let outcome = api.waitForInitError(timeout: 10)
        guard case let .error(type, message, headerType)? = outcome else {
            Issue.record("no init error: \(String(describing: outcome))\n\(function.log)")
            return
        }
        #expect(type == "Runtime.ConfigurationError" && headerType == type)
        #expect(message.contains(expected), "\(message)")
        #expect(function.waitForExit()?.status == 1)
    }
}
