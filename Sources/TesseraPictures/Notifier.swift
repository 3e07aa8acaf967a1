import TesseraAWS
import TesseraSupport

/// The processor's SNS notifications (DESIGN.md "Notifications"): one JSON message per outcome, with a
/// String attribute `event` subscribers can filter on.
public struct Notifier {
    /// One rendition as `picture.ready` lists it.
    public struct RenditionSummary: Sendable, Equatable {
        public let name: String
        public let key: String
        public let width: Int
        public let height: Int
        public let bytes: Int

        public init(name: String, key: String, width: Int, height: Int, bytes: Int) {
            self.name = name
            self.key = key
            self.width = width
            self.height = height
            self.bytes = bytes
        }

        var json: String {
            "{\"key\":\(jsonQuoted(key)),\"width\":\(width),\"height\":\(height),\"bytes\":\(bytes)}"
        }
    }

    public let topicARN: String
    let sns: SNSClient

    public init(topicARN: String, sns: SNSClient) {
        self.topicARN = topicARN
        self.sns = sns
    }

    /// `bucket` and `key` name the original; each rendition's key is in `renditionsBucket` (DESIGN.md).
    public func ready(_ picture: PictureKey, originalsBucket: String, renditionsBucket: String,
                      renditions: [RenditionSummary]) throws {
        let list = renditions.map { "\(jsonQuoted($0.name)):\($0.json)" }.joined(separator: ",")
        try publish("picture.ready", "{\(names(picture)),\"bucket\":\(jsonQuoted(originalsBucket)),"
            + "\"key\":\(jsonQuoted(picture.key)),\"renditionsBucket\":\(jsonQuoted(renditionsBucket)),\"renditions\":{\(list)}}")
    }

    public func failed(_ picture: PictureKey, errorType: String, message: String) throws {
        try publish("picture.failed", "{\(names(picture)),\"key\":\(jsonQuoted(picture.key)),"
            + "\"error\":{\"type\":\(jsonQuoted(errorType)),\"message\":\(jsonQuoted(message))}}")
    }

    /// `missing` as piece numbers; they go out as ranges (`["3-5", "9"]`).
    public func incomplete(_ picture: PictureKey, pieces: Int, missing: [Int], checksumMismatch: Bool) throws {
        let ranges = PieceRanges.describe(missing).map(jsonQuoted).joined(separator: ",")
        try publish("picture.incomplete", "{\(names(picture)),\"pieces\":\(pieces),\"missing\":[\(ranges)]"
            + (checksumMismatch ? ",\"checksumMismatch\":true}" : "}"))
    }

    /// Collection, name, and `picture` ("collection/name", the id every log line about it carries).
    private func names(_ picture: PictureKey) -> String {
        "\"collection\":\(jsonQuoted(picture.collection)),\"name\":\(jsonQuoted(picture.name)),"
            + "\"picture\":\(jsonQuoted(picture.collection + "/" + picture.name))"
    }

    private func publish(_ event: String, _ message: String) throws {
        try sns.publish(topicARN: topicARN, message: message, attributes: ["event": event])
    }
}
