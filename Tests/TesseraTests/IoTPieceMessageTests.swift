import Foundation
import Testing
import TesseraAWS
import TesseraEvents
import TesseraHTTP
import TesseraImaging
import TesseraPictures
import TesseraRuntime
import TesseraSupport

struct IoTPieceMessageTests {
    let limits = IoTPieceMessage.Limits(maxPieces: MalformedPieceEvents.maxPieces,
                                        maxPieceBytes: MalformedPieceEvents.maxPieceBytes)

    @Test func parsesAPiece() throws {
        let message = try IoTPieceMessage.parse(Array(MalformedPieceEvents.with(["count": 3]).utf8), limits: limits)
        #expect(message == .piece(machineId: "cam-1", label: "bad-input", index: 3, data: [0, 1, 2]))
    }

    @Test func parsesEndWithChecksumAndType() throws {
        let sha = String(repeating: "AB", count: 32)
        let event = MalformedPieceEvents.with(["data": "END", "count": 7, "sha256": sha, "content_type": "image/JPEG"])
        #expect(try IoTPieceMessage.parse(Array(event.utf8), limits: limits)
            == .end(machineId: "cam-1", label: "bad-input", total: 7, sha256: sha.lowercased(), contentType: "image/jpeg"))
    }

    @Test func endWithoutOptionalFields() throws {
        let event = MalformedPieceEvents.with(["data": "END", "count": 2])
        #expect(try IoTPieceMessage.parse(Array(event.utf8), limits: limits)
            == .end(machineId: "cam-1", label: "bad-input", total: 2, sha256: nil, contentType: nil))
    }

    @Test func pieceOfExactlyTheLimitIsAccepted() throws {
        let event = MalformedPieceEvents.with(["data": Data(count: 8192).base64EncodedString()])
        guard case let .piece(_, _, _, data) = try IoTPieceMessage.parse(Array(event.utf8), limits: limits) else {
            Issue.record("expected a piece")
            return
        }
        #expect(data.count == 8192)
    }

    @Test(arguments: MalformedPieceEvents.all.map(\.0))
    func refusesWithTheFieldNamed(_ name: String) {
        let found = MalformedPieceEvents.all.first { $0.0 == name }!
        let testCase = [found.0, found.1, found.2]
        do {
            _ = try IoTPieceMessage.parse(Array(testCase[1].utf8), limits: limits)
            Issue.record("\(testCase[0]): accepted")
        } catch let error as EventError {
            #expect(error.description.contains(testCase[2]), "\(testCase[0]): \(error)")
            #expect(error.errorType == "Tessera.InvalidEvent")
        } catch {
            Issue.record("\(testCase[0]): unexpected \(error)")
        }
    }
}

struct PieceSplittingTests {
    @Test func splitThenParseGivesThePictureBack() throws {
        let photo = try Fixtures.bytes("photos/fresh-flower.jpg")
        let messages = IoTPieceMessage.split(photo, machineId: "cam-1", label: "flower", pieceBytes: 8192)
        #expect(messages.count == 11)
        let limits = IoTPieceMessage.Limits(maxPieces: 100, maxPieceBytes: 8192)
        let parsed = try messages.map { try IoTPieceMessage.parse(Array($0.json.utf8), limits: limits) }
        #expect(parsed == messages)
        let joined = parsed.flatMap { message -> [UInt8] in
            if case let .piece(_, _, _, data) = message { return data }
            return []
        }
        #expect(joined == photo)
        #expect(parsed.last == .end(machineId: "cam-1", label: "flower", total: 10,
                                    sha256: hexString(SHA256.hash(photo)), contentType: "image/jpeg"))
    }
}
