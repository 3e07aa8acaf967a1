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
    /// Who sends a picture's one reassembly request when END arrives several times at once.
    public var reassemblyClaim = ReassemblyClaimPolicy()

    /// The largest decoded piece whose base64 and JSON envelope fit one AWS IoT Core message (128 KB),
    /// with both identifiers at their 128-character limit: 98070 bytes. A larger piece cannot arrive.
    public static let pieceBytesCeiling = IoTPieceMessage.maxPieceBytesCeiling

    /// 64 KiB: a round size for device firmware, whose message (87384 base64 characters and the
    /// envelope) leaves over 40 KB of the 128 KB IoT Core limit for extra fields and whitespace.
    public static let defaultPieceBytes = 65_536

    /// Reads `PIECES_TABLE`, `REASSEMBLY_QUEUE_URL`, `PIECE_TTL_SECONDS` (86400), `MAX_PIECES` (1000),
    /// `MAX_PIECE_BYTES` (65536, at most 98070) and the AWS variables; the error names the variable at fault.
    public static func fromEnvironment(_ env: Environment) throws -> PieceStorageConfig {
        let queue = try env.required("REASSEMBLY_QUEUE_URL")
        guard Endpoint(queue, isOverride: true) != nil else {
            throw ConfigurationError(variable: "REASSEMBLY_QUEUE_URL", problem: "must be an SQS queue URL, got \"\(queue)\"")
        }
        let maxPieceBytes = try env.integer("MAX_PIECE_BYTES", default: defaultPieceBytes, range: Int.min...Int.max)
        guard (1...pieceBytesCeiling).contains(maxPieceBytes) else {
            throw ConfigurationError(variable: "MAX_PIECE_BYTES", problem:
                "must be between 1 and \(pieceBytesCeiling), got \(maxPieceBytes): a larger piece's base64 and "
                + "JSON (identifiers of up to 128 characters) cannot fit one 128 KB AWS IoT Core message")
        }
        return PieceStorageConfig(
            piecesTable: try env.required("PIECES_TABLE"),
            reassemblyQueueURL: queue,
            pieceTTLSeconds: try env.integer("PIECE_TTL_SECONDS", default: 86_400, range: 60...31_536_000),
            limits: .init(maxPieces: try env.integer("MAX_PIECES", default: 1_000, range: 1...100_000),
                          maxPieceBytes: maxPieceBytes),
            aws: try AWSConfig.fromEnvironment(env))
    }
}
