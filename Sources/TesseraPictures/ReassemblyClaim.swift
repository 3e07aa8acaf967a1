import TesseraAWS
import TesseraEvents
import TesseraSupport

/// How END deliveries agree on who sends a picture's one reassembly request.
///
/// IoT rules invoke piece storage asynchronously, at least once, possibly several times at once. An
/// END record (piece 0) therefore carries a *claim*: `claimedUntil` (epoch milliseconds) and
/// `claimToken`, set by a conditional update that succeeds for one invocation only, and only while
/// the request is not marked sent and no unexpired claim exists; or by the conditional put that stores
/// the END record, which one invocation only makes (so the first delivery needs no request to claim).
/// The holder sends, then marks `requested = true` (removing the claim) on condition that the record
/// still exists and still carries its token, so the mark can never recreate a deleted record. Everyone
/// else waits for the mark and answers `duplicate`.
///
/// The claim expires (`leaseMilliseconds`, 30 s) so that a process that dies after claiming and
/// before sending cannot block the picture: its own failed invocation is retried by Lambda a minute
/// later (asynchronous retries wait 1 and then 2 minutes), after the lease, and that retry claims
/// and sends. A delivery that finds an unexpired claim not marked within `waitMilliseconds` fails
/// with `Tessera.ReassemblyPending`, so it too is retried after the lease. 30 s is three times the
/// function's timeout (10 s in template.yaml) and half the first retry delay; and the holder's send
/// is cut off `safetyMilliseconds` before its lease ends, so two live invocations never both send.
/// A crash after the send and before the mark sends again on the retry: the reassembler is
/// idempotent, so twice is harmless, and zero times cannot happen.
public struct ReassemblyClaimPolicy: Sendable, Equatable {
    public var leaseMilliseconds: Int
    /// How long a concurrent delivery waits for the holder to mark the request sent.
    public var waitMilliseconds: Int
    /// Kept between the end of the holder's send attempts and the end of its lease (clock skew).
    public var safetyMilliseconds: Int

    public init(leaseMilliseconds: Int = 30_000, waitMilliseconds: Int = 5_000, safetyMilliseconds: Int = 2_000) {
        self.leaseMilliseconds = leaseMilliseconds
        self.waitMilliseconds = waitMilliseconds
        self.safetyMilliseconds = safetyMilliseconds
    }
}

extension PieceStore {
    /// What `requestReassembly` did.
    public enum ReassemblyOutcome: Sendable, Equatable {
        /// This invocation sent the request; `markProblem` says why it could not be marked sent, if so
        /// (the END record vanished, which means the request is being handled, or the mark failed).
        case sent(markProblem: String?)
        /// Another delivery sent it (marked `requested`).
        case alreadyRequested
        /// The END record vanished before this invocation could claim it: the reassembler deletes a
        /// picture's pieces only after its original is safe in S3, so the request went out.
        case endRecordGone
    }

