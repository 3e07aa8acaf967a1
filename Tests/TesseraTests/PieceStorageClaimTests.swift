import Foundation
import Testing
import TesseraAWS
import TesseraEvents
import TesseraPictures
import TesseraSupport

/// The reassembly claim of `PieceStore` against the emulator's DynamoDB: who sends, what a vanished
/// END record does to the mark, how a crashed holder's claim ends.
struct PieceStorageClaimTests {
    let stack: PieceStorageStack
    let store: PieceStore

    init() throws {
        stack = try PieceStorageStack()
        store = PieceStore(table: stack.table, db: stack.db)
    }

    func end(_ pictureId: String, total: Int = 3) throws -> PieceStore.EndRecord {
        try store.storeEnd(pictureId: pictureId, total: total, sha256: nil, contentType: nil,
                           expiresAt: Int(Date().timeIntervalSince1970) + 3_600)
    }

    func item(_ pictureId: String) throws -> Item? {
        try stack.db.getItem(table: stack.table, key: ["pictureId": .s(pictureId), "piece": .number(0)], consistentRead: true)
    }

    func deleteEnd(_ pictureId: String) throws {
        try stack.db.deleteItem(table: stack.table, key: ["pictureId": .s(pictureId), "piece": .number(0)])
    }

    /// The END record vanishes (TTL, or the reassembler deleting the pieces) between the send and the
    /// mark: the mark does not recreate it, and the delivery reports the request sent.
    @Test func markAfterTheRecordVanishedDoesNotRecreateIt() throws {
        let id = "m/vanish"
        let record = try end(id)
        let now = UTCTime.nowMilliseconds()
        #expect(try store.claim(pictureId: id, end: record, token: "t1", now: now, until: now + 30_000))
        try deleteEnd(id)
        #expect(try store.markRequested(pictureId: id, token: "t1") == false)
        #expect(try item(id) == nil)
        #expect(try store.releaseClaim(pictureId: id, token: "t1") == false)
        #expect(try item(id) == nil)

        // The same through requestReassembly, the record deleted while the request is sent.
        let other = "m/vanish-during-send"
        var sends = 0
        let outcome = try store.requestReassembly(pictureId: other, end: try end(other), token: "t2") { _ in
            sends += 1
            try deleteEnd(other)
        }
        #expect(outcome == .sent(markProblem: "the END record is gone or was claimed again after this claim's lease"))
        #expect(sends == 1)
        #expect(try item(other) == nil)
        #expect(try stack.items(other).isEmpty)
    }

    /// A delivery that finds the record gone before it could claim it answers success without sending:
    /// the reassembler deletes only after the original is in S3.
    @Test func recordGoneBeforeTheClaimIsSuccessWithoutASend() throws {
        let id = "m/gone"
        let record = try end(id)
        let now = UTCTime.nowMilliseconds()
        #expect(try store.claim(pictureId: id, end: record, token: "holder", now: now, until: now + 30_000))
        let held = try #require(try store.readEnd(pictureId: id))
        // The holder sends, the reassembler finishes and deletes everything while this delivery waits
        // (a client of its own: one client is one connection, used by one thread at a time).
        let table = stack.table
        DispatchQueue.global().asyncAfter(deadline: .now() + 0.3) {
            _ = try? DynamoDBClient(aws: Emulator.client()).deleteItem(
                table: table, key: ["pictureId": .s(id), "piece": .number(0)])
        }
        let outcome = try store.requestReassembly(pictureId: id, end: held, token: "waiter") { _ in
            Issue.record("sent although another delivery holds the claim")
        }
        #expect(outcome == .endRecordGone)
        #expect(try item(id) == nil)
    }

    /// A holder that crashed after claiming blocks the picture only for the lease: a delivery within it
    /// fails as pending (so Lambda retries it), one after it claims and sends.
    @Test func crashedHolderBlocksOnlyForTheLease() throws {
        let id = "m/crashed"
        let record = try end(id)
        let lease = ReassemblyClaimPolicy(leaseMilliseconds: 2_000, waitMilliseconds: 300, safetyMilliseconds: 200)
        let start = UTCTime.nowMilliseconds()
        #expect(try store.claim(pictureId: id, end: record, token: "crashed", now: start, until: start + 2_000))
        let held = try #require(try store.readEnd(pictureId: id))
        #expect(held.claimedUntil == start + 2_000 && held.reassemblyRequested == false)

        do {
            _ = try store.requestReassembly(pictureId: id, end: held, token: "second", policy: lease) { _ in
                Issue.record("sent while the claim was held")
            }
            Issue.record("no error while the claim was held")
        } catch let error as PieceError {
            #expect(error == .reassemblyPending(pictureId: id, claimedUntil: start + 2_000))
            #expect(error.errorType == "Tessera.ReassemblyPending")
            #expect(error.description == "the reassembly request for m/crashed is being sent by another invocation, "
                + "whose claim lasts until \(UTCTime(epochMilliseconds: start + 2_000).iso8601); not sent twice: retry after that")
        }

