import Testing
import TesseraAWS
import TesseraSupport
import TesseraLocal

/// DynamoDB calls against the emulator, signed and checked over real HTTP.
struct DynamoDBIntegrationTests {
    func makeTable() throws -> (DynamoDBClient, String) {
        let db = DynamoDBClient(aws: try Emulator.client())
        let name = Emulator.uniqueName("t")
        try db.createTable(.init(name: name, partitionKey: ("pk", "S"), sortKey: ("sk", "N")))
        return (db, name)
    }

    @Test func putGetConditionsAndUpdates() throws {
        let (db, table) = try makeTable()
        #expect(try db.describeTable(table) == "ACTIVE")
        try db.enableTimeToLive(table: table, attribute: "expiresAt")
        let key: Item = ["pk": .s("a/b"), "sk": .number(1)]
        let bytes: [UInt8] = [0, 1, 2, 255, 254]
        try db.putItem(table: table, item: key.merging(["data": .b(bytes), "tags": .ss(["x", "y"])]) { a, _ in a })
        let stored = try db.getItem(table: table, key: key, consistentRead: true)
        #expect(stored?["data"] == .b(bytes))
        #expect(try db.getItem(table: table, key: ["pk": .s("a/b"), "sk": .number(2)]) == nil)

        let onlyNew = DynamoDBClient.Expression("attribute_not_exists(#sk)", names: ["#sk": "sk"])
        do {
            try db.putItem(table: table, item: key, condition: onlyNew)
            Issue.record("a second put under attribute_not_exists must fail")
        } catch let error as AWSError {
            #expect(error.code == "ConditionalCheckFailedException")
            #expect(error.errorType == "AWS.ConditionalCheckFailedException")
        }
        let updated = try db.updateItem(
            table: table, key: key,
            update: .init("SET #c = if_not_exists(#c, :zero) + :one", names: ["#c": "count"],
                          values: [":zero": .number(0), ":one": .number(1)]),
            returnValues: "ALL_NEW")
        #expect(updated?["count"] == .number(1))
        try db.deleteItem(table: table, key: key)
        #expect(try db.getItem(table: table, key: key, consistentRead: true) == nil)
    }

    @Test func batchWriteAndPaginatedQuery() throws {
        let (db, table) = try makeTable()
        let writes = (1...60).map { DynamoDBClient.WriteRequest.put(["pk": .s("p"), "sk": .number($0), "v": .s("\($0)")]) }
        try db.batchWrite(table: table, requests: writes)
        let condition = DynamoDBClient.Expression("#pk = :p", names: ["#pk": "pk"], values: [":p": .s("p")])
        let first = try db.query(table: table, keyCondition: condition, limit: 7)
        #expect(first.items.count == 7)
        #expect(first.lastEvaluatedKey != nil)
        let all = try db.queryAll(table: table, keyCondition: condition, pageLimit: 7, consistentRead: true)
        #expect(all.compactMap { $0["sk"]?.int } == Array(1...60))
        try db.batchWrite(table: table, requests: (1...60).map { .delete(key: ["pk": .s("p"), "sk": .number($0)]) })
        #expect(try db.queryAll(table: table, keyCondition: condition).isEmpty)
    }

    @Test func missingTableIsAServiceErrorWithCodeAndRequestId() throws {
        let db = DynamoDBClient(aws: try Emulator.client())
        do {
            _ = try db.getItem(table: "no-such-table", key: ["pk": .s("x")])
            Issue.record("expected ResourceNotFoundException")
        } catch let AWSError.service(error) {
            #expect(error.code == "ResourceNotFoundException")
            #expect(error.status == 400)
            #expect(error.operation == "GetItem")
            #expect(error.requestId != nil)
        }
    }
}

struct SQSIntegrationTests {
    @Test func sendReceiveDelete() throws {
        let sqs = SQSClient(aws: try Emulator.client())
        let url = try sqs.createQueue(name: Emulator.uniqueName("q"))
        let body = #"{"machine_id":"m","label":"l","pieces":3}"#
        let id = try sqs.sendMessage(queueURL: url, body: body)
        let messages = try sqs.receiveMessages(queueURL: url, max: 10, waitSeconds: 1)
        #expect(messages.map(\.Body) == [body])
        #expect(messages.first?.MessageId == id)
        try sqs.deleteMessage(queueURL: url, receiptHandle: messages[0].ReceiptHandle)
        #expect(try sqs.receiveMessages(queueURL: url).isEmpty)
    }

    @Test func unknownQueueIsNamedInTheError() throws {
        let sqs = SQSClient(aws: try Emulator.client())
        let config = try Emulator.config()
        let url = "\(config.endpoint(for: .sqs).scheme)://\(config.endpoint(for: .sqs).host)/123456789012/absent"
        do {
            try sqs.sendMessage(queueURL: url, body: "x")
            Issue.record("expected an error for a queue that does not exist")
        } catch let AWSError.service(error) {
            #expect(error.code.contains("NonExistentQueue") || error.code.contains("QueueDoesNotExist"))
            #expect(error.status == 400)
        }
    }
}
