import Foundation
import Testing
import TesseraAWS
import TesseraEvents
import TesseraSupport
import TesseraLocal

/// `piece-storage` as Lambda runs it: a child process polling the local Runtime API, writing to the
/// emulator's DynamoDB and SQS with signature checking on.
struct PieceStorageEndToEndTests {
    @Test func realPhotoOutOfOrderWithDuplicatesThenEnd() throws {
        let stack = try PieceStorageStack()
        let function = try stack.start()[0]
        defer { function.stop() }

        let photo = try Fixtures.bytes("photos/fresh-flower.jpg")
        let size = MalformedPieceEvents.maxPieceBytes
        let pieces = stride(from: 0, to: photo.count, by: size).map { Array(photo[$0..<min($0 + size, photo.count)]) }
        #expect(photo.count == 80_905 && pieces.count == 10)
        let sha = hexString(SHA256.hash(photo))
        let id = "cam-7/fresh-flower"
        func pieceEvent(_ index: Int) -> String { PieceEvents.piece("cam-7", "fresh-flower", index, pieces[index - 1]) }

        // Out of order, piece 4 twice: each answer exactly.
        for (index, status) in [(3, "stored"), (1, "stored"), (10, "stored"), (4, "stored"), (7, "stored"),
                                (2, "stored"), (4, "duplicate"), (9, "stored"), (5, "stored"), (8, "stored"),
                                (6, "stored")] {
            #expect(function.invoke(pieceEvent(index)) == PieceEvents.answer(id, piece: index, status),
                    "piece \(index)\n\(function.process.log)")
        }

