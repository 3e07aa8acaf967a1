/// Amazon SQS over its AWS JSON 1.0 protocol, signed and retried by `AWSClient`.
public struct SQSClient {
    let aws: AWSClient

    public init(aws: AWSClient) { self.aws = aws }

    /// A received message.
    public struct Message: Sendable, Decodable, Equatable {
        public let MessageId: String
        public let ReceiptHandle: String
        public let Body: String
        public let Attributes: [String: String]?
    }

    /// Sends a message; returns its id.
    @discardableResult
    public func sendMessage(queueURL: String, body: String, delaySeconds: Int? = nil) throws -> String {
        struct Input: Encodable { let QueueUrl: String, MessageBody: String, DelaySeconds: Int? }
        struct Output: Decodable { let MessageId: String }
        return try call("SendMessage", Input(QueueUrl: queueURL, MessageBody: body, DelaySeconds: delaySeconds),
                        Output.self).MessageId
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

    private func call<Output: Decodable>(_ operation: String, _ input: some Encodable, _ output: Output.Type) throws -> Output {
        try aws.callJSON(.sqs, target: "AmazonSQS", operation: operation, input: input, as: output)
    }
}
