import Foundation

/// Every malformed IoT piece message the function must refuse, with the exact error message.
/// Limits assumed: MAX_PIECES = 50, MAX_PIECE_BYTES = 8192.
enum MalformedPieceEvents {
    static let maxPieces = 50
    static let maxPieceBytes = 8192

    static func json(_ fields: [String: Any]) -> String {
        String(decoding: try! JSONSerialization.data(withJSONObject: fields, options: [.sortedKeys]), as: UTF8.self)
    }

    /// A piece as the IoT rule hands it over: the device's fields and the `thing` it adds from the topic.
    static var valid: [String: Any] { ["thing": "cam-1", "machine_id": "cam-1", "label": "bad-input", "count": 1, "data": "AAEC"] }

    static func with(_ changes: [String: Any?]) -> String {
        var fields = valid
        for (key, value) in changes { fields[key] = value }
        return json(fields)
    }

    /// The rules as the messages state them (written out here, not taken from the sources, so a change
    /// of wording shows).
    static let identifierRule = "must be 1 to 128 characters of A-Z a-z 0-9 . _ - and not start with '.'"
    static let base64Rule = "field `data` must be canonical standard base64 (A-Z a-z 0-9 + /, length a multiple of 4, "
        + "'=' only as the last one or two characters, unused bits zero, no whitespace) or \"END\": "

    static let thingMissing = "field `thing` is missing: piece storage takes messages only through the IoT rule, which "
        + "adds the device's thing name from its topic (template.yaml's PiecesTopicRule: SELECT topic(3) AS thing, "
        + "machine_id, label, count, data, sha256, content_type FROM '<PiecesTopic>/+')"

    /// The refusal of a message whose machine_id is not the thing that sent it; both as the message
    /// shows them (quoted, anything outside printable ASCII as \u{...}).
    static func impersonation(machineId: String, thing: String) -> String {
        "field `machine_id` \"\(machineId)\" differs from `thing` \"\(thing)\", the thing name of the device that sent it "
            + "(from its topic): a device sends only its own pictures; nothing was stored"
    }

    /// Base64 texts that are not canonical standard base64, with why.
    static let badBase64: [(String, String)] = [
        ("====", "'=' at offset 0 is not padding: '=' may only be the last character or the last two"),
        ("AA=A", "'=' at offset 2 is not padding: '=' may only be the last character or the last two"),
        ("AAAA====", "'=' at offset 4 is not padding: '=' may only be the last character or the last two"),
        ("A===", "'=' at offset 1 is not padding: '=' may only be the last character or the last two"),
        ("AAAA=AAA", "'=' at offset 4 is not padding: '=' may only be the last character or the last two"),
        ("AB==", "'B' at offset 1 leaves non-zero unused bits (the canonical form has 'A')"),
        ("AAB=", "'B' at offset 2 leaves non-zero unused bits (the canonical form has 'A')"),
        ("QUJD RA==", "a space at offset 4 is not in the alphabet"),
        ("QUJD\nRA==", "whitespace (0x0A) at offset 4 is not in the alphabet"),
        ("QUJDRA==\n", "whitespace (0x0A) at offset 8 is not in the alphabet"),
        ("-_-_", "'-' at offset 0 is not in the alphabet (that is the URL-safe alphabet's, not standard base64's)"),
        ("ab_d", "'_' at offset 2 is not in the alphabet (that is the URL-safe alphabet's, not standard base64's)"),
        ("QUJDRA", "its length, 6 characters, is not a multiple of 4"),
        ("QUJDRA=", "its length, 7 characters, is not a multiple of 4"),
        ("QUJDRA==AAAA", "'=' at offset 6 is not padding: '=' may only be the last character or the last two"),
        ("QUJDRA==x", "its length, 9 characters, is not a multiple of 4"),
        ("AAEC\u{0}", "byte 0x00 at offset 4 is not in the alphabet"),
        ("AAÉC", "byte 0xC3 at offset 2 is not in the alphabet"),
    ]

    /// Canonical texts, with the bytes they stand for.
    static let goodBase64: [(String, [UInt8])] = [
        ("AA==", [0]), ("AAA=", [0, 0]), ("AAAA", [0, 0, 0]), ("/w==", [255]), ("//8=", [255, 255]),
        ("+/+/", [0xFB, 0xFF, 0xBF]), ("QUJDRA==", Array("ABCD".utf8)), ("AAEC", [0, 1, 2]),
    ]

