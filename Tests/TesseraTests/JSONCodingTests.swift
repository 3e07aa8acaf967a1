import Foundation
import Testing
import TesseraAWS
import TesseraEvents
import TesseraSupport

/// TesseraSupport's own JSON encoder and decoder (what the AWS JSON protocols use instead of
/// Foundation's), checked against Foundation's reading of the same text.
struct JSONCodingTests {
    struct Input: Codable, Equatable {
        var TableName: String
        var Limit: Int?
        var ConsistentRead: Bool
        var Names: [String: String]?
        var Tags: [String]
        var Ratio: Double
    }

    func text(_ value: some Encodable) throws -> String {
        String(decoding: try JSONEncoding.encode(value), as: UTF8.self)
    }

    @Test func encodesKeysInDeclarationOrderAndLeavesOutNil() throws {
        let input = Input(TableName: "pieces", Limit: nil, ConsistentRead: true, Names: nil, Tags: ["a", "b"], Ratio: 0.25)
        #expect(try text(input) == #"{"TableName":"pieces","ConsistentRead":true,"Tags":["a","b"],"Ratio":0.25}"#)
        let whole = Input(TableName: "t", Limit: 25, ConsistentRead: false, Names: ["#n": "name"], Tags: [], Ratio: 2)
        #expect(try text(whole) == ##"{"TableName":"t","Limit":25,"ConsistentRead":false,"Names":{"#n":"name"},"Tags":[],"Ratio":2}"##)
    }

    @Test func escapesStringsAsJSONRequires() throws {
        let tricky = "quote \" backslash \\ slash / newline \n tab \t bell \u{07} é 😀"
        let encoded = try JSONEncoding.encode([tricky])
        #expect(String(decoding: encoded, as: UTF8.self)
            == #"["quote \" backslash \\ slash / newline \n tab \t bell \u0007 é 😀"]"#)
        #expect(try JSONDecoder().decode([String].self, from: Data(encoded)) == [tricky])
        #expect(try JSONDecoding.decode([String].self, from: encoded) == [tricky])
    }

    @Test func roundTripsThroughFoundationBothWays() throws {
        let values = [
            Input(TableName: "x", Limit: Int.max, ConsistentRead: true, Names: ["a": "b", "c": "d"], Tags: ["1"], Ratio: -1.5e-7),
            Input(TableName: "", Limit: Int.min, ConsistentRead: false, Names: [:], Tags: [], Ratio: 123456789.125),
        ]
        for value in values {
            #expect(try JSONDecoder().decode(Input.self, from: Data(try JSONEncoding.encode(value))) == value)
            #expect(try JSONDecoding.decode(Input.self, from: [UInt8](try JSONEncoder().encode(value))) == value)
        }
    }

    @Test func floatsAreWrittenInTheirOwnShortestForm() throws {
        #expect(String(decoding: try JSONEncoding.encode([Float(0.1), 2.5, 3]), as: UTF8.self) == "[0.1,2.5,3]")
        #expect(String(decoding: try JSONEncoding.encode([0.1, -2.0, 1e300]), as: UTF8.self) == "[0.1,-2,1e+300]")
    }

    @Test func refusesNonFiniteNumbersAsFoundationDoes() {
        #expect(throws: EncodingError.self) { try JSONEncoding.encode([Double.nan]) }
        #expect(throws: EncodingError.self) { try JSONEncoding.encode(["x": Double.infinity]) }
    }

    @Test func attributeValuesRoundTripWithBase64Binaries() throws {
        let item: Item = [
            "s": .s("text"), "n": .n("12345678901234567890123456789012345678"), "b": .b([0, 1, 2, 254, 255]),
            "empty": .b([]), "bool": .bool(false), "null": .null, "m": .m(["inner": .l([.s("a"), .number(2)])]),
            "ss": .ss(["x", "y"]), "ns": .ns(["1", "2.5"]), "bs": .bs([[1], [2, 3], []]),
        ]
        let encoded = try JSONEncoding.encode(item)
        #expect(try JSONDecoding.decode(Item.self, from: encoded) == item)
        #expect(try JSONDecoder().decode(Item.self, from: Data(encoded)) == item)
        #expect(try JSONDecoding.decode(Item.self, from: [UInt8](try JSONEncoder().encode(item))) == item)
        #expect(String(decoding: try JSONEncoding.encode(AttributeValue.b([0, 1, 2, 254, 255])), as: UTF8.self)
            == #"{"B":"AAEC/v8="}"#)
    }

