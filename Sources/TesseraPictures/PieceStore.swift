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
        /// Until when (epoch milliseconds) an invocation holds the claim to send the request; nil when
        /// nobody does (see `requestReassembly`).
        public let claimedUntil: Int?
        /// The processor gave up on the picture for missing pieces (its last attempt): a piece stored
        /// now may complete it, so it asks again.
        public let stalled: Bool
        /// Whose claim `claimedUntil` is (the token of the invocation holding it).
        public let claimToken: String?

        public init(total: Int, sha256: String?, contentType: String?, reassemblyRequested: Bool,
                    claimedUntil: Int? = nil, stalled: Bool = false, claimToken: String? = nil) {
            self.total = total
            self.sha256 = sha256
            self.contentType = contentType
            self.reassemblyRequested = reassemblyRequested
            self.claimedUntil = claimedUntil
            self.stalled = stalled
            self.claimToken = claimToken
        }

        /// The record an item holds; nil for an item without a `total` (not an END record).
        init?(_ item: Item) {
            guard let total = item["total"]?.int else { return nil }
            self.init(total: total, sha256: item["sha256"]?.string, contentType: item["contentType"]?.string,
                      reassemblyRequested: item["requested"]?.boolValue ?? false,
                      claimedUntil: item["claimedUntil"]?.int, stalled: item["stalled"]?.boolValue ?? false,
                      claimToken: item["claimToken"]?.string)
        }
    }

    public let table: String
    let db: DynamoDBClient

    public init(table: String, db: DynamoDBClient) {
        self.table = table
        self.db = db
    }

    public static func pictureId(machineId: String, label: String) -> String { "\(machineId)/\(label)" }

    /// Stores piece `index` once; the same bytes again are a duplicate, other bytes a conflict. A piece
    /// above the total of an END already recorded is refused (`Tessera.InvalidEvent` naming `count`).
    /// Also gives the END record as read before the write (nil when none yet).
    public func storePiece(pictureId: String, index: Int, data: [UInt8],
                           expiresAt: Int) throws -> (outcome: Outcome, end: EndRecord?) {
        let end = try readEnd(pictureId: pictureId)
        return (try store(pictureId: pictureId, index: index, data: data, expiresAt: expiresAt, end: end), end)
    }

    private func store(pictureId: String, index: Int, data: [UInt8], expiresAt: Int, end: EndRecord?) throws -> Outcome {
        if let total = end?.total, index > total {
            throw EventError.invalidField("count", problem:
                "must be between 1 and \(total), the total the END of \(pictureId) recorded, got \(index)")
        }
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
    /// already there. With `claim`, an END stored by this call carries that claim to send the reassembly
    /// request from the start (see `requestReassembly`): the first delivery needs no request of its own to take it.
    ///
    /// An item at piece 0 without a `total` is what the unconditional `requested` mark of earlier
    /// versions left when the END record had vanished under it (no `total`, no `expiresAt`: it never
    /// expired, and every later END of that picture was a conflict); it is replaced by this END.
    public func storeEnd(pictureId: String, total: Int, sha256: String?, contentType: String?,
                         expiresAt: Int, claim: (token: String, until: Int)? = nil) throws -> EndRecord {
        var item: Item = ["pictureId": .s(pictureId), "piece": .number(0), "total": .number(total),
                          "expiresAt": .number(expiresAt), "requested": .bool(false)]
        if let sha256 { item["sha256"] = .s(sha256) }
        if let contentType { item["contentType"] = .s(contentType) }
        if let claim {
            item["claimedUntil"] = .number(claim.until)
            item["claimToken"] = .s(claim.token)
        }
        let fresh = EndRecord(total: total, sha256: sha256, contentType: contentType, reassemblyRequested: false,
                              claimedUntil: claim?.until, claimToken: claim?.token)
        // A round fails only when another writer changed piece 0 between its two calls; five are plenty.
        for _ in 0..<5 {
            if try putIfAbsent(item) { return fresh }
            guard let stored = try db.getItem(table: table, key: key(pictureId, 0), consistentRead: true) else {
                continue  // reassembled or expired between the two calls: store it again
            }
            guard let record = EndRecord(stored) else {
                if try put(item, condition: .init("attribute_not_exists(#total)", names: ["#total": "total"])) {
                    return fresh
                }
                continue
            }
            guard record.total == total, record.sha256 == sha256 else {
                throw PieceError.conflictingEnd(pictureId: pictureId,
                                                stored: "\(record.total) pieces, sha256 \(record.sha256 ?? "none")",
                                                new: "\(total) pieces, sha256 \(sha256 ?? "none")")
            }
            return record
        }
        throw PieceError.endRecordUnsettled(pictureId: pictureId)
    }

    /// Clears a stalled picture's `requested` mark so its reassembly can be requested again; the END
    /// record as reopened, or nil when it was not stalled (or another delivery reopened it first).
    public func reopenStalled(pictureId: String) throws -> EndRecord? {
        do {
            let item = try db.updateItem(table: table, key: key(pictureId, 0), update: .init(
                "SET #requested = :no REMOVE #stalled", names: ["#requested": "requested", "#stalled": "stalled"],
                values: [":no": .bool(false), ":yes": .bool(true)]), condition: "#stalled = :yes", returnValues: "ALL_NEW")
            return item.flatMap(EndRecord.init)
        } catch let error as AWSError where error.code == "ConditionalCheckFailedException" {
            return nil
        }
    }

    /// The END record as stored now (consistent read), or nil when there is none.
    public func readEnd(pictureId: String) throws -> EndRecord? {
        try db.getItem(table: table, key: key(pictureId, 0), consistentRead: true).flatMap(EndRecord.init)
    }

    func key(_ pictureId: String, _ piece: Int) -> Item {
        ["pictureId": .s(pictureId), "piece": .number(piece)]
    }

    /// Puts the item unless one with its key exists; false when one does.
    private func putIfAbsent(_ item: Item) throws -> Bool {
        try put(item, condition: .init("attribute_not_exists(#piece)", names: ["#piece": "piece"]))
    }

    /// Puts the item if `condition` holds; false when it does not.
    private func put(_ item: Item, condition: DynamoDBClient.Expression) throws -> Bool {
        do {
            try db.putItem(table: table, item: item, condition: condition)
            return true
        } catch let error as AWSError where error.code == "ConditionalCheckFailedException" {
            return false
        }
    }

    /// Applies `update` to the item if `condition` holds; false when it does not (or the item is gone).
    func update(_ pictureId: String, piece: Int, _ update: DynamoDBClient.Expression, condition: String) throws -> Bool {
        do {
            try db.updateItem(table: table, key: key(pictureId, piece), update: update, condition: condition)
            return true
        } catch let error as AWSError where error.code == "ConditionalCheckFailedException" {
            return false
        }
    }
}

