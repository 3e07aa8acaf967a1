import TesseraSupport

/// What invokes picture-processor: an SQS batch, or an S3 notification delivered straight to Lambda.
public enum ProcessorEvent: Sendable, Equatable {
    case queue(SQSEvent)
    case s3(S3EventNotification)

    /// Tells the two apart by the records' `eventSource` (`aws:sqs` or `aws:s3`).
    public static func parse(_ bytes: [UInt8]) throws -> ProcessorEvent {
        let object = try EventObject(JSONValue.parse(bytes))
        let records = try object.array("Records")
        let source = try records.first.map { try EventObject($0.value, path: $0.path).optionalString("eventSource") } ?? nil
        switch source {
        case "aws:sqs": return .queue(try SQSEvent.parse(object))
        case "aws:s3": return .s3(try S3EventNotification.parse(.object(object.fields)))
        default:
            throw EventError.invalidField("Records[0].eventSource", problem:
                "must be \"aws:sqs\" or \"aws:s3\" (picture-processor takes SQS batches and S3 notifications), got \(source.map { "\"\($0.prefix(40))\"" } ?? "none")")
        }
    }
}

/// What one SQS message for picture-processor asks for.
public enum QueueMessage: Sendable, Equatable {
    /// Join a device's pieces (piece storage's request).
    case reassembly(ReassemblyRequest)
    /// New originals (S3 → SQS, or S3 → SNS → SQS, unwrapped).
    case s3(S3EventNotification)

    /// Reads a message body: a reassembly request, an S3 notification, or an SNS envelope of one.
    public static func parse(body: String) throws -> QueueMessage {
        let object = try EventObject(Self.json(body, "body"), path: "body")
        if object.fields["machine_id"] != nil { return .reassembly(try ReassemblyRequest.parse(object)) }
        if object.fields["Type"] != nil && object.fields["TopicArn"] != nil {
            let envelope = try SNSEnvelope.parse(object)
            let inner = try Self.json(envelope.message, "body.Message")
            return .s3(try S3EventNotification.parse(inner, path: "body.Message"))
        }
        return .s3(try S3EventNotification.parse(.object(object.fields), path: "body"))
    }

    /// A JSON text inside the event, its errors naming where it sits.
    static func json(_ text: String, _ path: String) throws -> JSONValue {
        do {
            return try JSONValue.parse(Array(text.utf8))
        } catch let error as EventError {
            throw EventError.invalidField(path, problem: "is not a JSON document: \(error)")
        }
    }
}
