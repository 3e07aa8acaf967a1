import TesseraHTTP
import TesseraSupport

/// DynamoDB over its JSON 1.0 API, signed and retried by `AWSClient`.
public struct DynamoDBClient {
    package let aws: AWSClient

    public init(aws: AWSClient) { self.aws = aws }

    /// Expression placeholders: `#name` for attribute names, `:value` for values.
    public struct Expression: Sendable {
        public var text: String
        public var names: [String: String]?
        public var values: Item?

        public init(_ text: String, names: [String: String]? = nil, values: Item? = nil) {
            self.text = text
            self.names = names
            self.values = values
        }
    }

    /// One page of a Query.
    public struct Page: Sendable {
        public let items: [Item]
        /// Where the next page starts; nil on the last page.
        public let lastEvaluatedKey: Item?
    }

    /// Writes the item; with `condition`, a failed condition throws `ConditionalCheckFailedException`.
    public func putItem(table: String, item: Item, condition: Expression? = nil) throws {
        struct Input: Encodable {
            let TableName: String, Item: Item
            let ConditionExpression: String?, ExpressionAttributeNames: [String: String]?
            let ExpressionAttributeValues: Item?
        }
        _ = try call("PutItem", Input(TableName: table, Item: item, ConditionExpression: condition?.text,
                                      ExpressionAttributeNames: condition?.names,
                                      ExpressionAttributeValues: condition?.values), EmptyOutput.self)
    }

    /// The item with that key, or nil.
    public func getItem(table: String, key: Item, consistentRead: Bool = false) throws -> Item? {
        struct Input: Encodable { let TableName: String, Key: Item, ConsistentRead: Bool }
        struct Output: Decodable { let Item: Item? }
        return try call("GetItem", Input(TableName: table, Key: key, ConsistentRead: consistentRead), Output.self).Item
    }

    /// One page of items whose key matches `keyCondition`, from `startKey` on; of the global secondary
    /// index `index` when given, in descending sort key order when `descending`.
    public func query(table: String, index: String? = nil, keyCondition: Expression, startKey: Item? = nil, limit: Int? = nil,
                      consistentRead: Bool = false, projection: String? = nil, descending: Bool = false) throws -> Page {
        struct Input: Encodable {
            let TableName: String, IndexName: String?, KeyConditionExpression: String
            let ExpressionAttributeNames: [String: String]?, ExpressionAttributeValues: Item?
            let ExclusiveStartKey: Item?, Limit: Int?, ConsistentRead: Bool, ProjectionExpression: String?
            let ScanIndexForward: Bool?
        }
        struct Output: Decodable { let Items: [Item]?, LastEvaluatedKey: Item? }
        let output = try call("Query", Input(
            TableName: table, IndexName: index, KeyConditionExpression: keyCondition.text,
            ExpressionAttributeNames: keyCondition.names, ExpressionAttributeValues: keyCondition.values,
            ExclusiveStartKey: startKey, Limit: limit, ConsistentRead: consistentRead,
            ProjectionExpression: projection, ScanIndexForward: descending ? false : nil), Output.self)
        return Page(items: output.Items ?? [], lastEvaluatedKey: output.LastEvaluatedKey)
    }

    /// Every item the query matches, following `LastEvaluatedKey` page by page.
    public func queryAll(table: String, keyCondition: Expression, pageLimit: Int? = nil, consistentRead: Bool = false,
                         projection: String? = nil) throws -> [Item] {
        var items: [Item] = []
        var startKey: Item?
        repeat {
            let page = try query(table: table, keyCondition: keyCondition, startKey: startKey, limit: pageLimit,
                                 consistentRead: consistentRead, projection: projection)
            items.append(contentsOf: page.items)
            startKey = page.lastEvaluatedKey
        } while startKey != nil
        return items
    }

    /// Applies `update` to the item; returns its attributes as `returnValues` asks (e.g. `ALL_NEW`).
    @discardableResult
    public func updateItem(table: String, key: Item, update: Expression, condition: String? = nil,
                           returnValues: String? = nil) throws -> Item? {
        struct Input: Encodable {
            let TableName: String, Key: Item, UpdateExpression: String, ConditionExpression: String?
            let ExpressionAttributeNames: [String: String]?, ExpressionAttributeValues: Item?, ReturnValues: String?
        }
        struct Output: Decodable { let Attributes: Item? }
        return try call("UpdateItem", Input(
            TableName: table, Key: key, UpdateExpression: update.text, ConditionExpression: condition,
            ExpressionAttributeNames: update.names, ExpressionAttributeValues: update.values,
            ReturnValues: returnValues), Output.self).Attributes
    }

    public func deleteItem(table: String, key: Item, condition: Expression? = nil) throws {
        struct Input: Encodable {
            let TableName: String, Key: Item, ConditionExpression: String?
            let ExpressionAttributeNames: [String: String]?, ExpressionAttributeValues: Item?
        }
        _ = try call("DeleteItem", Input(TableName: table, Key: key, ConditionExpression: condition?.text,
                                         ExpressionAttributeNames: condition?.names,
                                         ExpressionAttributeValues: condition?.values), EmptyOutput.self)
    }

    /// A write of a batch: put an item or delete a key.
    public enum WriteRequest: Sendable, Equatable, Codable {
        case put(Item)
        case delete(key: Item)

        private enum Key: String, CodingKey { case PutRequest, DeleteRequest }
        private struct Put: Codable { let Item: Item }
        private struct Delete: Codable { let Key: Item }

        public init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: Key.self)
            if let put = try c.decodeIfPresent(Put.self, forKey: .PutRequest) {
                self = .put(put.Item)
            } else {
                self = .delete(key: try c.decode(Delete.self, forKey: .DeleteRequest).Key)
            }
        }

        public func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: Key.self)
            switch self {
            case let .put(item): try c.encode(Put(Item: item), forKey: .PutRequest)
            case let .delete(key): try c.encode(Delete(Key: key), forKey: .DeleteRequest)
            }
        }
    }

    /// Writes in batches of 25, sending `UnprocessedItems` again with backoff; throws if some remain
    /// after `maxRounds`, naming how many.
    public func batchWrite(table: String, requests: [WriteRequest], maxRounds: Int = 6) throws {
        struct Input: Encodable { let RequestItems: [String: [WriteRequest]] }
        struct Output: Decodable { let UnprocessedItems: [String: [WriteRequest]]? }
        var start = 0
        while start < requests.count {
            var pending = Array(requests[start..<min(start + 25, requests.count)])
            start += 25
            var round = 0
            while !pending.isEmpty {
                round += 1
                guard round <= maxRounds else {
                    throw AWSError.service(ServiceError(
                        service: .dynamodb, operation: "BatchWriteItem", status: 200, code: "UnprocessedItems",
                        message: "\(pending.count) writes to \(table) stayed unprocessed after \(maxRounds) rounds",
                        requestId: nil))
                }
                if round > 1 {
                    try aws.waitBeforeRound(aws.retryPolicy.delay(beforeRetry: round - 1), service: .dynamodb,
                                            operation: "BatchWriteItem", round: round - 1)
                }
                let output = try call("BatchWriteItem", Input(RequestItems: [table: pending]), Output.self)
                pending = output.UnprocessedItems?[table] ?? []
            }
        }
    }

    package func call<Output: Decodable>(_ operation: String, _ input: some Encodable, _ output: Output.Type) throws -> Output {
        try aws.callJSON(.dynamodb, target: "DynamoDB_20120810", operation: operation, input: input, as: output)
    }
}
