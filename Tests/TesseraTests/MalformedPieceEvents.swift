import Foundation

/// Every malformed IoT piece message the function must refuse, with the field its error must name.
/// Limits assumed: MAX_PIECES = 50, MAX_PIECE_BYTES = 8192.
enum MalformedPieceEvents {
    static let maxPieces = 50
    static let maxPieceBytes = 8192

    static func json(_ fields: [String: Any]) -> String {
        String(decoding: try! JSONSerialization.data(withJSONObject: fields, options: [.sortedKeys]), as: UTF8.self)
    }

    static var valid: [String: Any] { ["machine_id": "cam-1", "label": "bad-input", "count": 1, "data": "AAEC"] }

    static func with(_ changes: [String: Any?]) -> String {
        var fields = valid
        for (key, value) in changes { fields[key] = value }
        return json(fields)
    }

    /// (what is wrong, event text, text the error message must contain)
    static let all: [(String, String, String)] = [
        ("not JSON", "{\"machine_id\": ", "not valid JSON"),
        ("empty event", "", "not valid JSON"),
        ("array, not object", "[1,2,3]", "must be a JSON object, got array"),
        ("string, not object", "\"hello\"", "must be a JSON object, got string"),
        ("machine_id missing", with(["machine_id": nil]), "`machine_id` is missing"),
        ("machine_id number", with(["machine_id": 7]), "`machine_id` must be a string, got integer"),
        ("machine_id null", with(["machine_id": NSNull()]), "`machine_id` is missing"),
        ("machine_id empty", with(["machine_id": ""]), "`machine_id` must be 1 to 128 characters"),
        ("machine_id with slash", with(["machine_id": "a/b"]), "`machine_id` must be 1 to 128 characters"),
        ("machine_id too long", with(["machine_id": String(repeating: "m", count: 129)]), "`machine_id` must be 1 to 128"),
        ("label path traversal", with(["label": "../etc"]), "`label` must be 1 to 128 characters"),
        ("label non-ASCII", with(["label": "café"]), "`label` must be 1 to 128 characters"),
        ("label with space", with(["label": "bar name"]), "`label` must be 1 to 128 characters"),
        ("label object", with(["label": ["x": 1]]), "`label` must be a string, got object"),
        ("count missing", with(["count": nil]), "`count` is missing"),
        ("count as string", with(["count": "1"]), "`count` must be a whole number, got string"),
        ("count fraction", with(["count": 1.5]), "`count` must be a whole number, got 1.5"),
        ("count boolean", with(["count": true]), "`count` must be a whole number, got boolean"),
        ("count zero", with(["count": 0]), "`count` must be between 1 and 50, got 0"),
        ("count negative", with(["count": -3]), "`count` must be between 1 and 50, got -3"),
        ("count above MAX_PIECES", with(["count": 51]), "`count` must be between 1 and 50, got 51"),
        ("data missing", with(["data": nil]), "`data` is missing"),
        ("data number", with(["data": 12]), "`data` must be a string, got integer"),
        ("data not base64", with(["data": "@@not base64!!"]), "`data` must be standard base64"),
        ("data bad padding", with(["data": "AAE"]), "`data` must be standard base64"),
        ("data empty", with(["data": ""]), "`data` decodes to 0 bytes"),
        ("data over MAX_PIECE_BYTES", with(["data": Data(count: 8193).base64EncodedString()]), "MAX_PIECE_BYTES"),
        ("data hugely over", with(["data": String(repeating: "A", count: 200_000)]), "MAX_PIECE_BYTES"),
        ("END count zero", with(["data": "END", "count": 0]), "`count` must be between 1 and 50"),
        ("END bad sha256", with(["data": "END", "sha256": "xyz"]), "`sha256` must be 64 hexadecimal digits"),
        ("END sha256 number", with(["data": "END", "sha256": 5]), "`sha256` must be a string, got integer"),
        ("END bad content_type", with(["data": "END", "content_type": "jpeg"]), "`content_type` must be a MIME type"),
    ]
}