    /// (what is wrong, event text, the whole error message)
    static let all: [(String, String, String)] = [
        ("not JSON", "{\"machine_id\": ", "event is not valid JSON: the event ends where a value should be at byte 15"),
        ("empty event", "", "event is not valid JSON: the event is empty"),
        ("array, not object", "[1,2,3]", "event must be a JSON object, got array"),
        ("string, not object", "\"hello\"", "event must be a JSON object, got string"),
        ("trailing garbage", with([:]) + "x", "event is not valid JSON: 'x' after the end of the JSON value at byte 82"),
        ("two objects", with([:]) + with([:]), "event is not valid JSON: '{' after the end of the JSON value at byte 82"),
        ("single quotes", "{'count': 1}", "event is not valid JSON: \"'\" where an object key (a string) should be at byte 1"),
        ("leading zero", "{\"count\": 01}", "event is not valid JSON: a number with a leading zero at byte 10"),
        ("NaN", "{\"count\": NaN}", "event is not valid JSON: 'N' where a value should be at byte 10"),
        ("unpaired surrogate escape", "{\"label\": \"\\ud800x\"}",
         "event is not valid JSON: \\u escape of a high surrogate without a low surrogate after it at byte 11"),
        ("raw control character", "{\"label\": \"a\tb\"}",
         "event is not valid JSON: control character 0x09 inside a string (it must be escaped) at byte 12"),
        ("nested too deep", "{\"x\":" + String(repeating: "[", count: 64) + String(repeating: "]", count: 64) + "}",
         "event is not valid JSON: objects and arrays nest deeper than 64 levels at byte 68"),
        ("duplicate count", "{\"count\":1,\"count\":2,\"data\":\"AAEC\",\"label\":\"x\",\"machine_id\":\"cam-1\"}",
         "field `count` appears more than once; events with duplicate keys are refused"),
        ("duplicate data, same value", "{\"count\":1,\"data\":\"AAEC\",\"data\":\"AAEC\",\"label\":\"x\",\"machine_id\":\"cam-1\"}",
         "field `data` appears more than once; events with duplicate keys are refused"),
        ("duplicate key spelled with an escape", "{\"label\":\"a\",\"l\\u0061bel\":\"b\",\"count\":1,\"data\":\"AAEC\",\"machine_id\":\"m\"}",
         "field `label` appears more than once; events with duplicate keys are refused"),
        ("duplicate key nested", "{\"count\":1,\"data\":\"AAEC\",\"label\":\"x\",\"machine_id\":\"m\",\"meta\":{\"a\":{\"b\":1,\"b\":2}}}",
         "field `meta.a.b` appears more than once; events with duplicate keys are refused"),
        ("duplicate key in an array", "{\"count\":1,\"data\":\"AAEC\",\"label\":\"x\",\"machine_id\":\"m\",\"tags\":[{},{\"k\":1,\"k\":1}]}",
         "field `tags[1].k` appears more than once; events with duplicate keys are refused"),
        // The device's identity: the rule's `thing` (from the topic) and the message's machine_id.
        ("thing missing", with(["thing": nil]), thingMissing),
        ("thing null", with(["thing": NSNull()]), thingMissing),
        ("thing missing, machine_id too", with(["thing": nil, "machine_id": nil]), thingMissing),
        ("thing number", with(["thing": 7]), "field `thing` must be a string, got integer"),
        ("thing array", with(["thing": ["cam-1"]]), "field `thing` must be a string, got array"),
        ("thing boolean", with(["thing": true]), "field `thing` must be a string, got boolean"),
        ("thing empty", with(["thing": ""]), "field `thing` is empty: the IoT rule's topic(3) is the thing name a device "
            + "publishes under (<PiecesTopic>/<thing name>), never empty"),
        ("thing differs", with(["thing": "cam-2"]), impersonation(machineId: "cam-1", thing: "cam-2")),
        ("machine_id differs", with(["machine_id": "cam-2"]), impersonation(machineId: "cam-2", thing: "cam-1")),
        ("END as another device", with(["machine_id": "cam-2", "data": "END", "count": 3]),
         impersonation(machineId: "cam-2", thing: "cam-1")),
        ("thing differs only in case", with(["thing": "CAM-1"]), impersonation(machineId: "cam-1", thing: "CAM-1")),
        ("machine_id differs only in case", with(["machine_id": "Cam-1"]), impersonation(machineId: "Cam-1", thing: "cam-1")),
        ("thing with a Cyrillic look-alike", with(["thing": "c\u{430}m-1"]),
         impersonation(machineId: "cam-1", thing: "c\\u{430}m-1")),
        ("thing fullwidth", with(["thing": "\u{FF43}am-1"]), impersonation(machineId: "cam-1", thing: "\\u{FF43}am-1")),
        // Canonically equivalent to "cam-K" (U+212A decomposes to K): Swift's == would call them equal.
        ("thing with the Kelvin sign", with(["machine_id": "cam-K", "thing": "cam-\u{212A}"]),
         impersonation(machineId: "cam-K", thing: "cam-\\u{212A}")),
        ("thing with a trailing NUL", with(["thing": "cam-1\u{0}"]), impersonation(machineId: "cam-1", thing: "cam-1\\u{0}")),
        ("thing with a trailing space", with(["thing": "cam-1 "]), impersonation(machineId: "cam-1", thing: "cam-1 ")),
        ("thing with a quote and a line break", with(["thing": "cam-1\"\n"]),
         impersonation(machineId: "cam-1", thing: "cam-1\\\"\\u{A}")),
        ("thing twice", "{\"count\":1,\"data\":\"AAEC\",\"label\":\"x\",\"machine_id\":\"cam-2\",\"thing\":\"cam-1\",\"thing\":\"cam-2\"}",
         "field `thing` appears more than once; events with duplicate keys are refused"),
        ("machine_id with a Cyrillic look-alike", with(["machine_id": "c\u{430}m-1"]),
         "field `machine_id` \(identifierRule), got \"c\u{430}m-1\""),
        ("machine_id missing", with(["machine_id": nil]), "field `machine_id` is missing"),
        ("machine_id number", with(["machine_id": 7]), "field `machine_id` must be a string, got integer"),
        ("machine_id null", with(["machine_id": NSNull()]), "field `machine_id` is missing"),
        ("machine_id empty", with(["machine_id": ""]), "field `machine_id` \(identifierRule), got \"\""),
        ("machine_id with slash", with(["machine_id": "a/b"]), "field `machine_id` \(identifierRule), got \"a/b\""),
        ("machine_id too long", with(["machine_id": String(repeating: "m", count: 129)]),
         "field `machine_id` \(identifierRule), got \"\(String(repeating: "m", count: 129))\""),
        ("label path traversal", with(["label": "../etc"]), "field `label` \(identifierRule), got \"../etc\""),
        ("label non-ASCII", with(["label": "café"]), "field `label` \(identifierRule), got \"café\""),
        ("label with space", with(["label": "bar name"]), "field `label` \(identifierRule), got \"bar name\""),
        ("label object", with(["label": ["x": 1]]), "field `label` must be a string, got object"),
        ("count missing", with(["count": nil]), "field `count` is missing"),
        ("count as string", with(["count": "1"]), "field `count` must be a whole number, got string"),
        ("count fraction", with(["count": 1.5]), "field `count` must be a whole number, got 1.5"),
        ("count boolean", with(["count": true]), "field `count` must be a whole number, got boolean"),
        ("count zero", with(["count": 0]), "field `count` must be between 1 and 50, got 0"),
        ("count negative", with(["count": -3]), "field `count` must be between 1 and 50, got -3"),
        ("count above MAX_PIECES", with(["count": 51]), "field `count` must be between 1 and 50, got 51"),
        ("count beyond Int", "{\"count\":1e400,\"data\":\"AAEC\",\"label\":\"x\",\"machine_id\":\"m\"}",
         "event is not valid JSON: the number 1e400 is beyond the range of a double at byte 9"),
        ("data missing", with(["data": nil]), "field `data` is missing"),
        ("data number", with(["data": 12]), "field `data` must be a string, got integer"),
        ("data not base64", with(["data": "@@not base64!!"]), base64Rule + "'@' at offset 0 is not in the alphabet"),
        ("data bad padding", with(["data": "AAE"]), base64Rule + "its length, 3 characters, is not a multiple of 4"),
        ("data empty", with(["data": ""]), "field `data` decodes to 0 bytes; a piece holds at least 1 byte"),
        ("data over MAX_PIECE_BYTES", with(["data": Data(count: 8193).base64EncodedString()]),
         "field `data` decodes to 8193 bytes, more than MAX_PIECE_BYTES (8192)"),
        ("data hugely over", with(["data": String(repeating: "A", count: 100_000)]),
         "field `data` decodes to more than MAX_PIECE_BYTES (8192 bytes): 100000 base64 characters"),
        ("event over 128 KB and the rule's thing", with(["data": String(repeating: "A", count: 131_200)]),
         "event is 131278 bytes, over the 131211-byte limit (128 KB, the most an AWS IoT Core message carries, and the "
            + "139 bytes of the `thing` the topic rule adds)"),
        ("END count zero", with(["data": "END", "count": 0]), "field `count` must be between 1 and 50, got 0"),
        ("END bad sha256", with(["data": "END", "sha256": "xyz"]), "field `sha256` must be 64 hexadecimal digits, got \"xyz\""),
        ("END sha256 number", with(["data": "END", "sha256": 5]), "field `sha256` must be a string, got integer"),
        ("END bad content_type", with(["data": "END", "content_type": "jpeg"]),
         "field `content_type` must be a MIME type like image/jpeg, got \"jpeg\""),
    ] + badBase64.map { text, why in
        ("data \(text.debugDescription)", with(["data": text]), base64Rule + why)
    }

