import TesseraAWS
import TesseraEvents
import TesseraImaging
import TesseraPictures
import TesseraRuntime
import TesseraSupport

/// picture-processor: SQS batches (reassembly requests, S3 notifications, SNS envelopes of them) and
/// S3 notifications delivered straight to Lambda (DESIGN.md "picture-processor").
///
/// Each record stands alone: a transient failure returns only its message to the queue (partial
/// batch response), a picture that can never be processed is recorded and notified once, and a
/// hostile JPEG costs no other record its turn.
public final class PictureProcessorHandler: LambdaHandler {
    let config: ProcessorConfig
    let aws: AWSClient
    /// Made on first use: codec handles and buffers cost nothing at start-up then.
    private var renderer: RenditionRenderer?

    /// A record is not started with less than this left, nor with less than a quarter of the time the
    /// invocation had: at 128 MB Lambda gives a fraction of a core, so one large picture can take seconds.
    static let recordReserveMilliseconds = 3_000

    public init(config: ProcessorConfig) {
        self.config = config
        aws = AWSClient(config: config.aws)
    }

    public func handle(_ event: [UInt8], context: LambdaContext) throws -> [UInt8] {
        let aws = aws.scoped(CallScope(context))
        let log = context.logger
        switch try ProcessorEvent.parse(event) {
        case let .queue(batch):
            var failed: [String] = []
            let reserve = max(Self.recordReserveMilliseconds, context.remainingMilliseconds / 4)
            for record in batch.records {
                // Every line about a record's picture carries it (`picture`).
                var recordLog = log
                do {
                    let message = try QueueMessage.parse(body: record.body)
                    recordLog = log.with(picture: Self.picture(of: message))
                    // A record is not started without time for it: a decode cannot be cut short, and an
                    // answer after the deadline would return the whole batch, done records included.
                    if context.deadlineMilliseconds > 0 && context.remainingMilliseconds < reserve {
                        recordLog.warn("message \(record.messageId) goes back to the queue: under \(reserve) ms left")
                        failed.append(record.messageId)
                        continue
                    }
                    switch message {
                    case let .s3(notification):
                        try handle(notification, redelivered: record.receiveCount > 1, aws: aws, log: recordLog, metrics: context.metrics)
                    case let .reassembly(request):
                        try reassemble(request, receiveCount: record.receiveCount, endAt: record.sentTimestamp, aws: aws, log: recordLog,
                                       metrics: context.metrics)
                    }
                } catch {
                    let (type, message) = errorReport(for: error)
                    recordLog.error("message \(record.messageId) goes back to the queue: \(type): \(message)")
                    failed.append(record.messageId)
                    switch error {
                    case ReassemblyError.piecesMissing:
                        changeVisibility(record, seconds: Self.lookAgainSeconds(afterAttempt: record.receiveCount),
                                         aws: aws, log: recordLog)
                    case ReassemblyError.gaveUp:
                        // The last attempt: visible again at once, so the queue's redrive policy moves it to the
                        // dead-letter queue now rather than after the visibility timeout.
                        changeVisibility(record, seconds: 0, aws: aws, log: recordLog)
                    default:
                        break
                    }
                }
            }
            let items = failed.map { "{\"itemIdentifier\":\(jsonQuoted($0))}" }.joined(separator: ",")
            return Array("{\"batchItemFailures\":[\(items)]}".utf8)
        case let .s3(notification):
            // Delivered straight to Lambda: a failure is thrown, so Lambda's own retries apply.
            if case let .records(events) = notification, events.count == 1 {
                _ = context.logger(about: PictureKey(objectKey: events[0].key).description)
            }
            try handle(notification, aws: aws, log: log, metrics: context.metrics)
            return Array("{}".utf8)
        }
    }

