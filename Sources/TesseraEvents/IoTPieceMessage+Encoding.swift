import TesseraSupport

extension IoTPieceMessage {
    /// The messages a device sends for one picture: its bytes cut into pieces of `pieceBytes`, then END
    /// with the whole file's SHA-256 and content type.
    public static func split(_ picture: [UInt8], machineId: String, label: String, pieceBytes: Int,
                             contentType: String = "image/jpeg") -> [IoTPieceMessage] {
        precondition(pieceBytes > 0, "pieceBytes must be positive")
        var messages = stride(from: 0, to: picture.count, by: pieceBytes).enumerated().map { index, start in
            IoTPieceMessage.piece(machineId: machineId, label: label, index: index + 1,
                                  data: Array(picture[start..<min(start + pieceBytes, picture.count)]))
        }
        messages.append(.end(machineId: machineId, label: label, total: messages.count,
                             sha256: hexString(SHA256.hash(picture)), contentType: contentType))
        return messages
    }

    /// The event the IoT rule hands to piece storage for this message from the device `thing` (published
    /// on `<PiecesTopic>/<thing>`): `thing` first, then the message's fields.
    public func event(thing: String) -> String {
        "{\"thing\":\(jsonQuoted(thing)),\(json.dropFirst())"
    }

    /// The MQTT payload a device publishes (the IoT rule adds `thing`: `event(thing:)`).
    public var json: String {
        switch self {
        case let .piece(machineId, label, index, data):
            return "{\"machine_id\":\(jsonQuoted(machineId)),\"label\":\(jsonQuoted(label)),\"count\":\(index),"
                + "\"data\":\"\(StrictBase64.encode(data))\"}"
        case let .end(machineId, label, total, sha256, contentType):
            var text = "{\"machine_id\":\(jsonQuoted(machineId)),\"label\":\(jsonQuoted(label)),\"count\":\(total),"
                + "\"data\":\"END\""
            if let sha256 { text += ",\"sha256\":\"\(sha256)\"" }
            if let contentType { text += ",\"content_type\":\(jsonQuoted(contentType))" }
            return text + "}"
        }
    }
}
