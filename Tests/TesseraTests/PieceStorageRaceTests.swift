import Foundation
import Testing
import TesseraAWS
import TesseraEvents
import TesseraLocal
import TesseraPictures
import TesseraSupport

/// Several `piece-storage` processes given the same message at once, as IoT rules' asynchronous,
/// at-least-once invocations can: each behind its own Runtime API, all against the emulator.
struct PieceStorageRaceTests {
    /// Hands `event` to every function at once; their outcomes, in function order.
    func deliverAtOnce(_ event: String, to functions: [PieceStorageFunction]) -> [LocalRuntimeAPI.Outcome?] {
        let ids = functions.map { $0.api.enqueue(Array(event.utf8)) }
        return zip(functions, ids).map { $0.api.wait(for: $1) }
    }

    func sorted(_ outcomes: [LocalRuntimeAPI.Outcome?]) -> [String] {
        outcomes.map { $0.map { "\($0)" } ?? "no answer" }.sorted()
    }

    @Test func concurrentDeliveriesOfOneEndSendOneRequest() throws {
        let stack = try PieceStorageStack()
        let functions = try stack.start(4)
        defer { functions.forEach { $0.stop() } }
        let rounds = 20
        for round in 0..<rounds {
            let id = "cam-r/race-\(round)"
            #expect(functions[round % 4].invoke(PieceEvents.piece("cam-r", "race-\(round)", 1, [UInt8(round)]))
                == PieceEvents.answer(id, piece: 1, "stored"))
            let outcomes = deliverAtOnce(PieceEvents.end("cam-r", "race-\(round)", total: 1), to: functions)
            #expect(sorted(outcomes) == sorted([PieceEvents.answer(id, piece: 0, "duplicate"),
                                                PieceEvents.answer(id, piece: 0, "duplicate"),
                                                PieceEvents.answer(id, piece: 0, "duplicate"),
                                                PieceEvents.answer(id, piece: 0, "reassembly-requested")]),
                    "round \(round)")
            let record = try #require(try stack.items(id).first)
            #expect(record["requested"] == .bool(true) && record["total"] == .number(1) && record["claimToken"] == nil,
                    "round \(round)")
        }
        // What the queue holds, counted per picture: one request each.
        let requests = try stack.reassemblyRequests()
        let perPicture = Dictionary(grouping: requests, by: \.label).mapValues(\.count)
        #expect(perPicture == Dictionary(uniqueKeysWithValues: (0..<rounds).map { ("race-\($0)", 1) }))
        #expect(requests.allSatisfy { $0.machineId == "cam-r" && $0.pieces == 1 && $0.sha256 == nil })
        #expect(functions.allSatisfy { $0.process.isRunning })
    }

    @Test func concurrentDeliveriesOfOnePieceStoreItOnce() throws {
        let stack = try PieceStorageStack()
        let functions = try stack.start(4)
        defer { functions.forEach { $0.stop() } }
        for round in 0..<8 {
            let id = "cam-p/piece-\(round)"
            let outcomes = deliverAtOnce(PieceEvents.piece("cam-p", "piece-\(round)", 1, [1, 2, UInt8(round)]), to: functions)
            #expect(sorted(outcomes) == sorted([PieceEvents.answer(id, piece: 1, "duplicate"),
                                                PieceEvents.answer(id, piece: 1, "duplicate"),
                                                PieceEvents.answer(id, piece: 1, "duplicate"),
                                                PieceEvents.answer(id, piece: 1, "stored")]), "round \(round)")
        }
        // Four different payloads for one index at once: one is kept, the other three are conflicts.
        let ids = functions.enumerated().map { index, function in
            function.api.enqueue(Array(PieceEvents.piece("cam-p", "contested", 1, [UInt8(index), 9]).utf8))
        }
        let outcomes = zip(functions, ids).map { $0.api.wait(for: $1) }
        let stored = outcomes.indices.filter { outcomes[$0] == PieceEvents.answer("cam-p/contested", piece: 1, "stored") }
        #expect(stored.count == 1)
        let conflict = PieceEvents.error("Tessera.ConflictingPiece", "conflicting piece 1 of cam-p/contested: a different "
            + "2-byte piece is already stored and is kept; refused the new 2-byte one")
        #expect(outcomes.filter { $0 == conflict }.count == 3)
        #expect(try stack.items("cam-p/contested").map { $0["data"] } == stored.map { .b([UInt8($0), 9]) })
    }
}
