import TesseraSupport

/// The SQS message piece storage sends when a picture's END arrives (DESIGN.md, "Reassembly request").
public struct ReassemblyRequest: Sendable, Equatable, Codable {
    public let machineId: String
    public let label: String
    public let pieces: Int
    public let sha256: String?

    public init(machineId: String, label: String, pieces: Int, sha256: String?) {
        self.machineId = machineId
        self.label = label
        self.pieces = pieces
        self.sha256 = sha256
    }

    enum CodingKeys: String, CodingKey {
        case machineId = "machine_id", label, pieces, sha256
    }
}
