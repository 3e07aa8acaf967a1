import Testing
import TesseraEvents
import TesseraPictures
import TesseraSupport

struct PieceStorageConfigTests {
    let base = ["PIECES_TABLE": "pieces", "REASSEMBLY_QUEUE_URL": "https://sqs.eu-west-1.amazonaws.com/123456789012/q",
                "AWS_REGION": "eu-west-1", "AWS_ACCESS_KEY_ID": "AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY": "secret"]

    func config(_ changes: [String: String] = [:]) throws -> PieceStorageConfig {
        try PieceStorageConfig.fromEnvironment(Environment(base.merging(changes) { $1 }))
    }

    @Test func defaults() throws {
        let config = try config()
        #expect(config.limits.maxPieceBytes == 65_536)
        #expect(config.limits.maxPieces == 1_000)
        #expect(config.pieceTTLSeconds == 86_400)
        #expect(config.reassemblyClaim == ReassemblyClaimPolicy(leaseMilliseconds: 30_000, waitMilliseconds: 5_000,
                                                                safetyMilliseconds: 2_000))
    }

    @Test func maxPieceBytesStopsAtWhatOneIoTMessageCarries() throws {
        #expect(try config(["MAX_PIECE_BYTES": "98070"]).limits.maxPieceBytes == 98_070)
        #expect(try config(["MAX_PIECE_BYTES": "1"]).limits.maxPieceBytes == 1)
        #expect(throws: ConfigurationError(variable: "MAX_PIECE_BYTES", problem: "must be between 1 and 98070, got 98071: "
            + "a larger piece's base64 and JSON (identifiers of up to 128 characters) cannot fit one 128 KB AWS IoT Core message")) {
            try config(["MAX_PIECE_BYTES": "98071"])
        }
        #expect(throws: ConfigurationError(variable: "MAX_PIECE_BYTES", problem: "must be a whole number, got \"96k\"")) {
            try config(["MAX_PIECE_BYTES": "96k"])
        }
    }
}
