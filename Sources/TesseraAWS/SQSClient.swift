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

    /// Makes a received message visible again after `seconds` (0 to 43200) instead of its queue's timeout.
    public func changeVisibility(queueURL: String, receiptHandle: String, seconds: Int) throws {
        struct Input: Encodable { let QueueUrl: String, ReceiptHandle: String, VisibilityTimeout: Int }
        struct Output: Decodable {}
        _ = try call("ChangeMessageVisibility", Input(QueueUrl: queueURL, ReceiptHandle: receiptHandle,
                                                       VisibilityTimeout: seconds), Output.self)
    }

    /// The URL of the queue an ARN names (`arn:aws:sqs:REGION:ACCOUNT:NAME`), at this client's endpoint.
    public func queueURL(arn: String) -> String? {
        let parts = arn.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 6, parts[0] == "arn", parts[2] == "sqs", !parts[4].isEmpty, !parts[5].isEmpty else { return nil }
        let endpoint = aws.config.endpoint(for: .sqs)
        return "\(endpoint.scheme)://\(endpoint.host)\(endpoint.basePath)/\(parts[4])/\(parts[5])"
    }

    package func call<Output: Decodable>(_ operation: String, _ input: some Encodable, _ output: Output.Type) throws -> Output {
        try aws.callJSON(.sqs, target: "AmazonSQS", operation: operation, input: input, as: output)
    }
}
