import TesseraHTTP
import TesseraSupport

/// Amazon SQS over its AWS JSON 1.0 protocol, signed and retried by `AWSClient`.
public struct SQSClient {
    package let aws: AWSClient

    public init(aws: AWSClient) { self.aws = aws }

    /// Sends a message; returns its id.
    @discardableResult
    public func sendMessage(queueURL: String, body: String, delaySeconds: Int? = nil) throws -> String {
        struct Input: Encodable { let QueueUrl: String, MessageBody: String, DelaySeconds: Int? }
        struct Output: Decodable { let MessageId: String }
        return try call("SendMessage", Input(QueueUrl: queueURL, MessageBody: body, DelaySeconds: delaySeconds),
                        Output.self).MessageId
    }

    package func call<Output: Decodable>(_ operation: String, _ input: some Encodable, _ output: Output.Type) throws -> Output {
        try aws.callJSON(.sqs, target: "AmazonSQS", operation: operation, input: input, as: output)
    }
}
