import Foundation
import Testing
import TesseraAWS
import TesseraEvents
import TesseraLocal
import TesseraSupport

/// Identity comes from the connection, never the message: the local stack as `tessera local up` runs it
/// (the real mosquitto enforcing the template's DevicePolicy, the template's rule, the real piece-storage
/// binaries, the emulator), with two devices.
struct DeviceIdentityTests {
    /// Lines the stack logs, kept for the test.
    final class Lines: @unchecked Sendable {
        private let lock = NSLock()
        private var lines: [String] = []
        func add(_ line: String) { lock.withLock { lines.append(line) } }
        var all: [String] { lock.withLock { lines } }
    }

    static func eventually(_ seconds: Double, _ condition: () throws -> Bool) rethrows -> Bool {
        let limit = Date().addingTimeInterval(seconds)
        while Date() < limit {
            if try condition() { return true }
            usleep(50_000)
        }
        return try condition()
    }

    @Test func aDeviceSendsOnlyAsItselfThroughTheLocalBroker() throws {
        let root = LocalTemplateTests.root
        let state = NSTemporaryDirectory() + "tessera-identity-\(UUID().uuidString)"
        let lines = Lines()
        let up = try LocalUp(template: root.appendingPathComponent("template.yaml").path, apiPort: 0,
                             emulator: root.appendingPathComponent(".venv/bin/moto_server").path, stateDirectory: state,
                             code: .buildProducts(FunctionProcess.binDirectory.path), log: { lines.add($0) })
        defer {
            up.stop()
            try? FileManager.default.removeItem(atPath: state)
        }
        #expect(up.devicePublishPatterns == ["tessera/pieces/%c"])
        let aws = AWSClient(config: try AWSConfig.fromEnvironment(Environment(up.environment)))
        let db = DynamoDBClient(aws: aws)
        let table = try #require(up.environment["PIECES_TABLE"])
        func items(_ pictureId: String) throws -> [Item] {
            try db.queryAll(table: table, keyCondition: .init("#id = :id", names: ["#id": "pictureId"],
                                                              values: [":id": .s(pictureId)]), consistentRead: true)
        }
        func payload(_ message: IoTPieceMessage) -> [UInt8] { Array(message.json.utf8) }

        let camA = try MQTTClient(broker: up.mqttAddress, clientId: "cam-a")
        defer { camA.disconnect() }
        // (1) cam-a publishes on cam-b's topic, in cam-b's name: a piece, and END. Each publish returns once
        // the broker acknowledged it (PUBACK); with MQTT 3.1.1 the broker then drops it without a word.
        try camA.publish(topic: "tessera/pieces/cam-b",
                         payload: payload(.piece(machineId: "cam-b", label: "planted", index: 1, data: [6, 6, 6])))
        try camA.publish(topic: "tessera/pieces/cam-b",
                         payload: payload(.end(machineId: "cam-b", label: "planted", total: 1, sha256: nil, contentType: nil)))
        // (2) cam-a on its own topic, in cam-b's name: the rule's thing is cam-a; piece-storage refuses it.
        try camA.publish(topic: "tessera/pieces/cam-a",
                         payload: payload(.piece(machineId: "cam-b", label: "claimed", index: 1, data: [7, 7, 7])))
        // (2b) The same with a `thing` of its own in the message: the rule never selects it.
        try camA.publish(topic: "tessera/pieces/cam-a",
                         payload: Array(#"{"thing":"cam-b","machine_id":"cam-b","label":"claimed","count":2,"data":"AAEC"}"#.utf8))
        // (3) cam-a as itself, after the others on the same connection: it goes through.
        try camA.publish(topic: "tessera/pieces/cam-a",
                         payload: payload(.piece(machineId: "cam-a", label: "own", index: 1, data: [1, 2, 3])))

        let refusal = "[iot-rule] piece-storage failed: Tessera.InvalidEvent: "
            + MalformedPieceEvents.impersonation(machineId: "cam-b", thing: "cam-a")
        #expect(try Self.eventually(30) { try !items("cam-a/own").isEmpty }, "cam-a's own piece was not stored:\n\(lines.all.joined(separator: "\n"))")
        // Each refusal is a function error, which Lambda retries twice more for an asynchronous event, a
        // minute and two later (under the same request id): only the first attempts fall within the test.
        #expect(Self.eventually(30) { lines.all.filter { $0 == refusal }.count == 2 }, "\(lines.all.joined(separator: "\n"))")
        // Bounded wait for anything late: the broker forwards one connection's messages in order, so (1)
        // would have reached the rules before (3) did; 2 s more for piece-storage's four instances.
        sleepSeconds(2)
        // No piece and no END record (piece 0) for cam-b.
        #expect(try items("cam-b/planted").isEmpty, "nothing stored for cam-b by cam-a")
        #expect(try items("cam-b/claimed").isEmpty)
        // piece-storage got exactly three invocations, (2), (2b) and (3): every invocation logs a line with its
        // request id (the piece stored, or the error), and (1) never reached it.
        let log = try String(contentsOfFile: state + "/logs/piece-storage.log", encoding: .utf8)
        let requests = Set(log.split(separator: "\n").compactMap { line -> String? in
            let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            return (object?["requestId"] as? String).flatMap { $0 == "-" ? nil : $0 }
        })
        #expect(requests.count == 3, "piece-storage invocations: \(requests.count)\n\(log)")
        #expect(!log.contains("planted"), "\(log)")

        // cam-b itself sends that picture: its piece is stored, no planted piece to conflict with.
        let camB = try MQTTClient(broker: up.mqttAddress, clientId: "cam-b")
        defer { camB.disconnect() }
        try camB.publish(topic: "tessera/pieces/cam-b",
                         payload: payload(.piece(machineId: "cam-b", label: "planted", index: 1, data: [1])))
        #expect(try Self.eventually(30) { try items("cam-b/planted").first?["data"] == .b([1]) },
                "\(lines.all.joined(separator: "\n"))")
        #expect(!lines.all.contains { $0.contains("ConflictingPiece") }, "\(lines.all.joined(separator: "\n"))")
    }
}