/// A piece or END that contradicts what is already stored (the stored data is kept), or an END whose
/// reassembly request cannot be settled in this invocation.
public enum PieceError: LambdaReportableError, Equatable {
    case conflictingPiece(pictureId: String, index: Int, storedBytes: Int, newBytes: Int)
    case conflictingEnd(pictureId: String, stored: String, new: String)
    /// Another invocation holds the claim to send the reassembly request and did not mark it sent
    /// within the wait. Failing makes Lambda retry this delivery a minute later, when the claim is
    /// either marked sent (then: duplicate) or expired (then: this delivery sends it).
    case reassemblyPending(pictureId: String, claimedUntil: Int)
    /// Piece 0 kept changing under every attempt to store or claim END (concurrent writers); Lambda retries.
    case endRecordUnsettled(pictureId: String)

    public var errorType: String {
        switch self {
        case .conflictingPiece: "Tessera.ConflictingPiece"
        case .conflictingEnd: "Tessera.ConflictingEnd"
        case .reassemblyPending: "Tessera.ReassemblyPending"
        case .endRecordUnsettled: "Tessera.EndRecordUnsettled"
        }
    }

    public var description: String {
        switch self {
        case let .conflictingPiece(id, index, stored, new):
            "conflicting piece \(index) of \(id): a different \(stored)-byte piece is already stored and is kept; "
                + "refused the new \(new)-byte one"
        case let .conflictingEnd(id, stored, new):
            "conflicting END for \(id): stored \(stored), received \(new); the stored END is kept"
        case let .reassemblyPending(id, until):
            "the reassembly request for \(id) is being sent by another invocation, whose claim lasts until "
                + "\(UTCTime(epochMilliseconds: until).iso8601); not sent twice: retry after that"
        case let .endRecordUnsettled(id):
            "the END record of \(id) kept changing under concurrent writers; retry"
        }
    }
}