    /// Events that are not UTF-8: (what is wrong, the event's bytes, the whole error message). Kept as
    /// bytes, since a Swift string cannot hold them.
    static let invalidUTF8: [(String, [UInt8], String)] = {
        let prefix = Array("{\"count\":1,\"data\":\"AAEC\",\"machine_id\":\"cam-1\",\"label\":\"".utf8)  // 55 bytes
        func event(_ bad: [UInt8]) -> [UInt8] { prefix + bad + Array("\"}".utf8) }
        return [
            ("0xFF in a string", event([0x61, 0xFF]), "event is not valid UTF-8 at byte 56: 0xFF never occurs in UTF-8"),
            ("lone continuation byte", event([0x80]),
             "event is not valid UTF-8 at byte 55: 0x80 is a continuation byte with no lead byte before it"),
            ("overlong slash", event([0xC0, 0xAF]),
             "event is not valid UTF-8 at byte 55: 0xC0 can only start an overlong encoding"),
            ("overlong 3-byte", event([0xE0, 0x80, 0xAF]),
             "event is not valid UTF-8 at byte 55: 0xE0 0x80 starts an overlong encoding"),
            ("UTF-16 surrogate", event([0xED, 0xA0, 0x80]),
             "event is not valid UTF-8 at byte 55: 0xED 0xA0 starts the encoding of a UTF-16 surrogate"),
            ("above U+10FFFF", event([0xF4, 0x90, 0x80, 0x80]),
             "event is not valid UTF-8 at byte 55: 0xF4 0x90 starts a code point above U+10FFFF"),
            ("missing continuation", event([0xC3, 0x41]),
             "event is not valid UTF-8 at byte 55: 0xC3 0x41 is not followed by a continuation byte (0x80-0xBF)"),
            ("third byte missing", event([0xE2, 0x82, 0x41]),
             "event is not valid UTF-8 at byte 55: 0xE2 starts a 3-byte sequence but byte 57 (0x41) is not a continuation byte (0x80-0xBF)"),
            ("Latin-1 outside strings", Array("{\"count\":1,\"data\":\"AAEC\",\"machine_id\":\"m\",\"label\":\"x\"}\u{20}".utf8) + [0xE9],
             "event is not valid UTF-8 at byte 55: the event ends inside the 3-byte sequence that 0xE9 starts"),
            ("truncated at the end", Array("{\"label\":\"".utf8) + [0xF0, 0x9F, 0x98],
             "event is not valid UTF-8 at byte 10: the event ends inside the 4-byte sequence that 0xF0 starts"),
        ]
    }()

    /// Every malformed event as bytes, with its whole error message.
    static var allBytes: [(String, [UInt8], String)] {
        all.map { ($0.0, Array($0.1.utf8), $0.2) } + invalidUTF8
    }
}
