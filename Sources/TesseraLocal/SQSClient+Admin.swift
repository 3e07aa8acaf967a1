import TesseraAWS
import TesseraEvents
import TesseraHTTP
import TesseraRuntime
import TesseraSupport

// What Lambda's event source mapping and CloudFormation do on AWS; only the local stack needs them.
extension SQSClient {
    /// A received message.
    public struct Message: Sendable, Decodable, Equatable {
        public let MessageId: String
        public let ReceiptHandle: String
        public let Body: String
        public let Attributes: [String: String]?
    }

    /// Creates the queue (or finds the existing one of that name); returns its URL.
    public func createQueue(name: String, attributes: [String: String] = [:]) throws -> String {
        struct Input: Encodable { let QueueName: String, Attributes: [String: String]? }
        struct Output: Decodable { let QueueUrl: String }
        return try call("CreateQueue", Input(QueueName: name, Attributes: attributes.isEmpty ? nil : attributes),
                        Output.self).QueueUrl
    }

    public func receiveMessages(queueURL: String, max: Int = 10, waitSeconds: Int = 0,
                                visibilityTimeout: Int? = nil) throws -> [Message] {
        struct Input: Encodable {
            let QueueUrl: String, MaxNumberOfMessages: Int, WaitTimeSeconds: Int, VisibilityTimeout: Int?
            let MessageSystemAttributeNames: [String]
        }
        struct Output: Decodable { let Messages: [Message]? }
        return try call("ReceiveMessage", Input(QueueUrl: queueURL, MaxNumberOfMessages: max, WaitTimeSeconds: waitSeconds,
                                                VisibilityTimeout: visibilityTimeout,
                                                MessageSystemAttributeNames: ["All"]), Output.self).Messages ?? []
    }

    public func deleteMessage(queueURL: String, receiptHandle: String) throws {
        struct Input: Encodable { let QueueUrl: String, ReceiptHandle: String }
        _ = try call("DeleteMessage", Input(QueueUrl: queueURL, ReceiptHandle: receiptHandle), EmptyOutput.self)
    }

    /// The queue's ARN (what S3 notifications and SNS subscriptions name).
    public func queueARN(queueURL: String) throws -> String {
        guard let arn = try queueAttributes(queueURL: queueURL, names: ["QueueArn"])["QueueArn"] else {
            throw AWSError.invalidResponse(service: .sqs, operation: "GetQueueAttributes", reason: "no QueueArn")
        }
        return arn
    }

    /// The queue's attributes (all of them by default).
    public func queueAttributes(queueURL: String, names: [String] = ["All"]) throws -> [String: String] {
        struct Input: Encodable { let QueueUrl: String, AttributeNames: [String] }
        struct Output: Decodable { let Attributes: [String: String]? }
        return try call("GetQueueAttributes", Input(QueueUrl: queueURL, AttributeNames: names), Output.self).Attributes ?? [:]
    }
}