    /// When missing pieces are looked for again. END can overtake the last piece by milliseconds when Lambda
    /// runs deliveries side by side (2 s), a slow or throttled one by seconds (20 s), and a piece whose
    /// invocation failed is retried by Lambda 1 and then 2 minutes later (180 s): with the template's five
    /// receives the last look is 202 s after the first, past both retries, and the fifth receive is spare.
    static func lookAgainSeconds(afterAttempt attempt: Int) -> Int {
        let schedule = [2, 20, 180]
        return attempt >= 1 && attempt <= schedule.count ? schedule[attempt - 1] : 300
    }

    /// The receive on which missing pieces are given up on: the one before the queue's last, so that an
    /// attempt that dies giving up (a timeout, a crash) has one more receive to notify before the redrive
    /// moves the request to the dead-letter queue.
    static func lastAttempt(maxReceives: Int) -> Int { max(1, maxReceives - 1) }

    /// Makes a failed record visible again after `seconds` rather than the queue's visibility timeout.
    private func changeVisibility(_ record: SQSEvent.Record, seconds: Int, aws: AWSClient, log: LambdaLogger) {
        let sqs = SQSClient(aws: aws)
        guard let handle = record.receiptHandle, let arn = record.eventSourceARN, let queue = sqs.queueURL(arn: arn) else { return }
        do {
            try sqs.changeVisibility(queueURL: queue, receiptHandle: handle, seconds: seconds)
        } catch {
            // The queue's own timeout then applies: later, not lost.
            log.warn("message \(record.messageId): visibility not changed to \(seconds) s: \(errorReport(for: error).message)")
        }
    }

    /// The picture (`collection/name`) a queue message is about, when it names one.
    static func picture(of message: QueueMessage) -> String? {
        switch message {
        case let .reassembly(request):
            return PictureKey(collection: request.machineId, name: request.label).description
        case let .s3(notification):
            guard case let .records(events) = notification, let first = events.first,
                  events.allSatisfy({ $0.key == first.key }) else { return nil }
            return PictureKey(objectKey: first.key).description
        }
    }

    private func handle(_ notification: S3EventNotification, redelivered: Bool = false, aws: AWSClient, log: LambdaLogger,
                        metrics: InvocationMetrics) throws {
        guard case let .records(events) = notification else {
            log.info("s3:TestEvent ignored")
            return
        }
        if renderer == nil { renderer = try RenditionRenderer() }
        for event in events {
            let log = log.with(picture: PictureKey(objectKey: event.key).description)
            let step = OriginalProcessor(
                config: config, s3: S3Client(aws: aws),
                pictures: PicturesTable(table: config.picturesTable, db: DynamoDBClient(aws: aws)),
                notifier: Notifier(topicARN: config.notifyTopicARN, sns: SNSClient(aws: aws)), renderer: renderer!,
                metrics: metrics, log: { log.warn($0) })
            let outcome = try step.process(event, redelivered: redelivered)
            log.info("\(event.key): \(outcome)")
        }
    }

