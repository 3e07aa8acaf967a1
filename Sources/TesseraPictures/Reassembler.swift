import TesseraAWS
import TesseraEvents
import TesseraSupport

/// Joins a device's pieces into the original JPEG in S3, then removes them (DESIGN.md "picture-processor").
///
/// The pieces come from one consistent, paginated Query in piece order, so they are appended as they
/// arrive and no page outlives its turn. The original is written (with its SHA-256 as S3's checksum
/// and in its metadata) before any piece is deleted, and the END record is marked `reassembled` with
/// that SHA-256 before the clean-up starts. Pieces are deleted only when they provably belong to the
/// original in S3: a whole set joined now, or the rest of a clean-up whose END carries the mark. So a
/// redelivered or stale request never deletes the pieces of a newer upload under the same label.
public struct Reassembler {
    /// What a reassembly came to.
    public enum Outcome: Sendable, Equatable {
        /// The original is in S3 now (or already was) and the pieces are gone.
        case stored(key: String, bytes: Int, sha256: String, alreadyThere: Bool)
        /// Pieces are missing (numbers 1-based); the request may succeed later.
        case incomplete(total: Int, missing: [Int])
        /// Every piece is there but the joined bytes do not have the device's SHA-256.
        case checksumMismatch(expected: String, actual: String)
        /// Every piece is there but the result is not a whole JPEG.
        case notJPEG(reason: String)
        /// The joined picture is larger than the function can take.
        case tooLarge(bytes: Int, limit: Int)
        /// The END record stored now is of another upload under the same name (another total or
        /// checksum): this request is stale, and that upload has its own.
        case stale(reason: String)
    }

    public let piecesTable: String
    public let originalsBucket: String
    let db: DynamoDBClient
    let s3: S3Client

    public init(piecesTable: String, originalsBucket: String, db: DynamoDBClient, s3: S3Client) {
        self.piecesTable = piecesTable
        self.originalsBucket = originalsBucket
        self.db = db
        self.s3 = s3
    }

    /// Joins a picture's pieces into its original; `endAt` (epoch ms, when the END was queued) goes into
    /// the original's metadata so the resize can measure END-to-ready.
    /// How often the original's conditional write is tried against what the key was last seen holding.
    static let writeAttempts = 4