        sleepSeconds(Double(start + 2_100 - UTCTime.nowMilliseconds()) / 1000)
        var deadlines: [Int] = []
        let before = UTCTime.nowMilliseconds()
        let outcome = try store.requestReassembly(pictureId: id, end: try #require(try store.readEnd(pictureId: id)),
                                                  token: "retry", policy: lease) { deadlines.append($0) }
        #expect(outcome == .sent(markProblem: nil))
        #expect(deadlines.count == 1)
        // The send must be done before the lease ends, less the safety margin.
        #expect((before + 1_800...UTCTime.nowMilliseconds() + 1_800).contains(deadlines.first ?? 0))
        let stored = try #require(try item(id))
        #expect(stored["requested"] == .bool(true) && stored["claimedUntil"] == nil && stored["claimToken"] == nil)
        #expect(stored["total"] == .number(3) && stored["expiresAt"] != nil && stored["requestedAt"] != nil)
        // Marked: later deliveries do not send.
        #expect(try store.requestReassembly(pictureId: id, end: try #require(try store.readEnd(pictureId: id)),
                                            token: "late") { _ in Issue.record("sent twice") } == .alreadyRequested)
    }

    /// A failed send gives the claim back, so the retry need not wait for the lease.
    @Test func failedSendReleasesTheClaim() throws {
        struct SendFailed: Error, Equatable {}
        let id = "m/send-fails"
        let record = try end(id)
        #expect(throws: SendFailed()) {
            try store.requestReassembly(pictureId: id, end: record, token: "first") { _ in throw SendFailed() }
        }
        let after = try #require(try item(id))
        #expect(after["claimedUntil"] == nil && after["claimToken"] == nil && after["requested"] == .bool(false))
        var sends = 0
        #expect(try store.requestReassembly(pictureId: id, end: try #require(try store.readEnd(pictureId: id)),
                                            token: "retry") { _ in sends += 1 } == .sent(markProblem: nil))
        #expect(sends == 1)
    }

    /// Many deliveries of one END at once, in threads of this process: one send.
    @Test func concurrentRequestsSendOnce() throws {
        for round in 0..<5 {
            let id = "m/threads-\(round)"
            let record = try end(id)
            let sends = Counter()
            let outcomes = Outcomes()
            let table = stack.table
            DispatchQueue.concurrentPerform(iterations: 6) { worker in
                do {
                    // A client each: one client is one connection, used by one thread at a time.
                    let store = PieceStore(table: table, db: DynamoDBClient(aws: try Emulator.client()))
                    // Margins no load reaches: on a starved 2-core machine one emulator call took over 28 s, the
                    // holder's lease ran out and a second send was right (CI); what is tested here is the claim.
                    let outcome = try store.requestReassembly(pictureId: id, end: record, token: "w\(worker)",
                                                              policy: .init(leaseMilliseconds: 600_000, waitMilliseconds: 300_000)) { _ in
                        sends.increment()
                        usleep(20_000)  // an SQS call's time, so the others find the claim held
                    }
                    outcomes.append("\(outcome)")
                } catch {
                    outcomes.append("\(error)")
                }
            }
            #expect(sends.value == 1, "round \(round)")
            #expect(outcomes.sorted == ["alreadyRequested", "alreadyRequested", "alreadyRequested", "alreadyRequested",
                                        "alreadyRequested", "sent(markProblem: nil)"], "round \(round)")
        }
    }

    /// What the unconditional mark of earlier versions left (piece 0 with `requested` only) is replaced
    /// by the next END instead of blocking the label for good.
    @Test func leftoverOfTheOldMarkIsReplaced() throws {
        let id = "m/leftover"
        try stack.db.putItem(table: stack.table, item: ["pictureId": .s(id), "piece": .number(0), "requested": .bool(true)])
        #expect(try store.readEnd(pictureId: id) == nil)
        #expect(try end(id, total: 4) == PieceStore.EndRecord(total: 4, sha256: nil, contentType: nil, reassemblyRequested: false))
        let stored = try #require(try item(id))
        #expect(stored["total"] == .number(4) && stored["requested"] == .bool(false) && stored["expiresAt"] != nil)
    }

    /// A claim is only taken for the END it was read as: the same picture stored again with another
    /// total in between is not claimed for the old one.
    @Test func claimIsForTheRecordAsRead() throws {
        let id = "m/replaced"
        let old = try end(id, total: 3)
        try deleteEnd(id)
        _ = try end(id, total: 5)
        let now = UTCTime.nowMilliseconds()
        #expect(try store.claim(pictureId: id, end: old, token: "t", now: now, until: now + 1_000) == false)
        #expect(throws: PieceError.conflictingEnd(pictureId: id, stored: "5 pieces, sha256 none", new: "3 pieces, sha256 none")) {
            try store.requestReassembly(pictureId: id, end: old, token: "t") { _ in Issue.record("sent for the old END") }
        }
    }
}

final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    func increment() { lock.withLock { count += 1 } }
    var value: Int { lock.withLock { count } }
}

final class Outcomes: @unchecked Sendable {
    private let lock = NSLock()
    private var values: [String] = []
    func append(_ value: String) { lock.withLock { values.append(value) } }
    var sorted: [String] { lock.withLock { values.sorted() } }
}
