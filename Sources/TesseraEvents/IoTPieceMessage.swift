import TesseraSupport

/// One MQTT message of a device sending a picture in pieces (DESIGN.md, "IoT piece message"), as the IoT
/// rule hands it to piece storage: the device's fields plus `thing`, the thing name the rule takes from the
/// topic the device published on. A device may publish only to its own topic (the IoT policy), so `thing`
/// is the connection's identity; a message whose `machine_id` is not its `thing` is refused.
public enum IoTPieceMessage: Sendable, Equatable {
    /// Piece `index` (1-based) of the picture, decoded from base64.
    case piece(machineId: String, label: String, index: Int, data: [UInt8])
    /// The last message: how many pieces there are, with the optional whole-file checksum and type.
    case end(machineId: String, label: String, total: Int, sha256: String?, contentType: String?)

    /// The limits a message is checked against.
    public struct Limits: Sendable {
        public var maxPieces: Int
        public var maxPieceBytes: Int

        public init(maxPieces: Int, maxPieceBytes: Int) {
            self.maxPieces = maxPieces
            self.maxPieceBytes = maxPieceBytes
        }
    }

    /// Identifiers become parts of S3 keys: letters, digits, `.`, `_`, `-`; 1 to 128 characters;
    /// not starting with `.`.
    public static let identifierRule = "must be 1 to 128 characters of A-Z a-z 0-9 . _ - and not start with '.'"

    /// The largest MQTT payload AWS IoT Core carries: 128 KB, what a device's message can be.
    public static let maxMessageBytes = 131_072

    /// What the topic rule adds to a message at most: `"thing":"<thing name>",` with AWS's longest thing
    /// name (128 characters). 139.
    public static let maxThingBytes = 128
    public static let ruleAddedBytes = "\"thing\":\"\",".utf8.count + maxThingBytes

    /// The largest event the topic rule can make of a device's message (it selects fields of the message
    /// and adds `thing`). An event larger than this cannot have come from a device through the rule; it is
    /// refused before it is parsed. 131211.
    public static let maxEventBytes = maxMessageBytes + ruleAddedBytes

    /// The JSON around a piece's base64 at its largest, with no whitespace: both identifiers at 128
    /// characters and a 6-digit `count` (`MAX_PIECES` stops at 100000):
    /// `{"machine_id":"<128>","label":"<128>","count":100000,"data":"<base64>"}`.
    public static let maxEnvelopeBytes = 309

    /// The largest decoded piece that fits one IoT Core message whatever the identifiers: the base64
    /// (4 characters for every 3 bytes) plus `maxEnvelopeBytes` stays within `maxMessageBytes`. 98070.
    public static let maxPieceBytesCeiling = (maxMessageBytes - maxEnvelopeBytes) / 4 * 3

    /// The topic rule that adds `thing` (template.yaml's PiecesTopicRule), as errors name it.
    public static let ruleSQL = "SELECT topic(3) AS thing, machine_id, label, count, data, sha256, content_type "
        + "FROM '<PiecesTopic>/+'"

    public var machineId: String {
        switch self { case let .piece(id, _, _, _), let .end(id, _, _, _, _): id }
    }

    public var label: String {
        switch self { case let .piece(_, label, _, _), let .end(_, label, _, _, _): label }
    }

    /// Parses and checks a message; every problem is an `EventError` naming the field (or, for the
    /// event as a whole, its size, encoding or syntax) and the rule.
    public static func parse(_ event: [UInt8], limits: Limits) throws -> IoTPieceMessage {
        guard event.count <= maxEventBytes else {
            throw EventError.tooLarge(bytes: event.count, limit: maxEventBytes,
                                      rule: "128 KB, the most an AWS IoT Core message carries, and the "
                                          + "\(ruleAddedBytes) bytes of the `thing` the topic rule adds")
        }
        let fields = try EventObject(JSONValue.parse(event))
        // Identity first: whatever else the message says, it is refused unless it names the device that
        // sent it. Compared byte for byte: Swift's == would equate canonically equivalent strings (the
        // Kelvin sign U+212A and "K").
        let thing = try thingName(fields)
        let machineId = try identifier(fields, "machine_id")
        guard machineId.utf8.elementsEqual(thing.utf8) else {
            throw EventError.invalidField("machine_id", problem: "\(shown(machineId)) differs from `thing` \(shown(thing)), "
                + "the thing name of the device that sent it (from its topic): a device sends only its own pictures; "
                + "nothing was stored")
        }
        let label = try identifier(fields, "label")
        let count = try fields.integer("count")
        guard count >= 1, count <= limits.maxPieces else {
            throw EventError.invalidField("count", problem: "must be between 1 and \(limits.maxPieces), got \(count)")
        }
        let data = try fields.string("data")
        if data == "END" {
            return .end(machineId: machineId, label: label, total: count, sha256: try checksum(fields),
                        contentType: try contentType(fields))
        }
        return .piece(machineId: machineId, label: label, index: count, data: try decodePiece(data, limits))
    }

