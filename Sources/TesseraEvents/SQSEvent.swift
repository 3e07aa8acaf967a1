import TesseraSupport

/// A batch of SQS messages as Lambda's event source mapping delivers it.
public struct SQSEvent: Sendable, Equatable {
    public struct Record: Sendable, Equatable {
        public let messageId: String
        public let body: String
        /// How many times the message has been received, this time included (1 the first time).
        public let receiveCount: Int
        public let eventSourceARN: String?
        /// What changing the message's visibility needs.
        public var receiptHandle: String? = nil
        /// When the queue accepted the message (epoch milliseconds): for a reassembly request, the END's arrival.
        public var sentTimestamp: Int? = nil
    }

    public let records: [Record]

    static func parse(_ object: EventObject) throws -> SQSEvent {
        SQSEvent(records: try object.array("Records").map { element in
            let record = try EventObject(element.value, path: element.path)
            let attributes = try record.optionalObject("attributes")
            let count = try attributes?.optionalString("ApproximateReceiveCount")
            guard let receiveCount = count.map({ Int($0) }) ?? 1, receiveCount >= 1 else {
                throw EventError.invalidField(record.at("attributes.ApproximateReceiveCount"),
                                              problem: "must be a whole number of 1 or more in a string, got \"\(count ?? "")\"")
            }
            let sent = try attributes?.optionalString("SentTimestamp")
            guard sent.map({ Int($0).map { $0 >= 0 } ?? false }) ?? true else {
                throw EventError.invalidField(record.at("attributes.SentTimestamp"),
                                              problem: "must be epoch milliseconds in a string, got \"\(sent?.prefix(40) ?? "")\"")
            }
            return Record(messageId: try record.string("messageId"), body: try record.string("body"),
                          receiveCount: receiveCount, eventSourceARN: try record.optionalString("eventSourceARN"),
                          receiptHandle: try record.optionalString("receiptHandle"), sentTimestamp: sent.flatMap { Int($0) })
        })
    }
}

/// The JSON envelope SNS wraps a message in when it delivers to SQS (without raw message delivery).
public struct SNSEnvelope: Sendable, Equatable {
    public let messageId: String
    public let topicARN: String
    public let message: String

    static func parse(_ object: EventObject) throws -> SNSEnvelope {
        let type = try object.string("Type")
        guard type == "Notification" else {
            throw EventError.invalidField(object.at("Type"), problem: "must be \"Notification\", got \"\(type.prefix(40))\"")
        }
        return SNSEnvelope(messageId: try object.string("MessageId"), topicARN: try object.string("TopicArn"),
                           message: try object.string("Message"))
    }
}

extension ReassemblyRequest {
    /// The most pieces a picture can have: the ceiling of piece storage's `MAX_PIECES`.
    public static let maxPieces = 100_000

    /// Parses the body piece storage sends, strictly: identifiers in the safe set, a positive total,
    /// and a SHA-256 of 64 hex digits when present.
    static func parse(_ object: EventObject) throws -> ReassemblyRequest {
        let machineId = try IoTPieceMessage.identifier(object, "machine_id")
        let label = try IoTPieceMessage.identifier(object, "label")
        let pieces = try object.integer("pieces")
        guard (1...maxPieces).contains(pieces) else {
            throw EventError.invalidField(object.at("pieces"), problem: "must be between 1 and \(maxPieces), got \(pieces)")
        }
        let sha = try object.optionalString("sha256")
        if let sha, sha.utf8.count != 64 || !sha.utf8.allSatisfy({ (48...57).contains($0) || (97...102).contains($0) }) {
            throw EventError.invalidField(object.at("sha256"), problem: "must be 64 lower-case hexadecimal digits")
        }
        return ReassemblyRequest(machineId: machineId, label: label, pieces: pieces, sha256: sha)
    }
}