    public func reassemble(_ request: ReassemblyRequest, maxBytes: Int, endAt: Int? = nil) throws -> Outcome {
        let picture = PictureKey(collection: request.machineId, name: request.label)
        let pictureId = PieceStore.pictureId(machineId: request.machineId, label: request.label)
        // Parsing caps it; this keeps the arithmetic below safe for any caller.
        let total = min(max(request.pieces, 1), ReassemblyRequest.maxPieces)
        var end: Item?
        var expected = 1
        var missing: [Int] = []
        var present: [Int] = []
        var joined: [UInt8] = []
        var size = 0
        var startKey: Item?
        repeat {
            let page = try db.query(table: piecesTable, keyCondition: .init(
                "#id = :id", names: ["#id": "pictureId"], values: [":id": .s(pictureId)]),
                startKey: startKey, consistentRead: true)
            for item in page.items {
                guard let number = item["piece"]?.int else { continue }
                present.append(number)
                if number == 0 {
                    end = item
                    if let endTotal = item["total"]?.int, endTotal != request.pieces || item["sha256"]?.string != request.sha256 {
                        return .stale(reason: "the END stored now has \(endTotal) pieces and sha256 "
                            + "\(item["sha256"]?.string ?? "none"); the request has \(request.pieces) and \(request.sha256 ?? "none")")
                    }
                    continue
                }
                guard number <= total, number >= expected, let data = item["data"]?.bytes else { continue }
                if number > expected { missing.append(contentsOf: expected..<number) }
                expected = number + 1
                size += data.count
                guard missing.isEmpty, size <= maxBytes else { continue }
                if joined.isEmpty { joined.reserveCapacity(min(maxBytes, data.count * total)) }
                joined.append(contentsOf: data)
            }
            startKey = page.lastEvaluatedKey
        } while startKey != nil
        if expected <= total { missing.append(contentsOf: expected...total) }

        if !missing.isEmpty {
            // Pieces are missing, but the original may be in S3 already: an earlier run stored it.
            guard let head = try s3.headObject(bucket: originalsBucket, key: picture.key),
                  head.metadata["source"] == "iot", let sha = head.metadata["sha256"],
                  request.sha256 == nil || request.sha256 == sha, head.metadata["pieces"] == String(total) else {
                return .incomplete(total: total, missing: missing)
            }
            // Only the rest of that run's own clean-up is deleted: its END carries the mark. Without an
            // END (a duplicate request after the clean-up) what is there belongs to a newer upload.
            if let end, end["reassembled"]?.string == sha { try deletePieces(pictureId, present) }
            else if let end, request.sha256 == sha, end["sha256"]?.string == sha {
                // An END stored again after its picture was reassembled and cleaned up (a late or retried
                // delivery, a device sending the same photo again): the original is that photo, so it is
                // done, not incomplete, and the END must not hold the label for its TTL.
                try markReassembled(pictureId, sha256: sha)
                try deletePieces(pictureId, present)
            } else if end != nil { return .incomplete(total: total, missing: missing) }
            return .stored(key: picture.key, bytes: head.size, sha256: sha, alreadyThere: true)
        }
        guard size <= maxBytes else { return .tooLarge(bytes: size, limit: maxBytes) }
        let digest = hexString(SHA256.hash(joined))
        if let expected = request.sha256, expected != digest {
            return .checksumMismatch(expected: expected, actual: digest)
        }
        if let reason = Self.notWholeJPEG(joined) { return .notJPEG(reason: reason) }

        let metadata = ["sha256": digest, "source": "iot", "pieces": String(total),
                        // The thing IoT Core checked at the connection (piece-storage refuses a machine_id
                        // that is not it): the picture is that device's.
                        "owner": Owner.device(request.machineId)]
            .merging(endAt.map { ["end-at": String($0)] } ?? [:]) { kept, _ in kept }
        // Written only where no object is yet (one request, the usual case); where one is, it is looked at:
        // the same bytes (an earlier run of this request) are not written again, since a new version
        // would be resized and notified again.
        // Every write is conditional on what was last seen at the key, so a write this run did not see (a
        // duplicate request's, a retry's whose answer was lost) is never overwritten blindly: looked at again.
        var alreadyThere = false, seen: String?  // the ETag at the key, nil for no object
        for attempt in 0..<Self.writeAttempts {
            do {
                try s3.putObject(bucket: originalsBucket, key: picture.key, body: joined, contentType: "image/jpeg",
                                 metadata: metadata, ifAbsent: seen == nil, ifMatch: seen)
                break
            } catch let AWSError.service(error) where (error.status == 412 || error.status == 409) && attempt < Self.writeAttempts - 1 {
                // 409: a write to the key is in flight; 412: the key holds something else than was seen.
                if error.status == 409 { sleepSeconds(0.2 * Double(attempt + 1)) }
                let head = try s3.headObject(bucket: originalsBucket, key: picture.key)
                if head?.metadata["sha256"] == digest {
                    alreadyThere = true
                    break
                }
                seen = head?.etag
            }
        }
        // Without an END the pieces may be a newer upload's whose END is yet to come: that END's request
        // will find this original and clean up; until then they cost only their TTL.
        if end != nil {
            try markReassembled(pictureId, sha256: digest)
            try deletePieces(pictureId, present)
        }
        return .stored(key: picture.key, bytes: joined.count, sha256: digest, alreadyThere: alreadyThere)
    }

    /// Marks the END record with the original's SHA-256 before the clean-up, so a run interrupted in it
    /// can be finished, and nothing else can be taken for it. No END, nothing to mark.
    private func markReassembled(_ pictureId: String, sha256: String) throws {
        do {
            try db.updateItem(table: piecesTable, key: ["pictureId": .s(pictureId), "piece": .number(0)],
                              update: .init("SET #mark = :sha", names: ["#mark": "reassembled", "#piece": "piece"],
                                            values: [":sha": .s(sha256)]), condition: "attribute_exists(#piece)")
        } catch let error as AWSError where error.code == "ConditionalCheckFailedException" {
        }
    }

    /// Deletes the pieces, END (piece 0) last, so an interrupted clean-up still shows what it was.
    private func deletePieces(_ pictureId: String, _ numbers: [Int]) throws {
        let ordered = numbers.filter { $0 != 0 }.sorted() + (numbers.contains(0) ? [0] : [])
        try db.batchWrite(table: piecesTable, requests: ordered.map {
            .delete(key: ["pictureId": .s(pictureId), "piece": .number($0)])
        })
    }

    /// Why the bytes are not a whole JPEG (start and end markers), or nil when they are.
    static func notWholeJPEG(_ bytes: [UInt8]) -> String? {
        guard bytes.count >= 4, bytes[0] == 0xFF, bytes[1] == 0xD8, bytes[2] == 0xFF else {
            return "the joined pieces do not start with a JPEG start-of-image marker"
        }
        guard bytes[bytes.count - 2] == 0xFF, bytes[bytes.count - 1] == 0xD9 else {
            return "the joined pieces do not end with a JPEG end-of-image marker"
        }
        return nil
    }
}
