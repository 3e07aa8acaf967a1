import FoundationEssentials
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
        let expiresAt = Int(time(nil)) + config.pieceTTLSeconds
        switch message {
        case let .piece(_, _, index, data):
            let outcome = try store.storePiece(pictureId: pictureId, index: index, data: data, expiresAt: expiresAt)
            context.logger.info("piece \(index) of \(pictureId): \(outcome.rawValue) (\(data.count) bytes)")
            return result(pictureId, piece: index, status: outcome.rawValue)

        case let .end(machineId, label, total, sha256, contentType):
            let record = try store.storeEnd(pictureId: pictureId, total: total, sha256: sha256,
                                            contentType: contentType, expiresAt: expiresAt)
            guard !record.reassemblyRequested else {
                context.logger.info("END of \(pictureId) again: reassembly was already requested")
                return result(pictureId, piece: 0, status: "duplicate")
            }
            // Sent before it is marked: a crash in between sends it again, never not at all.
            let request = ReassemblyRequest(machineId: machineId, label: label, pieces: total, sha256: sha256)
            let body = String(decoding: try JSONEncoder().encode(request), as: UTF8.self)
            try sqs.sendMessage(queueURL: config.reassemblyQueueURL, body: body)
            try store.markReassemblyRequested(pictureId: pictureId)
            context.logger.info("END of \(pictureId): \(total) pieces, reassembly requested")
            return result(pictureId, piece: 0, status: "reassembly-requested")
        }
    }

    private func result(_ pictureId: String, piece: Int, status: String) -> [UInt8] {
        Array("{\"pictureId\":\(jsonQuoted(pictureId)),\"piece\":\(piece),\"status\":\"\(status)\"}".utf8)
    }
}
