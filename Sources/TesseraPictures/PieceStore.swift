import TesseraAWS
import TesseraEvents
import TesseraRuntime
import TesseraSupport

/// The pieces table (DESIGN.md): one shared table, `pictureId` = "machine/label", `piece` 1..N, 0 for END.
public struct PieceStore {
    /// What storing a piece did.
    public enum Outcome: String, Sendable, Equatable {
        case stored
        /// The same bytes were already there (an at-least-once redelivery): nothing written.
        case duplicate
    }

    /// The END record of a picture.
    public struct EndRecord: Sendable, Equatable {
        public let total: Int
        public let sha256: String?
        public let contentType: String?
        /// Whether the reassembly request for it was sent.
        public let reassemblyRequested: Bool
    }

    public let table: String
    let db: DynamoDBClient

    public init(table: String, db: DynamoDBClient) {
        self.table = table
        self.db = db
    }

    public static func pictureId(machineId: String, label: String) -> String { "\(machineId)/\(label)" }

    /// Stores piece `index` once; the same bytes again are a duplicate, other bytes a conflict.
    public func storePiece(pictureId: String, index: Int, data: [UInt8], expiresAt: Int) throws -> Outcome {
        let item: Item = ["pictureId": .s(pictureId), "piece": .number(index), "data": .b(data),
                          "expiresAt": .number(expiresAt)]
        if try putIfAbsent(item) { return .stored }
        guard let stored = try db.getItem(table: table, key: key(pictureId, index), consistentRead: true) else {
            // It expired or was reassembled between the two calls: store it now.
            return try putIfAbsent(item) ? .stored : .duplicate
        }
        guard stored["data"]?.bytes == data else {
            throw PieceError.conflictingPiece(pictureId: pictureId, index: index,
                                              storedBytes: stored["data"]?.bytes?.count ?? 0, newBytes: data.count)
        }
        return .duplicate
    }

    /// Records END (piece 0) once; returns the record as stored, or throws if it conflicts with one
    /// already there.
    public func storeEnd(pictureId: String, total: Int, sha256: String?, contentType: String?,
                         expiresAt: Int) throws -> EndRecord {
        var item: Item = ["pictureId": .s(pictureId), "piece": .number(0), "total": .number(total),
                          "expiresAt": .number(expiresAt), "requested": .bool(false)]
        if let sha256 { item["sha256"] = .s(sha256) }
        if let contentType { item["contentType"] = .s(contentType) }
        let fresh = EndRecord(total: total, sha256: sha256, contentType: contentType, reassemblyRequested: false)
        if try putIfAbsent(item) { return fresh }
        guard let stored = try db.getItem(table: table, key: key(pictureId, 0), consistentRead: true) else {
            return try putIfAbsent(item) ? fresh : try storeEnd(pictureId: pictureId, total: total, sha256: sha256,
                                                                 contentType: contentType, expiresAt: expiresAt)
        }
        let record = EndRecord(total: stored["total"]?.int ?? -1, sha256: stored["sha256"]?.string,
                               contentType: stored["contentType"]?.string,
                               reassemblyRequested: stored["requested"]?.boolValue ?? false)
        guard record.total == total, record.sha256 == sha256 else {
            throw PieceError.conflictingEnd(pictureId: pictureId, stored: "\(record.total) pieces, sha256 \(record.sha256 ?? "none")",
                                            new: "\(total) pieces, sha256 \(sha256 ?? "none")")
        }
        return record
    }

    /// Notes that the reassembly request for this picture went out.
    public func markReassemblyRequested(pictureId: String) throws {
        try db.updateItem(table: table, key: key(pictureId, 0),
                          update: .init("SET #requested = :yes", names: ["#requested": "requested"],
                                        values: [":yes": .bool(true)]))
    }

    private func key(_ pictureId: String, _ piece: Int) -> Item {
        ["pictureId": .s(pictureId), "piece": .number(piece)]
    }

    /// Puts the item unless one with its key exists; false when one does.
    private func putIfAbsent(_ item: Item) throws -> Bool {
        do {
            try db.putItem(table: table, item: item,
                           condition: .init("attribute_not_exists(#piece)", names: ["#piece": "piece"]))
            return true
        } catch let error as AWSError where error.code == "ConditionalCheckFailedException" {
            return false
        }
    }
}

/// A piece that contradicts what is already stored; the stored data is kept.
public enum PieceError: LambdaReportableError, Equatable {
    case conflictingPiece(pictureId: String, index: Int, storedBytes: Int, newBytes: Int)
    case conflictingEnd(pictureId: String, stored: String, new: String)

    public var errorType: String {
        switch self {
        case .conflictingPiece: "Tessera.ConflictingPiece"
        case .conflictingEnd: "Tessera.ConflictingEnd"
        }
    }

    public var description: String {
        switch self {
        case let .conflictingPiece(id, index, stored, new):
            "conflicting piece \(index) of \(id): a different \(stored)-byte piece is already stored and is kept; "
                + "refused the new \(new)-byte one"
        case let .conflictingEnd(id, stored, new):
            "conflicting END for \(id): stored \(stored), received \(new); the stored END is kept"
        }
    }
}
