import TesseraAWS
import TesseraEvents
import TesseraRuntime
import TesseraSupport

/// The piece-storage function's configuration, read once at start-up.
public struct PieceStorageConfig: Sendable {
    public var piecesTable: String
    public var reassemblyQueueURL: String
    public var pieceTTLSeconds: Int
    public var limits: IoTPieceMessage.Limits
    public var aws: AWSConfig

    /// The largest piece DynamoDB can hold with the item's other attributes (items stop at 400 KB).
    public static let pieceBytesCeiling = 399_000

    /// Reads `PIECES_TABLE`, `REASSEMBLY_QUEUE_URL`, `PIECE_TTL_SECONDS` (86400), `MAX_PIECES` (1000),
    /// `MAX_PIECE_BYTES` (98304) and the AWS variables; the error names the variable at fault.
    public static func fromEnvironment(_ env: Environment) throws -> PieceStorageConfig {
        let queue = try env.required("REASSEMBLY_QUEUE_URL")
        guard Endpoint(queue, isOverride: true) != nil else {
            throw ConfigurationError(variable: "REASSEMBLY_QUEUE_URL", problem: "must be an SQS queue URL, got \"\(queue)\"")
        }
        return PieceStorageConfig(
            piecesTable: try env.required("PIECES_TABLE"),
            reassemblyQueueURL: queue,
            pieceTTLSeconds: try env.integer("PIECE_TTL_SECONDS", default: 86_400, range: 60...31_536_000),
            limits: .init(maxPieces: try env.integer("MAX_PIECES", default: 1_000, range: 1...100_000),
                          maxPieceBytes: try env.integer("MAX_PIECE_BYTES", default: 98_304,
                                                         range: 1...pieceBytesCeiling)),
            aws: try AWSConfig.fromEnvironment(env))
    }
}