    /// The `thing` the topic rule adds: present, a string, not empty.
    static func thingName(_ fields: EventObject) throws -> String {
        guard let thing = try fields.optionalString("thing") else {
            throw EventError.invalidField("thing", problem: "is missing: piece storage takes messages only through the "
                + "IoT rule, which adds the device's thing name from its topic (template.yaml's PiecesTopicRule: "
                + "\(ruleSQL))")
        }
        guard !thing.isEmpty else {
            throw EventError.invalidField("thing", problem: "is empty: the IoT rule's topic(3) is the thing name a "
                + "device publishes under (<PiecesTopic>/<thing name>), never empty")
        }
        return thing
    }

    /// A value quoted for an error message, every character outside printable ASCII written as \u{...}
    /// (so a look-alike shows), at most 140 characters of it.
    static func shown(_ value: String) -> String {
        var out = "\""
        for scalar in value.unicodeScalars.prefix(140) {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case " "..."~": out.unicodeScalars.append(scalar)
            default: out += "\\u{" + String(scalar.value, radix: 16, uppercase: true) + "}"
            }
        }
        return out + (value.unicodeScalars.count > 140 ? "…\"" : "\"")
    }

    static func identifier(_ fields: EventObject, _ name: String) throws -> String {
        let value = try fields.string(name)
        let allowed = value.utf8.allSatisfy { PercentEncoding.isUnreserved($0) && $0 != UInt8(ascii: "~") }
        guard (1...128).contains(value.utf8.count), allowed, !value.hasPrefix(".") else {
            throw EventError.invalidField(fields.at(name), problem: "\(identifierRule), got \"\(value.prefix(140))\"")
        }
        return value
    }

    /// The base64 rule, as error messages state it.
    public static let base64Rule = "must be canonical standard base64 (A-Z a-z 0-9 + /, length a multiple of 4, "
        + "'=' only as the last one or two characters, unused bits zero, no whitespace) or \"END\""

    static func decodePiece(_ text: String, _ limits: Limits) throws -> [UInt8] {
        // Refuse by size before decoding, so a hostile message costs no allocation.
        let length = text.utf8.count
        guard length <= StrictBase64.encodedLength(ofDecoded: limits.maxPieceBytes) else {
            throw EventError.invalidField("data", problem:
                "decodes to more than MAX_PIECE_BYTES (\(limits.maxPieceBytes) bytes): \(length) base64 characters")
        }
        guard length > 0 else { throw EventError.invalidField("data", problem: "decodes to 0 bytes; a piece holds at least 1 byte") }
        let data: [UInt8]
        do {
            data = try StrictBase64.decode(text.utf8)
        } catch {
            throw EventError.invalidField("data", problem: "\(base64Rule): \(error)")
        }
        guard data.count <= limits.maxPieceBytes else {
            throw EventError.invalidField("data", problem:
                "decodes to \(data.count) bytes, more than MAX_PIECE_BYTES (\(limits.maxPieceBytes))")
        }
        return data
    }

    static func checksum(_ fields: EventObject) throws -> String? {
        guard let value = try fields.optionalString("sha256") else { return nil }
        let hex = value.asciiLowercased
        guard hex.utf8.count == 64, hex.utf8.allSatisfy({ (48...57).contains($0) || (97...102).contains($0) }) else {
            throw EventError.invalidField("sha256", problem: "must be 64 hexadecimal digits, got \"\(value.prefix(80))\"")
        }
        return hex
    }

    static func contentType(_ fields: EventObject) throws -> String? {
        guard let value = try fields.optionalString("content_type") else { return nil }
        let parts = value.split(separator: "/", omittingEmptySubsequences: false)
        let valid = value.utf8.count <= 100 && parts.count == 2 && parts.allSatisfy { part in
            !part.isEmpty && part.utf8.allSatisfy { PercentEncoding.isUnreserved($0) || $0 == UInt8(ascii: "+") }
        }
        guard valid else {
            throw EventError.invalidField("content_type", problem: "must be a MIME type like image/jpeg, got \"\(value.prefix(120))\"")
        }
        return value.asciiLowercased
    }
}
