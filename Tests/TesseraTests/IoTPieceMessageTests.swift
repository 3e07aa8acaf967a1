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
            let event = "{\"thing\":\"m\",\"machine_id\":\"m\",\"label\":\"l\",\"count\":\(text),\"data\":\"AAEC\"}"
            #expect(try parse(event) == .piece(machineId: "m", label: "l", index: 3, data: [0, 1, 2]), "\(text)")
        }
        let fraction = "{\"thing\":\"m\",\"machine_id\":\"m\",\"label\":\"l\",\"count\":3.0000000000000000001,\"data\":\"AAEC\"}"
        #expect(refusal(Array(fraction.utf8))?.description == "field `count` must be a whole number, got 3.0")
    }

    @Test func unicodeInOtherFieldsIsRead() throws {
        let event = "{\"machine_id\":\"m\",\"label\":\"l\",\"count\":1,\"data\":\"AAEC\",\"thing\":\"m\","
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
        // An IoT Core message (128 KB at most) plus the `thing` the rule adds (139 bytes at most).
        #expect(IoTPieceMessage.maxEventBytes == 131_211)
        let rule = "over the 131211-byte limit (128 KB, the most an AWS IoT Core message carries, and the 139 bytes of "
            + "the `thing` the topic rule adds)"
        let piece = Array(MalformedPieceEvents.with([:]).utf8)
        let padded = piece + [UInt8](repeating: 0x20, count: 131_211 - piece.count)
        #expect(refusal(padded) == nil, "exactly the limit is read")
        #expect(refusal(padded + [0x20])?.description == "event is 131212 bytes, \(rule)")
        // Not UTF-8 and not JSON either: the size is what is reported, so nothing was parsed.
        #expect(refusal([UInt8](repeating: 0xFF, count: 131_212))?.description == "event is 131212 bytes, \(rule)")
        #expect(refusal([UInt8](repeating: 0x5B, count: 1_000_000))?.description == "event is 1000000 bytes, \(rule)")
    }

    /// The MAX_PIECE_BYTES ceiling: the largest piece whose message fits 128 KB with both identifiers
    /// at 128 characters and a 6-digit count; one byte more does not fit. The rule's event (the message
    /// and a 128-character `thing`) is read; one byte more is not.
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
        let event = Array(message.event(thing: machine).utf8)
        #expect(event.count == json.count + IoTPieceMessage.ruleAddedBytes)
        #expect(try IoTPieceMessage.parse(event, limits: limits) == message)
        let tooLarge = IoTPieceMessage.piece(machineId: machine, label: label, index: 100_000, data: largest + [0])
        #expect(tooLarge.json.utf8.count == 131_073, "more than IoT Core carries")
        #expect(refusal(Array(tooLarge.event(thing: machine).utf8), limits: limits)?.description
            == "event is 131212 bytes, over the 131211-byte limit (128 KB, the most an AWS IoT Core message carries, "
            + "and the 139 bytes of the `thing` the topic rule adds)")
    }
}

/// The device's message, the template's rule, piece storage's parser: identity comes from the topic.
struct PieceIdentityTests {
    let limits = IoTPieceMessage.Limits(maxPieces: 50, maxPieceBytes: 8192)

    @Test func theRuleMakesWhatEventThingMakes() throws {
        for message in [IoTPieceMessage.piece(machineId: "cam-1", label: "p", index: 2, data: [1, 2, 3]),
                        .end(machineId: "cam-1", label: "p", total: 2, sha256: String(repeating: "ab", count: 32),
                             contentType: "image/jpeg"),
                        .end(machineId: "cam-1", label: "p", total: 2, sha256: nil, contentType: nil)] {
            let event = try PiecesRule.event(Array(message.json.utf8), from: "cam-1")
            #expect(String(decoding: event, as: UTF8.self) == message.event(thing: "cam-1"))
            #expect(try IoTPieceMessage.parse(event, limits: limits) == message)
        }
    }

    /// A device claiming another identity in its message: on its own topic the rule's `thing` is its own,
    /// whatever `thing` it writes itself, and piece storage refuses the other machine_id.
    @Test func aDevicesOwnThingFieldNeverCounts() throws {
        let forged = #"{"thing":"cam-b","machine_id":"cam-b","label":"p","count":1,"data":"AAEC"}"#
        let event = try PiecesRule.event(Array(forged.utf8), from: "cam-a")
        #expect(String(decoding: event, as: UTF8.self) == #"{"thing":"cam-a","machine_id":"cam-b","label":"p","count":1,"data":"AAEC"}"#)
        #expect(throws: EventError.invalidField("machine_id", problem: "\"cam-b\" differs from `thing` \"cam-a\", the thing "
            + "name of the device that sent it (from its topic): a device sends only its own pictures; nothing was stored")) {
            try IoTPieceMessage.parse(event, limits: limits)
        }
        // A message without the rule (a test, a misconfigured rule) is refused, naming the rule.
        #expect(throws: EventError.invalidField("thing", problem: String(MalformedPieceEvents.thingMissing.dropFirst("field `thing` ".count)))) {
            try IoTPieceMessage.parse(Array(forged.replacingOccurrences(of: #""thing":"cam-b","#, with: "").utf8), limits: limits)
        }
    }
}

struct PieceSplittingTests {
    @Test func splitThenParseGivesThePictureBack() throws {
        let photo = try Fixtures.bytes("photos/fresh-flower.jpg")
        let messages = IoTPieceMessage.split(photo, machineId: "cam-1", label: "flower", pieceBytes: 8192)
        #expect(messages.count == 11)
        let limits = IoTPieceMessage.Limits(maxPieces: 100, maxPieceBytes: 8192)
        let parsed = try messages.map { try IoTPieceMessage.parse(Array($0.event(thing: "cam-1").utf8), limits: limits) }
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