        // A different payload for a stored index is refused; the stored piece stays.
        #expect(function.invoke(PieceEvents.piece("cam-7", "fresh-flower", 2, [0, 0, 0]))
            == PieceEvents.error("Tessera.ConflictingPiece", "conflicting piece 2 of cam-7/fresh-flower: a different "
                + "8192-byte piece is already stored and is kept; refused the new 3-byte one"))

        // Every malformed event comes back as an error post naming the field and the rule; the process
        // keeps serving.
        for (what, bytes, expected) in MalformedPieceEvents.allBytes {
            #expect(function.invoke(bytes) == PieceEvents.invalid(expected), "\(what)")
        }
        #expect(function.process.isRunning)

        let end = IoTPieceMessage.end(machineId: "cam-7", label: "fresh-flower", total: 10, sha256: sha,
                                      contentType: "image/jpeg").event(thing: "cam-7")
        #expect(function.invoke(end) == PieceEvents.answer(id, piece: 0, "reassembly-requested"))
        // END again (at-least-once delivery): no second request.
        #expect(function.invoke(end) == PieceEvents.answer(id, piece: 0, "duplicate"))

        let items = try stack.items(id)
        #expect(items.compactMap { $0["piece"]?.int } == Array(0...10))
        #expect(items.dropFirst().flatMap { $0["data"]?.bytes ?? [] } == photo)
        let now = Int(Date().timeIntervalSince1970)
        #expect(items.allSatisfy { (now + 86_300...now + 86_401).contains($0["expiresAt"]?.int ?? 0) })
        #expect(items[0]["total"] == .number(10))
        #expect(items[0]["sha256"] == .s(sha))
        #expect(items[0]["contentType"] == .s("image/jpeg"))
        #expect(items[0]["requested"] == .bool(true))
        #expect(items[0]["claimedUntil"] == nil && items[0]["claimToken"] == nil)

        #expect(try stack.reassemblyRequests()
            == [ReassemblyRequest(machineId: "cam-7", label: "fresh-flower", pieces: 10, sha256: sha)])

        #expect(function.process.isRunning)
        #expect(function.process.terminate().status == 0, "SIGTERM must end the runtime cleanly\n\(function.process.log)")
        // JSON log lines carry the request id.
        let line = function.process.log.split(separator: "\n").first { $0.contains("reassembly requested") }
        let object = try JSONSerialization.jsonObject(with: Data((line ?? "").utf8)) as? [String: String]
        #expect(object?["level"] == "INFO")
        #expect(object?["requestId"]?.isEmpty == false)
    }

    /// Foundation's lax decoder accepted these, and the first write won: the correct piece was then a
    /// conflict. Now they are refused, naming the rule, and the correct piece stores.
    @Test func laxBase64IsRefusedAndTheCorrectPieceStillStores() throws {
        let stack = try PieceStorageStack()
        let function = try stack.start()[0]
        defer { function.stop() }
        for (text, why) in MalformedPieceEvents.badBase64 {
            let event = "{\"thing\":\"cam-2\",\"machine_id\":\"cam-2\",\"label\":\"lax\",\"count\":1,\"data\":\(jsonQuoted(text))}"
            #expect(function.invoke(event) == PieceEvents.invalid(MalformedPieceEvents.base64Rule + why), "\(text.debugDescription)")
        }
        #expect(try stack.items("cam-2/lax").isEmpty)
        #expect(function.invoke(PieceEvents.piece("cam-2", "lax", 1, [0, 1, 2])) == PieceEvents.answer("cam-2/lax", piece: 1, "stored"))
        #expect(function.invoke("{\"thing\":\"cam-2\",\"machine_id\":\"cam-2\",\"label\":\"lax\",\"count\":1,\"data\":\"AAEC\"}")
            == PieceEvents.answer("cam-2/lax", piece: 1, "duplicate"))
        #expect(try stack.items("cam-2/lax").map { $0["data"] } == [.b([0, 1, 2])])
    }

    /// Duplicate keys, invalid UTF-8 and an event larger than any IoT Core message are refused with
    /// the rule named, and nothing is stored.
    @Test func eventsThatCouldMeanTwoThingsAreRefused() throws {
        let stack = try PieceStorageStack()
        let function = try stack.start()[0]
        defer { function.stop() }
        // JavaScript and Python would read count 2; Foundation read 1.
        #expect(function.invoke("{\"machine_id\":\"cam-3\",\"label\":\"dup\",\"count\":1,\"count\":2,\"data\":\"AAEC\"}")
            == PieceEvents.invalid("field `count` appears more than once; events with duplicate keys are refused"))
        #expect(function.invoke("{\"machine_id\":\"cam-3\",\"label\":\"dup\",\"count\":1,\"data\":\"AAEC\",\"x\":{\"y\":[1,{\"z\":1,\"z\":1}]}}")
            == PieceEvents.invalid("field `x.y[1].z` appears more than once; events with duplicate keys are refused"))
        #expect(function.invoke(Array("{\"machine_id\":\"cam-3\",\"label\":\"dup".utf8) + [0xC3, 0x28]
                + Array("\",\"count\":1,\"data\":\"AAEC\"}".utf8))
            == PieceEvents.invalid("event is not valid UTF-8 at byte 34: 0xC3 0x28 is not followed by a continuation byte (0x80-0xBF)"))
        // One byte over the limit, whatever it holds: refused before it is parsed.
        let limit = "over the 131211-byte limit (128 KB, the most an AWS IoT Core message carries, and the 139 bytes of "
            + "the `thing` the topic rule adds)"
        let huge = "{\"thing\":\"cam-3\",\"machine_id\":\"cam-3\",\"label\":\"dup\",\"count\":1,\"data\":\"AAEC\"}"
        let oversized = Array(huge.utf8) + [UInt8](repeating: 0x20, count: 131_212 - huge.utf8.count)
        #expect(function.invoke(oversized) == PieceEvents.invalid("event is 131212 bytes, \(limit)"))
        #expect(function.invoke([UInt8](repeating: 0xFF, count: 200_000)) == PieceEvents.invalid("event is 200000 bytes, \(limit)"))
        #expect(try stack.items("cam-3/dup").isEmpty)
        // Exactly the limit is read.
        #expect(function.invoke(Array(huge.utf8) + [UInt8](repeating: 0x20, count: 131_211 - huge.utf8.count))
            == PieceEvents.answer("cam-3/dup", piece: 1, "stored"))
        #expect(function.process.isRunning)
    }

    /// Device cam-a (its connection's thing, the rule's `thing`) sending as cam-b: pieces, a conflicting
    /// piece planted first, END. Each is refused naming both, nothing is stored or requested, and cam-b's
    /// own picture then goes through untouched.
    @Test func aDeviceCannotSendAsAnother() throws {
        let stack = try PieceStorageStack()
        let function = try stack.start()[0]
        defer { function.stop() }
        let id = "cam-b/photo"
        let refusal = PieceEvents.invalid(MalformedPieceEvents.impersonation(machineId: "cam-b", thing: "cam-a"))
        func asCamA(_ message: IoTPieceMessage) -> String { message.event(thing: "cam-a") }

        // A piece planted first (it would make cam-b's own piece 1 a conflict), another, and END.
        #expect(function.invoke(asCamA(.piece(machineId: "cam-b", label: "photo", index: 1, data: [9, 9, 9]))) == refusal)
        #expect(function.invoke(asCamA(.piece(machineId: "cam-b", label: "photo", index: 2, data: [2]))) == refusal)
        #expect(function.invoke(asCamA(.end(machineId: "cam-b", label: "photo", total: 2, sha256: nil, contentType: nil)))
            == refusal)
        // Spellings that are not cam-a's own: other case, a look-alike canonically equal to "cam-K".
        #expect(function.invoke(PieceEvents.piece("cam-b", "photo", 1, [1]).replacingOccurrences(of: #""thing":"cam-b""#,
                                                                                              with: #""thing":"CAM-B""#))
            == PieceEvents.invalid(MalformedPieceEvents.impersonation(machineId: "cam-b", thing: "CAM-B")))
        #expect(function.invoke(PieceEvents.piece("cam-K", "photo", 1, [1]).replacingOccurrences(of: #""thing":"cam-K""#,
                                                                                              with: "\"thing\":\"cam-\u{212A}\""))
            == PieceEvents.invalid(MalformedPieceEvents.impersonation(machineId: "cam-K", thing: "cam-\\u{212A}")))
        #expect(try stack.items(id).isEmpty, "nothing stored for cam-b")
        #expect(try stack.items("cam-K/photo").isEmpty)
        #expect(try stack.drainQueue().isEmpty, "no reassembly requested")

        // cam-b itself: its pieces store (no planted conflict), its END asks for reassembly.
        #expect(function.invoke(PieceEvents.piece("cam-b", "photo", 1, [1])) == PieceEvents.answer(id, piece: 1, "stored"))
        #expect(function.invoke(PieceEvents.piece("cam-b", "photo", 2, [2])) == PieceEvents.answer(id, piece: 2, "stored"))
        #expect(function.invoke(PieceEvents.end("cam-b", "photo", total: 2)) == PieceEvents.answer(id, piece: 0, "reassembly-requested"))
        #expect(try stack.items(id).compactMap { $0["piece"]?.int } == [0, 1, 2])
        #expect(try stack.reassemblyRequests() == [ReassemblyRequest(machineId: "cam-b", label: "photo", pieces: 2, sha256: nil)])
        #expect(function.process.log.contains("differs from `thing` \\\"cam-a\\\""), "the refusal is logged")
    }

    @Test func pieceAboveTheRecordedTotalIsRefused() throws {
        let stack = try PieceStorageStack()
        let function = try stack.start()[0]
        defer { function.stop() }
        let id = "cam-4/short"
        #expect(function.invoke(PieceEvents.piece("cam-4", "short", 3, [3])) == PieceEvents.answer(id, piece: 3, "stored"),
                "before END the total is unknown")
        #expect(function.invoke(PieceEvents.end("cam-4", "short", total: 2)) == PieceEvents.answer(id, piece: 0, "reassembly-requested"))
        #expect(function.invoke(PieceEvents.piece("cam-4", "short", 4, [4]))
            == PieceEvents.invalid("field `count` must be between 1 and 2, the total the END of cam-4/short recorded, got 4"))
        #expect(function.invoke(PieceEvents.piece("cam-4", "short", 3, [3]))
            == PieceEvents.invalid("field `count` must be between 1 and 2, the total the END of cam-4/short recorded, got 3"))
        #expect(function.invoke(PieceEvents.piece("cam-4", "short", 2, [2])) == PieceEvents.answer(id, piece: 2, "stored"))
        #expect(function.invoke(PieceEvents.piece("cam-4", "short", 2, [2])) == PieceEvents.answer(id, piece: 2, "duplicate"))
        #expect(try stack.items(id).compactMap { $0["piece"]?.int } == [0, 2, 3])
    }

    /// The reassembler deletes a picture's items (END record included) once its original is in S3. A
    /// late END then starts over with a whole record (total, expiresAt), never the bare `requested`
    /// mark earlier versions left, which blocked the label for good; such a leftover is replaced.
    @Test func endAfterTheRecordWasDeletedStartsOverWithAWholeRecord() throws {
        let stack = try PieceStorageStack()
        let function = try stack.start()[0]
        defer { function.stop() }
        let id = "cam-5/again"
        #expect(function.invoke(PieceEvents.piece("cam-5", "again", 1, [1])) == PieceEvents.answer(id, piece: 1, "stored"))
        #expect(function.invoke(PieceEvents.end("cam-5", "again", total: 1)) == PieceEvents.answer(id, piece: 0, "reassembly-requested"))
        for piece in [0, 1] {
            try stack.db.deleteItem(table: stack.table, key: ["pictureId": .s(id), "piece": .number(piece)])
        }
        // Redelivered after the reassembly: a new request (the reassembler finds the work done).
        #expect(function.invoke(PieceEvents.end("cam-5", "again", total: 1)) == PieceEvents.answer(id, piece: 0, "reassembly-requested"))
        let record = try #require(try stack.items(id).first)
        #expect(record["total"] == .number(1) && record["requested"] == .bool(true) && record["expiresAt"] != nil)

        // What the unconditional mark used to leave: piece 0 with `requested` and nothing else.
        try stack.db.putItem(table: stack.table, item: ["pictureId": .s("cam-5/stuck"), "piece": .number(0),
                                                        "requested": .bool(true)])
        #expect(function.invoke(PieceEvents.end("cam-5", "stuck", total: 3))
            == PieceEvents.answer("cam-5/stuck", piece: 0, "reassembly-requested"))
        let healed = try #require(try stack.items("cam-5/stuck").first)
        #expect(healed["total"] == .number(3) && healed["requested"] == .bool(true))
        #expect((healed["expiresAt"]?.int ?? 0) > Int(Date().timeIntervalSince1970) + 86_000)
        #expect(try stack.reassemblyRequests().map { "\($0.label)/\($0.pieces)" }.sorted() == ["again/1", "again/1", "stuck/3"])
    }

    @Test(arguments: [
        ("PIECES_TABLE", nil, "environment variable PIECES_TABLE is not set"),
        ("MAX_PIECES", "lots", "environment variable MAX_PIECES must be a whole number, got \"lots\""),
        ("MAX_PIECE_BYTES", "500000", "environment variable MAX_PIECE_BYTES must be between 1 and 98070, got 500000: "
            + "a larger piece's base64 and JSON (identifiers of up to 128 characters) cannot fit one 128 KB AWS IoT Core message"),
        ("MAX_PIECE_BYTES", "98071", "environment variable MAX_PIECE_BYTES must be between 1 and 98070, got 98071: "
            + "a larger piece's base64 and JSON (identifiers of up to 128 characters) cannot fit one 128 KB AWS IoT Core message"),
        ("MAX_PIECE_BYTES", "0", "environment variable MAX_PIECE_BYTES must be between 1 and 98070, got 0: "
            + "a larger piece's base64 and JSON (identifiers of up to 128 characters) cannot fit one 128 KB AWS IoT Core message"),
        ("REASSEMBLY_QUEUE_URL", "reassembly", "environment variable REASSEMBLY_QUEUE_URL must be an SQS queue URL, got \"reassembly\""),
    ] as [(String, String?, String)])
    func configurationErrorIsAnInitErrorNamingTheVariable(_ variable: String, _ value: String?, _ expected: String) throws {
        let api = try LocalRuntimeAPI()
        defer { api.stop() }
        var env = Emulator.variables
        env["AWS_LAMBDA_RUNTIME_API"] = api.endpoint
        env["PIECES_TABLE"] = "t"
        env["REASSEMBLY_QUEUE_URL"] = "http://127.0.0.1:1/123456789012/q"
        env[variable] = value
        let function = try FunctionProcess.start("piece-storage", environment: env)
        let outcome = api.waitForInitError(timeout: 10)
        #expect(outcome == .error(type: "Runtime.ConfigurationError", message: expected, headerType: "Runtime.ConfigurationError"),
                "\(function.log)")
        #expect(function.waitForExit()?.status == 1)
        // LocalRuntimeAPI's `written` hook holds it `unowned` and runs after the 202 went out, which the
        // function may read and exit on first: released at once, the API can be gone under that hook.
        usleep(100_000)
        withExtendedLifetime(api) {}
    }
}
