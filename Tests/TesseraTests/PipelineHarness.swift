import Foundation
import TesseraAWS
import TesseraLocal
import TesseraSupport

/// The whole pipeline in the emulator, with the real function binaries behind local Runtime APIs, and
/// the test playing Lambda's event source mapping: receive from SQS, invoke with an SQS event, delete
/// what the function did not report as failed (the queue's redrive policy does the rest).
final class PipelineHarness {
    let aws: AWSClient
    let db: DynamoDBClient, s3: S3Client, sqs: SQSClient, sns: SNSClient
    let piecesTable = Emulator.uniqueName("pieces"), picturesTable = Emulator.uniqueName("pictures")
    let originals = Emulator.uniqueName("originals"), renditions = Emulator.uniqueName("renditions")
    let reassemblyQueue: String, reassemblyDLQ: String, resizeQueue: String, watchQueue: String
    let topic: String
    let storageAPI: LocalRuntimeAPI, processorAPI: LocalRuntimeAPI
    let storage: ChildProcess, processor: ChildProcess
    /// With `proxied`: what each function asked of AWS (see CountingProxy).
    let storageRequests: CountingProxy?, processorRequests: CountingProxy?

    /// The queues' visibility timeouts are template.yaml's own, read as the local stack reads them: a
    /// message that fails comes back within a test only because the processor shortens its visibility.
    init(maxAttempts: Int = 3, variables: [String: String] = Emulator.variables,
         extra: [String: String] = [:], invocationTimeoutMs: Int = 60_000, proxied: Bool = false) throws {
        aws = AWSClient(config: try AWSConfig.fromEnvironment(Environment(variables)),
                        retryPolicy: RetryPolicy(baseDelay: 0.05))
        db = DynamoDBClient(aws: aws); s3 = S3Client(aws: aws); sqs = SQSClient(aws: aws); sns = SNSClient(aws: aws)
        try db.createTable(.init(name: piecesTable, partitionKey: ("pictureId", "S"), sortKey: ("piece", "N")))
        try db.enableTimeToLive(table: piecesTable, attribute: "expiresAt")
        try db.createTable(.init(name: picturesTable, partitionKey: ("collection", "S"), sortKey: ("name", "S")))
        try s3.createBucket(originals)
        try s3.createBucket(renditions)
        reassemblyDLQ = try sqs.createQueue(name: Emulator.uniqueName("reassembly-dlq"))
        reassemblyQueue = try sqs.createQueue(name: Emulator.uniqueName("reassembly"), attributes: [
            "VisibilityTimeout": try TemplateQueues.visibilityTimeout("ReassemblyQueue"),
            "RedrivePolicy": "{\"deadLetterTargetArn\":\"\(try sqs.queueARN(queueURL: reassemblyDLQ))\",\"maxReceiveCount\":\"\(maxAttempts)\"}",
        ])
        resizeQueue = try sqs.createQueue(name: Emulator.uniqueName("resize"), attributes: [
            "VisibilityTimeout": try TemplateQueues.visibilityTimeout("ResizeQueue")])
        try s3.notifyQueueOnCreate(bucket: originals, queueARN: try sqs.queueARN(queueURL: resizeQueue))
        topic = try sns.createTopic(name: Emulator.uniqueName("notify"))
        watchQueue = try sqs.createQueue(name: Emulator.uniqueName("watch"))
        try sns.subscribeQueue(topicARN: topic, queueARN: try sqs.queueARN(queueURL: watchQueue))

        var env = variables
        env.merge(["PIECES_TABLE": piecesTable, "REASSEMBLY_QUEUE_URL": reassemblyQueue, "ORIGINALS_BUCKET": originals,
                   "RENDITIONS_BUCKET": renditions, "PICTURES_TABLE": picturesTable, "NOTIFY_TOPIC_ARN": topic,
                   "REASSEMBLY_MAX_ATTEMPTS": String(maxAttempts), "AWS_LAMBDA_LOG_FORMAT": "JSON",
                   "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128"]) { _, new in new }
        env.merge(extra) { _, new in new }
        storageAPI = try LocalRuntimeAPI(functionARN: "arn:aws:lambda:us-east-1:123456789012:function:piece-storage")
        processorAPI = try LocalRuntimeAPI(functionARN: "arn:aws:lambda:us-east-1:123456789012:function:picture-processor",
                                           invocationTimeoutMs: invocationTimeoutMs)
        let upstream = env["AWS_ENDPOINT_URL"] ?? ""
        storageRequests = proxied ? try CountingProxy(upstream: upstream) : nil
        processorRequests = proxied ? try CountingProxy(upstream: upstream) : nil
        env["AWS_LAMBDA_RUNTIME_API"] = storageAPI.endpoint
        if let storageRequests { env["AWS_ENDPOINT_URL"] = storageRequests.endpoint }
        storage = try FunctionProcess.start("piece-storage", environment: env)
        env["AWS_LAMBDA_RUNTIME_API"] = processorAPI.endpoint
        if let processorRequests { env["AWS_ENDPOINT_URL"] = processorRequests.endpoint }
        processor = try FunctionProcess.start("picture-processor", environment: env)
    }