    /// Sends the picture's reassembly request through `send` unless another delivery did or does;
    /// see `ReassemblyClaimPolicy`. `send` is given the epoch millisecond by which it must be done
    /// (the claim's end less the safety margin). `token` must be unique to this invocation.
    public func requestReassembly(pictureId: String, end: EndRecord, token: String,
                                  policy: ReassemblyClaimPolicy = .init(),
                                  now: () -> Int = UTCTime.nowMilliseconds, releasingWith reserve: PieceStore? = nil,
                                  send: (_ deadlineMilliseconds: Int) throws -> Void) throws -> ReassemblyOutcome {
        let waitUntil = now() + policy.waitMilliseconds
        var record = end
        var pause = 20
        var failedClaims = 0
        while true {
            guard record.total == end.total, record.sha256 == end.sha256 else {
                // Deleted and stored again for another picture of the same name in the meantime.
                throw PieceError.conflictingEnd(pictureId: pictureId,
                                                stored: "\(record.total) pieces, sha256 \(record.sha256 ?? "none")",
                                                new: "\(end.total) pieces, sha256 \(end.sha256 ?? "none")")
            }
            if record.reassemblyRequested { return .alreadyRequested }
            let time = now()
            // This invocation's claim already (the END it stored carries it), or one it takes now.
            let held = record.claimToken == token ? record.claimedUntil.flatMap { $0 > time ? $0 : nil } : nil
            if held != nil || record.claimedUntil.map({ $0 < time }) ?? true {
                let until = held ?? time + policy.leaseMilliseconds
                if try held != nil || claim(pictureId: pictureId, end: end, token: token, now: time, until: until) {
                    do {
                        try send(until - policy.safetyMilliseconds)
                    } catch {
                        // Let the next delivery (or Lambda's retry of this one) claim at once.
                        // With `reserve` (bound to the time kept back for reporting): a send that failed
                        // on the deadline has used up this store's own time.
                        _ = try? (reserve ?? self).releaseClaim(pictureId: pictureId, token: token)
                        throw error
                    }
                    do {
                        return .sent(markProblem: try markRequested(pictureId: pictureId, token: token)
                            ? nil : "the END record is gone or was claimed again after this claim's lease")
                    } catch {
                        // Sent, so this delivery succeeded; unmarked, a later delivery may send again.
                        return .sent(markProblem: "could not mark it sent: \(error)")
                    }
                }
                // Someone else changed the record between the read and the claim: read it again.
                failedClaims += 1
                guard failedClaims <= 10 else { throw PieceError.endRecordUnsettled(pictureId: pictureId) }
            } else if time >= waitUntil {
                throw PieceError.reassemblyPending(pictureId: pictureId, claimedUntil: record.claimedUntil ?? time)
            } else {
                sleepSeconds(Double(min(pause, waitUntil - time)) / 1000)
                pause = min(pause * 2, 250)
            }
            guard let stored = try readEnd(pictureId: pictureId) else { return .endRecordGone }
            record = stored
            if now() >= waitUntil, !record.reassemblyRequested, let held = record.claimedUntil, held >= now() {
                throw PieceError.reassemblyPending(pictureId: pictureId, claimedUntil: held)
            }
        }
    }

    /// Takes the claim to send: only while the END record exists with this total and checksum, is not
    /// marked sent, and carries no unexpired claim. False when any of that does not hold.
    public func claim(pictureId: String, end: EndRecord, token: String, now: Int, until: Int) throws -> Bool {
        let names = ["#piece": "piece", "#total": "total", "#requested": "requested",
                     "#claimedUntil": "claimedUntil", "#claimToken": "claimToken", "#sha256": "sha256"]
        var values: Item = [":total": .number(end.total), ":no": .bool(false), ":now": .number(now),
                            ":until": .number(until), ":token": .s(token)]
        var condition = "attribute_exists(#piece) AND #total = :total"
            + " AND (attribute_not_exists(#requested) OR #requested = :no)"
            + " AND (attribute_not_exists(#claimedUntil) OR #claimedUntil < :now)"
        if let sha256 = end.sha256 {
            condition += " AND #sha256 = :sha256"
            values[":sha256"] = .s(sha256)
        } else {
            condition += " AND attribute_not_exists(#sha256)"
        }
        return try update(pictureId, piece: 0, .init("SET #claimedUntil = :until, #claimToken = :token",
                                                     names: names, values: values), condition: condition)
    }

    /// Marks the request sent and drops the claim, only if the END record still exists and still
    /// carries this claim: a mark never recreates a deleted record. False when it does not.
    public func markRequested(pictureId: String, token: String, now: Int = UTCTime.nowMilliseconds()) throws -> Bool {
        try update(pictureId, piece: 0,
                   .init("SET #requested = :yes, #requestedAt = :now REMOVE #claimedUntil, #claimToken",
                         names: ["#piece": "piece", "#requested": "requested", "#requestedAt": "requestedAt",
                                 "#claimedUntil": "claimedUntil", "#claimToken": "claimToken"],
                         values: [":yes": .bool(true), ":now": .number(now), ":token": .s(token)]),
                   condition: "attribute_exists(#piece) AND #claimToken = :token")
    }

    /// Gives up this invocation's claim (after a failed send). False when it no longer holds it.
    @discardableResult
    public func releaseClaim(pictureId: String, token: String) throws -> Bool {
        try update(pictureId, piece: 0,
                   .init("REMOVE #claimedUntil, #claimToken",
                         names: ["#piece": "piece", "#claimedUntil": "claimedUntil", "#claimToken": "claimToken"],
                         values: [":token": .s(token)]),
                   condition: "attribute_exists(#piece) AND #claimToken = :token")
    }
}
