import FoundationEssentials
import TesseraAWS
import TesseraEvents
import TesseraSupport

/// What Lambda's SQS event source mapping does, for the local stack and the tests: receive a batch,
/// invoke the function with an SQS event, delete the messages it did not report as failed (partial
/// batch response). Failed messages come back after the visibility timeout; the queue's redrive
/// policy moves them to the dead-letter queue after `maxReceiveCount` receives.
public struct EventSourceMapping {
    public let queueURL: String
    public let batchSize: Int
    let sqs: SQSClient
    let api: LocalRuntimeAPI

    /// The queue's ARN as Lambda puts it in each record, from its URL (`.../ACCOUNT/NAME`).
    var queueARN: String {
        let parts = queueURL.split(separator: "/")
        return "arn:aws:sqs:\(sqs.aws.config.region):\(parts.dropLast().last ?? "123456789012"):\(parts.last ?? "")"
    }

    public init(queueURL: String, sqs: SQSClient, api: LocalRuntimeAPI, batchSize: Int = 10) {
        self.queueURL = queueURL
        self.sqs = sqs
        self.api = api
        self.batchSize = batchSize
    }

    /// One poll: how many messages came, which the function reported failed, and its answer.
    public struct Poll: Sendable {
        public let received: Int
        public let failed: [String]
        public let outcome: LocalRuntimeAPI.Outcome?
        /// Messages received before (ApproximateReceiveCount above 1): redeliveries.
        public var redelivered = 0
    }

    public func poll(waitSeconds: Int = 1, timeout: Double = 60) throws -> Poll {
        let messages = try sqs.receiveMessages(queueURL: queueURL, max: batchSize, waitSeconds: waitSeconds)
        guard !messages.isEmpty else { return Poll(received: 0, failed: [], outcome: nil) }
        let records = messages.map { message in
            "{\"messageId\":\(jsonQuoted(message.MessageId)),\"receiptHandle\":\(jsonQuoted(message.ReceiptHandle)),"
                + "\"body\":\(jsonQuoted(message.Body)),\"attributes\":{\"ApproximateReceiveCount\":"
                + "\(jsonQuoted(message.Attributes?["ApproximateReceiveCount"] ?? "1"))"
                + (message.Attributes?["SentTimestamp"].map { ",\"SentTimestamp\":\(jsonQuoted($0))" } ?? "") + "},\"messageAttributes\":{},"
                + "\"eventSource\":\"aws:sqs\",\"eventSourceARN\":\(jsonQuoted(queueARN)),\"awsRegion\":\"us-east-1\"}"
        }
        let outcome = api.invoke(Array("{\"Records\":[\(records.joined(separator: ","))]}".utf8), timeout: timeout)
        var failed = messages.map(\.MessageId)  // an invocation error fails the whole batch, as in Lambda
        if case let .response(body)? = outcome, let reported = Self.batchItemFailures(body) { failed = reported }
        for message in messages where !failed.contains(message.MessageId) {
            try sqs.deleteMessage(queueURL: queueURL, receiptHandle: message.ReceiptHandle)
        }
        var poll = Poll(received: messages.count, failed: failed, outcome: outcome)
        poll.redelivered = messages.filter { (Int($0.Attributes?["ApproximateReceiveCount"] ?? "1") ?? 1) > 1 }.count
        return poll
    }

    /// Polls until a poll finds nothing, at most `rounds` times.
    @discardableResult
    public func drain(rounds: Int = 10) throws -> [Poll] {
        var polls: [Poll] = []
        for _ in 0..<rounds {
            let poll = try poll()
            if poll.received == 0 { break }
            polls.append(poll)
        }
        return polls
    }

    /// The ids of a partial batch response; nil when the answer is not one.
    static func batchItemFailures(_ body: [UInt8]) -> [String]? {
        guard case let .object(fields)? = try? JSONValue.parse(body), case let .array(items)? = fields["batchItemFailures"]
        else { return nil }
        return items.compactMap { item in
            guard case let .object(entry) = item, case let .string(id)? = entry["itemIdentifier"] else { return nil }
            return id
        }
    }
}