    func stop() {
        storage.terminate()
        processor.terminate()
        storageAPI.stop()
        processorAPI.stop()
        storageRequests?.stop()
        processorRequests?.stop()
    }

    /// Invokes piece-storage as the IoT rule would for a device's message on its own topic.
    func deliver(_ message: String) -> LocalRuntimeAPI.Outcome? {
        guard let event = try? PiecesRule.event(ofOwn: message) else { return nil }
        return storageAPI.invoke(event, timeout: 30)
    }

    typealias Poll = EventSourceMapping.Poll

    /// Receives a batch from `queue` and invokes the processor with it, as Lambda's mapping does.
    @discardableResult
    func poll(_ queue: String, wait: Int = 1) throws -> Poll {
        try EventSourceMapping(queueURL: queue, sqs: sqs, api: processorAPI).poll(waitSeconds: wait)
    }

    /// Polls `queue` until a poll finds nothing (or `rounds` run out).
    @discardableResult
    func drain(_ queue: String, rounds: Int = 10) throws -> [Poll] {
        try EventSourceMapping(queueURL: queue, sqs: sqs, api: processorAPI).drain(rounds: rounds)
    }

    /// The notifications published so far: (event attribute, message JSON).
    func notifications(wait: Int = 1) throws -> [(event: String, message: [String: Any])] {
        var all: [(String, [String: Any])] = []
        while true {
            let batch = try sqs.receiveMessages(queueURL: watchQueue, max: 10, waitSeconds: all.isEmpty ? wait : 0)
            if batch.isEmpty { return all }
            for message in batch {
                try sqs.deleteMessage(queueURL: watchQueue, receiptHandle: message.ReceiptHandle)
                let envelope = try JSONSerialization.jsonObject(with: Data(message.Body.utf8)) as? [String: Any] ?? [:]
                let attributes = envelope["MessageAttributes"] as? [String: [String: String]]
                let body = (envelope["Message"] as? String).flatMap {
                    try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
                } ?? [:]
                all.append((attributes?["event"]?["Value"] ?? "?", body))
            }
        }
    }

    /// Every piece row left for the picture.
    func pieceRows(_ pictureId: String) throws -> [Item] {
        try db.queryAll(table: piecesTable, keyCondition: .init("#id = :id", names: ["#id": "pictureId"],
                                                                 values: [":id": .s(pictureId)]), consistentRead: true)
    }

    func picture(_ collection: String, _ name: String) throws -> Item? {
        try db.getItem(table: picturesTable, key: ["collection": .s(collection), "name": .s(name)], consistentRead: true)
    }

    var logs: String { "piece-storage:\n\(storage.log)\npicture-processor:\n\(processor.log)" }
}

/// template.yaml's queue settings, as `tessera local up` gives them to the queues it creates.
enum TemplateQueues {
    static let template = Result { try LocalTemplate.load(LocalTemplateTests.root.appendingPathComponent("template.yaml").path) }

    /// The queue's `VisibilityTimeout` in seconds, as the template declares it.
    static func visibilityTimeout(_ logicalId: String) throws -> String {
        let template = try template.get()
        guard let value = template.resource(logicalId)?.properties["VisibilityTimeout"] else {
            throw TemplateError.malformed("\(logicalId) has no VisibilityTimeout in template.yaml")
        }
        return try template.string(value)
    }
}
