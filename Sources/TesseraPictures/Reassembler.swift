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

    public func reassemble(_ request: ReassemblyRequest, maxBytes: Int) throws -> Outcome {
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
            else if end != nil { return .incomplete(total: total, missing: missing) }
            return .stored(key: picture.key, bytes: head.size, sha256: sha, alreadyThere: true)
        }
        guard size <= maxBytes else { return .tooLarge(bytes: size, limit: maxBytes) }
        let digest = hexString(SHA256.hash(joined))
        if let expected = request.sha256, expected != digest {
            return .checksumMismatch(expected: expected, actual: digest)
        }
        if let reason = Self.notWholeJPEG(joined) { return .notJPEG(reason: reason) }

        let head = try s3.headObject(bucket: originalsBucket, key: picture.key)
        var alreadyThere = head?.metadata["sha256"] == digest
        if !alreadyThere {
            // Conditional on what the HEAD saw: a PutObject retried after its answer was lost, or a second
            // reassembly of a duplicated request running at the same time, would otherwise write a second
            // version of the same bytes (the bucket is versioned), with an S3 event and a picture.ready of its own.
            do {
                try s3.putObject(bucket: originalsBucket, key: picture.key, body: joined, contentType: "image/jpeg",
                                 metadata: ["sha256": digest, "source": "iot", "pieces": String(total),
                                            // The thing IoT Core checked at the connection (piece-storage refuses a
                                            // machine_id that is not it): the picture is that device's.
                                            "owner": Owner.device(request.machineId)],
                                 condition: head.map { S3Client.PutCondition.etag($0.etag) } ?? .noObject)
            } catch let AWSError.service(failure) where failure.code == "PreconditionFailed" || failure.status == 412 {
                // Written since the HEAD: these bytes (the lost attempt's, the other run's) are done; anything
                // else is a newer write to look at again later.
                guard try s3.headObject(bucket: originalsBucket, key: picture.key)?.metadata["sha256"] == digest else {
                    throw AWSError.service(failure)
                }
                alreadyThere = true
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
