import Foundation
import Testing
@testable import TesseraEvents
import TesseraPictures
import TesseraSupport

struct IoTPieceMessageTests {
    let limits = IoTPieceMessage.Limits(maxPieces: MalformedPieceEvents.maxPieces,
                                        maxPieceBytes: MalformedPieceEvents.maxPieceBytes)

    func parse(_ event: String, limits: IoTPieceMessage.Limits? = nil) throws -> IoTPieceMessage {
        try IoTPieceMessage.parse(Array(event.utf8), limits: limits ?? self.limits)
    }

    /// The error `event` is refused with, or nil when it is accepted; any other error is recorded.
    func refusal(_ event: [UInt8], limits: IoTPieceMessage.Limits? = nil) -> EventError? {
        do {
            _ = try IoTPieceMessage.parse(event, limits: limits ?? self.limits)
            return nil
        } catch let error as EventError {
            #expect(error.errorType == "Tessera.InvalidEvent")
            return error
        } catch {
            Issue.record("not an EventError: \(type(of: error)): \(error)")
            return nil
        }
    }

    @Test func parsesAPiece() throws {
        #expect(try parse(MalformedPieceEvents.with(["count": 3]))
            == .piece(machineId: "cam-1", label: "bad-input", index: 3, data: [0, 1, 2]))
    }

    @Test func parsesEndWithChecksumAndType() throws {
        let sha = String(repeating: "AB", count: 32)
        let event = MalformedPieceEvents.with(["data": "END", "count": 7, "sha256": sha, "content_type": "image/JPEG"])
        #expect(try parse(event)
            == .end(machineId: "cam-1", label: "bad-input", total: 7, sha256: sha.lowercased(), contentType: "image/jpeg"))
    }

    @Test func endWithoutOptionalFields() throws {
        #expect(try parse(MalformedPieceEvents.with(["data": "END", "count": 2]))
            == .end(machineId: "cam-1", label: "bad-input", total: 2, sha256: nil, contentType: nil))
    }

    @Test func pieceOfExactlyTheLimitIsAccepted() throws {
        let bytes = (0..<8192).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        #expect(try parse(MalformedPieceEvents.with(["data": Data(bytes).base64EncodedString()]))
            == .piece(machineId: "cam-1", label: "bad-input", index: 1, data: bytes))
    }

    @Test func malformedEventNamesAreDistinct() {
        let names = MalformedPieceEvents.allBytes.map(\.0)
        #expect(Set(names).count == names.count)
    }

    @Test(arguments: MalformedPieceEvents.allBytes.map(\.0))
    func refusesNamingTheFieldAndTheRule(_ name: String) throws {
        let (_, event, expected) = try #require(MalformedPieceEvents.allBytes.first { $0.0 == name })
        #expect(refusal(event)?.description == expected)
    }

    @Test func canonicalBase64IsAccepted() throws {
        for (text, bytes) in MalformedPieceEvents.goodBase64 {
            #expect(try parse(MalformedPieceEvents.with(["data": text]))
                == .piece(machineId: "cam-1", label: "bad-input", index: 1, data: bytes), "\(text)")
        }
    }

    /// Over every 4-character text of a small alphabet (with padding, URL-safe and whitespace
    /// characters), strict decoding accepts exactly the texts that are the canonical encoding of what
    /// they decode to, and decodes them as Foundation does.
    @Test func strictBase64AcceptsExactlyTheCanonicalTexts() {
        let alphabet = Array("ABQg/+=-_ ")
        var accepted = 0
        for a in alphabet { for b in alphabet { for c in alphabet { for d in alphabet {
            let text = String([a, b, c, d])
            let strict = try? StrictBase64.decode(text.utf8)
            let lax = Data(base64Encoded: text)
            let canonical = lax.map { $0.base64EncodedString() == text } ?? false
            #expect((strict != nil) == canonical, "\(text.debugDescription)")
            if let strict, let lax { #expect(strict == [UInt8](lax)) }
            if strict != nil { accepted += 1 }
        } } } }
        // 6 data characters: 6^4 whole quanta; 'A' and 'Q' and 'g' end "xx==" canonically (low 4 bits 0:
        // A=0, Q=16, g=32): 6*3; "xxx=" with 'A', 'Q', 'g' (low 2 bits 0) as third: 6*6*3.
        #expect(accepted == 1296 + 18 + 108)
    }

    @Test func strictBase64EncodesAsFoundationDoes() throws {
        var generator = SystemRandomNumberGenerator()
        for length in 0...100 {
            let bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &generator) }
            let text = StrictBase64.encode(bytes)
            #expect(text == Data(bytes).base64EncodedString())
            #expect(try StrictBase64.decode(text.utf8) == bytes)
        }
    }

    @Test func wholeNumbersInAnyNotationAreCounts() throws {
        for text in ["3", "3.0", "3e0", "30e-1", "0.3e1", "3.000", "300E-2"] {
            let event = "{\"machine_id\":\"m\",\"label\":\"l\",\"count\":\(text),\"data\":\"AAEC\"}"
            #expect(try parse(event) == .piece(machineId: "m", label: "l", index: 3, data: [0, 1, 2]), "\(text)")
        }
        let fraction = "{\"machine_id\":\"m\",\"label\":\"l\",\"count\":3.0000000000000000001,\"data\":\"AAEC\"}"
        #expect(refusal(Array(fraction.utf8))?.description == "field `count` must be a whole number, got 3.0")
    }

    @Test func unicodeInOtherFieldsIsRead() throws {
        let event = "{\"machine_id\":\"m\",\"label\":\"l\",\"count\":1,\"data\":\"AAEC\","
            + "\"note\":\"café ☕ 𝄞 \\u00e9 \\ud834\\udd1e \\\"\\\\\\/\\b\\f\\n\\r\\t\",\"nested\":{\"a\":[1,-2.5e3,true,false,null,{}]}}"
        #expect(try parse(event) == .piece(machineId: "m", label: "l", index: 1, data: [0, 1, 2]))
        let value = try JSONValue.parse(Array(event.utf8))
        guard case let .object(fields) = value else { Issue.record("not an object"); return }
        #expect(fields["note"] == .string("café ☕ 𝄞 é 𝄞 \"\\/\u{8}\u{c}\n\r\t"))
        #expect(fields["nested"] == .object(["a": .array([.integer(1), .integer(-2500), .bool(true), .bool(false), .null, .object([:])])]))
    }

    /// Where the documents are valid and keys unique, the strict reader agrees with Foundation's.
    @Test func strictJSONAgreesWithFoundationOnValidDocuments() throws {
        let documents = [
            "{}", "[]", "0", "-0", "1.5", "-1e-7", "\"\"", "[1,[2,[3,[4]]]]", " {\"a\" : [ true , null ] } ",
            "{\"k\":\"\\u0041\\u00df\\u6771\\ud83d\\ude00\"}", "9223372036854775807", "9223372036854775808",
            "{\"big\":1e308,\"small\":-2.2250738585072014e-308}",
        ]
        for text in documents {
            let foundation = try JSONDecoder().decode(JSONValue.self, from: Data(text.utf8))
            #expect(try JSONValue.parse(Array(text.utf8)) == foundation, "\(text)")
        }
    }

    @Test func eventOverTheIoTLimitIsRefusedBeforeParsing() {
        let rule = "over the 131072-byte limit (128 KB, the most an AWS IoT Core message carries)"
        let piece = Array(MalformedPieceEvents.with([:]).utf8)
        let padded = piece + [UInt8](repeating: 0x20, count: 131_072 - piece.count)
        #expect(refusal(padded) == nil, "exactly 128 KB is read")
        #expect(refusal(padded + [0x20])?.description == "event is 131073 bytes, \(rule)")
        // Not UTF-8 and not JSON either: the size is what is reported, so nothing was parsed.
        #expect(refusal([UInt8](repeating: 0xFF, count: 131_073))?.description == "event is 131073 bytes, \(rule)")
        #expect(refusal([UInt8](repeating: 0x5B, count: 1_000_000))?.description == "event is 1000000 bytes, \(rule)")
    }

    /// The MAX_PIECE_BYTES ceiling: the largest piece whose message fits 128 KB with both identifiers
    /// at 128 characters and a 6-digit count; one byte more does not fit.
    @Test func pieceBytesCeilingFitsOneIoTMessage() throws {
        #expect(IoTPieceMessage.maxPieceBytesCeiling == 98_070)
        #expect(PieceStorageConfig.pieceBytesCeiling == 98_070)
        let limits = IoTPieceMessage.Limits(maxPieces: 100_000, maxPieceBytes: IoTPieceMessage.maxPieceBytesCeiling)
        let machine = String(repeating: "m", count: 128)
        let label = String(repeating: "l", count: 128)
        let largest = [UInt8](repeating: 0xA5, count: 98_070)
        let message = IoTPieceMessage.piece(machineId: machine, label: label, index: 100_000, data: largest)
        let json = Array(message.json.utf8)
        #expect(json.count - StrictBase64.encode(largest).utf8.count == IoTPieceMessage.maxEnvelopeBytes)
        #expect(json.count == 131_069)
        #expect(try IoTPieceMessage.parse(json, limits: limits) == message)
        let tooLarge = IoTPieceMessage.piece(machineId: machine, label: label, index: 100_000, data: largest + [0])
        #expect(tooLarge.json.utf8.count == 131_073)
        #expect(refusal(Array(tooLarge.json.utf8), limits: limits)?.description
            == "event is 131073 bytes, over the 131072-byte limit (128 KB, the most an AWS IoT Core message carries)")
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