    @Test func batchWritesEncodeAsDynamoDBReadsThem() throws {
        let writes: [DynamoDBClient.WriteRequest] = [.put(["pk": .s("p"), "data": .b([9, 9])]), .delete(key: ["pk": .s("q")])]
        let encoded = try JSONEncoding.encode(["RequestItems": ["table": writes]])
        #expect(try JSONDecoder().decode([String: [String: [DynamoDBClient.WriteRequest]]].self, from: Data(encoded))
            == ["RequestItems": ["table": writes]])
        #expect(try JSONDecoding.decode([String: [String: [DynamoDBClient.WriteRequest]]].self, from: encoded)
            == ["RequestItems": ["table": writes]])
    }

    @Test func reassemblyRequestsKeepTheirWireForm() throws {
        let request = ReassemblyRequest(machineId: "cam-1", label: "photo", pieces: 3, sha256: "ab12")
        #expect(try text(request) == #"{"machine_id":"cam-1","label":"photo","pieces":3,"sha256":"ab12"}"#)
        let unsigned = ReassemblyRequest(machineId: "m", label: "l", pieces: 1, sha256: nil)
        #expect(try text(unsigned) == #"{"machine_id":"m","label":"l","pieces":1}"#)
        #expect(try JSONDecoder().decode(ReassemblyRequest.self, from: Data(try JSONEncoding.encode(request))) == request)
    }

    @Test func badBase64InABinaryAttributeIsDataCorrupted() {
        for bad in [#"{"B":"AA=A"}"#, #"{"B":"====" }"#, #"{"B":"AB=="}"#, #"{"B":"A-B_"}"#, #"{"B":"AAA"}"#, #"{"B":"AA AA"}"#,
                    #"{"BS":["AAAA","A*=="]}"#] {
            do {
                _ = try JSONDecoding.decode(AttributeValue.self, from: Array(bad.utf8))
                Issue.record("\(bad) was accepted")
            } catch let DecodingError.dataCorrupted(context) {
                #expect(context.debugDescription.hasPrefix("Encountered Data is not valid Base64"), "\(context)")
            } catch {
                Issue.record("\(bad): \(error)")
            }
        }
    }

    @Test func decodingErrorsSayWhatAndWhere() throws {
        struct Output: Decodable { let MessageId: String; let Count: UInt8? }
        func failure(_ json: String) -> DecodingError? {
            #expect(throws: DecodingError.self, "\(json)") {
                try JSONDecoding.decode(Output.self, from: Array(json.utf8), subject: "response")
            }
        }
        guard case let .keyNotFound(key, _)? = failure(#"{"Other":1}"#) else { Issue.record("missing key"); return }
        #expect(key.stringValue == "MessageId")
        guard case .typeMismatch(_, let context)? = failure(#"{"MessageId":5}"#) else { Issue.record("mismatch"); return }
        #expect(context.codingPath.map(\.stringValue) == ["MessageId"])
        guard case .dataCorrupted? = failure(#"{"MessageId":"a","Count":300}"#) else { Issue.record("overflow"); return }
        guard case .dataCorrupted? = failure(#"{"MessageId":"a","Count":1.5}"#) else { Issue.record("fraction"); return }
        guard case .valueNotFound? = failure(#"{"MessageId":null}"#) else { Issue.record("null"); return }
        guard case let .dataCorrupted(context)? = failure(#"{"MessageId":"a",}"#) else { Issue.record("syntax"); return }
        #expect(context.underlyingError as? StrictJSON.Failure
            == .notJSON("'}' where an object key (a string) should be at byte 17"))
        guard case let .dataCorrupted(truncated)? = failure(#"{"MessageId":"#) else { Issue.record("truncated"); return }
        #expect("\(truncated.underlyingError!)".contains("the response ends where a value should be"))
        // Unknown keys are ignored, a missing optional and an explicit null are both nil.
        let decoded = try JSONDecoding.decode(Output.self, from: Array(#"{"MessageId":"m","Count":null,"x":[1]}"#.utf8))
        #expect(decoded.MessageId == "m" && decoded.Count == nil)
    }

    @Test func strictJSONFailuresKeepTheirEventWording() {
        #expect(throws: EventError.notJSON("the event ends inside an object at byte 6")) {
            try JSONValue.parse(Array(#"{"a":1"#.utf8))
        }
        #expect(throws: EventError.duplicateKey(path: "a")) { try JSONValue.parse(Array(#"{"a":1,"a":2}"#.utf8)) }
        #expect(throws: EventError.notUTF8(offset: 2, reason: "0xC3 0x28 is not followed by a continuation byte (0x80-0xBF)")) {
            try JSONValue.parse([0x22, 0x61, 0xC3, 0x28, 0x22])
        }
    }
}