    private func reassemble(_ request: ReassemblyRequest, receiveCount: Int, endAt: Int?, aws: AWSClient, log: LambdaLogger,
                            metrics: InvocationMetrics) throws {
        let db = DynamoDBClient(aws: aws)
        let reassembler = Reassembler(piecesTable: config.piecesTable, originalsBucket: config.originalsBucket,
                                      db: db, s3: S3Client(aws: aws))
        let pieces = PieceOutcomes(table: config.piecesTable, db: db)
        let notifier = Notifier(topicARN: config.notifyTopicARN, sns: SNSClient(aws: aws))
        let picture = PictureKey(collection: request.machineId, name: request.label)
        var started = UTCTime.nowMilliseconds()
        var outcome = try reassembler.reassemble(request, maxBytes: config.limits.maxInputBytes, endAt: endAt)
        var markedStalled = false
        while true {
            log.info("reassembly of \(picture): \(outcome)")
            switch outcome {
            case let .stored(_, _, _, alreadyThere):
                // An original found already there was counted by the run that wrote it.
                if !alreadyThere {
                    metrics.add("ReassembliesComplete", 1)
                    metrics.add("ReassemblyMilliseconds", UTCTime.nowMilliseconds() - started, .milliseconds)
                }
                return
            case .stale:
                return
            case let .incomplete(total, missing):
                let last = Self.lastAttempt(maxReceives: config.reassemblyMaxAttempts)
                guard receiveCount >= last else {
                    throw ReassemblyError.piecesMissing(picture: "\(picture)", missing: PieceRanges.describe(missing),
                                                        attempt: receiveCount, of: last)
                }
                if !markedStalled {
                    // The last attempt: leave a mark so a late piece asks again, then look once more, since
                    // a piece stored before the mark was read has not seen it (the piece side re-reads END
                    // after its write, so one of the two always sees the other).
                    markedStalled = true
                    if try pieces.markStalled(request) {
                        started = UTCTime.nowMilliseconds()
                        outcome = try reassembler.reassemble(request, maxBytes: config.limits.maxInputBytes, endAt: endAt)
                        continue
                    }
                    // Marked already: by a duplicate of this request giving up now, which notifies, or by an
                    // attempt that died giving up, whose spare receive this is.
                    guard receiveCount > last else {
                        throw ReassemblyError.gaveUp(picture: "\(picture)", missing: PieceRanges.describe(missing))
                    }
                }
                // Published, then marked: an attempt that dies in between notifies again on the spare receive.
                if try pieces.incompleteNoticeDue(request) {
                    try notifier.incomplete(picture, pieces: total, missing: missing, checksumMismatch: false)
                    try pieces.markNotifiedIncomplete(request)
                    metrics.add("ReassembliesIncomplete", 1)
                }
                throw ReassemblyError.gaveUp(picture: "\(picture)", missing: PieceRanges.describe(missing))
            case .checksumMismatch:
                if try pieces.markSettled(request, as: "checksum-mismatch") {
                    try notifier.incomplete(picture, pieces: request.pieces, missing: [], checksumMismatch: true)
                    metrics.add("ReassembliesChecksumMismatch", 1)
                }
                return
            case let .notJPEG(reason):
                if try pieces.markSettled(request, as: "not-jpeg") {
                    try notifier.failed(picture, errorType: "Imaging.UnsupportedFormat", message: reason)
                    metrics.add("PicturesFailed", 1, dimensions: [("errorType", "Imaging.UnsupportedFormat")])
                }
                return
            case let .tooLarge(bytes, limit):
                if try pieces.markSettled(request, as: "too-large") {
                    let error = ImagingError.inputTooLarge(bytes: bytes, limit: limit)
                    try notifier.failed(picture, errorType: error.errorType, message: error.description)
                    metrics.add("PicturesFailed", 1, dimensions: [("errorType", error.errorType)])
                }
                return
            }
        }
    }
}

/// Why a reassembly request goes back to its queue.
public enum ReassemblyError: LambdaReportableError, Equatable {
    case piecesMissing(picture: String, missing: [String], attempt: Int, of: Int)
    /// The last attempt found pieces still missing: the message goes to the dead-letter queue.
    case gaveUp(picture: String, missing: [String])

    public var errorType: String {
        switch self {
        case .piecesMissing: "Tessera.PiecesMissing"
        case .gaveUp: "Tessera.PicturesIncomplete"
        }
    }

    public var description: String {
        switch self {
        case let .piecesMissing(picture, missing, attempt, of):
            "\(picture) is missing pieces \(missing.joined(separator: ", ")) (attempt \(attempt) of \(of)); tried again later"
        case let .gaveUp(picture, missing):
            "\(picture) is still missing pieces \(missing.joined(separator: ", ")) after the last attempt; "
                + "picture.incomplete sent, the request goes to the dead-letter queue, and a late piece asks again"
        }
    }
}
