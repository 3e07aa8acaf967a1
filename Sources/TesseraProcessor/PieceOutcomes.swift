import TesseraAWS
import TesseraEvents
import TesseraPictures

/// Marks on a picture's END record (piece 0) that make the processor's notifications go out once
/// however often a request is delivered, and let a late piece ask for reassembly again.
struct PieceOutcomes {
    let table: String
    let db: DynamoDBClient

    /// Marks the picture as given up on (`stalled`); true for the one call that set it.
    func markStalled(_ request: ReassemblyRequest) throws -> Bool {
        try mark(request, "SET #stalled = :yes", condition: "attribute_exists(#piece) AND NOT #stalled = :yes",
                 names: ["#stalled": "stalled"], values: [":yes": .bool(true)])
    }

    /// Whether `picture.incomplete` is still to be sent for this request: its END is there, is the one the
    /// request was sent for (its total and SHA-256), and was not notified already (a late piece that
    /// reopens it and is still not enough does not notify it again; a stale request whose END is gone or
    /// replaced notifies nothing).
    func incompleteNoticeDue(_ request: ReassemblyRequest) throws -> Bool {
        guard let end = try db.getItem(table: table, key: key(request), consistentRead: true),
              end["total"]?.int == request.pieces, end["sha256"]?.string == request.sha256 else { return false }
        return end["notifiedIncomplete"]?.boolValue != true
    }

    /// Records that `picture.incomplete` went out.
    func markNotifiedIncomplete(_ request: ReassemblyRequest) throws {
        _ = try mark(request, "SET #notified = :yes", condition: "attribute_exists(#piece)",
                     names: ["#notified": "notifiedIncomplete"], values: [":yes": .bool(true)])
    }

    /// Records a permanent outcome; true for the one call that recorded it.
    func markSettled(_ request: ReassemblyRequest, as outcome: String) throws -> Bool {
        try mark(request, "SET #settled = :outcome", condition: "attribute_exists(#piece) AND attribute_not_exists(#settled)",
                 names: ["#settled": "settled"], values: [":outcome": .s(outcome)])
    }

    private func mark(_ request: ReassemblyRequest, _ update: String, condition: String, names: [String: String],
                      values: Item) throws -> Bool {
        do {
            try db.updateItem(table: table, key: key(request), update: .init(update, names: names.merging(["#piece": "piece"]) { a, _ in a },
                                                                    values: values), condition: condition)
            return true
        } catch let error as AWSError where error.code == "ConditionalCheckFailedException" {
            return false
        }
    }

    private func key(_ request: ReassemblyRequest) -> Item {
        ["pictureId": .s(PieceStore.pictureId(machineId: request.machineId, label: request.label)), "piece": .number(0)]
    }
}
