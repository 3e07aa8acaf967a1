import Glibc
import TesseraAWS
import TesseraEvents
import TesseraRuntime
import TesseraSupport

/// The piece-storage function: one IoT piece message per invocation, stored once; END asks for reassembly.
public final class PieceStorageHandler: LambdaHandler {
    let config: PieceStorageConfig
    let aws: AWSClient

    public init(config: PieceStorageConfig) {
        self.config = config
        aws = AWSClient(config: config.aws)
    }

    public func handle(_ event: [UInt8], context: LambdaContext) throws -> [UInt8] {
        let message = try IoTPieceMessage.parse(event, limits: config.limits)
        // Every AWS call of this invocation ends before its deadline and carries its trace id.
        let aws = aws.scoped(CallScope(context))
        let store = PieceStore(table: config.piecesTable, db: DynamoDBClient(aws: aws))
        let sqs = SQSClient(aws: aws)
        let pictureId = PieceStore.pictureId(machineId: message.machineId, label: message.label)
        // Every line about the picture carries it (`picture`), as do the invocation's error and metrics.
        let log = context.logger(about: pictureId)
        let expiresAt = Int(time(nil)) + config.pieceTTLSeconds
        switch message {
        case let .piece(machineId, label, index, data):
            let (outcome, end) = try store.storePiece(pictureId: pictureId, index: index, data: data, expiresAt: expiresAt)
            log.info("piece \(index) of \(pictureId): \(outcome.rawValue) (\(data.count) bytes)")
            switch outcome {
            case .stored: context.metrics.add("PiecesStored", 1)
            case .duplicate: context.metrics.add("PiecesDuplicate", 1)
            }
            // The processor gave up on this picture for missing pieces: this one may complete it, so the
            // request goes out again, without the device sending END again. END is read again after the
            // write: the processor marks `stalled` and then looks at the pieces again, so whichever
            // writes last sees the other's write.
            let stalled = outcome == .stored && end != nil ? try store.readEnd(pictureId: pictureId)?.stalled == true : false
            if stalled, let reopened = try store.reopenStalled(pictureId: pictureId) {
                let request = ReassemblyRequest(machineId: machineId, label: label, pieces: reopened.total,
                                                sha256: reopened.sha256)
                _ = try requestReassembly(request, end: reopened, token: Self.claimToken(context), store: store, sqs: sqs,
                                          context: context)
                log.info("late piece \(index) of \(pictureId): reassembly requested again")
                return result(pictureId, piece: index, status: "reassembly-requested")
            }
            return result(pictureId, piece: index, status: outcome.rawValue)

        case let .end(machineId, label, total, sha256, contentType):
            // The END this delivery stores carries its claim to send the request (ReassemblyClaimPolicy).
            let token = Self.claimToken(context)
            let record = try store.storeEnd(pictureId: pictureId, total: total, sha256: sha256, contentType: contentType,
                                            expiresAt: expiresAt,
                                            claim: (token, UTCTime.nowMilliseconds() + config.reassemblyClaim.leaseMilliseconds))
            let request = ReassemblyRequest(machineId: machineId, label: label, pieces: total, sha256: sha256)
            let outcome = try requestReassembly(request, end: record, token: token, store: store, sqs: sqs, context: context)
            switch outcome {
            case let .sent(markProblem):
                if let markProblem {
                    log.warn("END of \(pictureId): reassembly requested, not marked: \(markProblem)")
                } else {
                    log.info("END of \(pictureId): \(total) pieces, reassembly requested")
                }
                return result(pictureId, piece: 0, status: "reassembly-requested")
            case .alreadyRequested:
                log.info("END of \(pictureId) again: reassembly was already requested")
                return result(pictureId, piece: 0, status: "duplicate")
            case .endRecordGone:
                log.info("END of \(pictureId) again: its pieces are already reassembled and gone")
                return result(pictureId, piece: 0, status: "duplicate")
            }
        }
    }

    /// Sends the picture's one reassembly request: one delivery claims the send (see
    /// ReassemblyClaimPolicy), the others wait for its mark.
    private func requestReassembly(_ request: ReassemblyRequest, end: PieceStore.EndRecord, token: String, store: PieceStore,
                                   sqs: SQSClient, context: LambdaContext) throws -> PieceStore.ReassemblyOutcome {
        let body = String(decoding: try JSONEncoding.encode(request), as: UTF8.self)
        // One delivery claims the send (see ReassemblyClaimPolicy); the others wait for its mark.
        var policy = config.reassemblyClaim
        if context.deadlineMilliseconds > 0 {
            // Leave time to report the outcome before the invocation's deadline.
            policy.waitMilliseconds = max(0, min(policy.waitMilliseconds, context.remainingMilliseconds - 2_000))
        }
        let pictureId = PieceStore.pictureId(machineId: request.machineId, label: request.label)
        var reserveScope = CallScope(context)
        reserveScope.marginMilliseconds = 150
        let reserve = PieceStore(table: config.piecesTable, db: DynamoDBClient(aws: aws.scoped(reserveScope)))
        return try store.requestReassembly(pictureId: pictureId, end: end, token: token,
                                           policy: policy, releasingWith: reserve) { sendBy in
            // The send gives up before the claim's lease ends, so a live holder never sends after
            // another delivery could have taken the claim over.
            let sender = context.deadlineMilliseconds > 0 && context.deadlineMilliseconds <= sendBy ? sqs
                : SQSClient(aws: self.aws.scoped(CallScope(
                    deadlineMilliseconds: context.deadlineMilliseconds > 0
                        ? min(context.deadlineMilliseconds, sendBy) : sendBy,
                    traceId: context.traceId)))
            try sender.sendMessage(queueURL: config.reassemblyQueueURL, body: body)
        }
    }

    /// Unique to one invocation (Lambda keeps the request id across retries of an event, so add randomness).
    static func claimToken(_ context: LambdaContext) -> String {
        var generator = SystemRandomNumberGenerator()
        let random = (0..<2).flatMap { _ in withUnsafeBytes(of: generator.next() as UInt64) { Array($0) } }
        return "\(context.requestId)/\(hexString(random))"
    }

    private func result(_ pictureId: String, piece: Int, status: String) -> [UInt8] {
        Array("{\"pictureId\":\(jsonQuoted(pictureId)),\"piece\":\(piece),\"status\":\"\(status)\"}".utf8)
    }
}
