import TesseraAWS
import TesseraEvents
import TesseraHTTP
import TesseraRuntime
import TesseraSupport

// Table administration: only the local stack creates tables (template.yaml does it on AWS).
extension DynamoDBClient {
    /// A table keyed by a string partition key and an optional number or string sort key, billed per request.
    public struct TableSpec: Sendable {
        public var name: String
        public var partitionKey: (name: String, type: String)
        public var sortKey: (name: String, type: String)?

        public init(name: String, partitionKey: (name: String, type: String), sortKey: (name: String, type: String)? = nil) {
            self.name = name
            self.partitionKey = partitionKey
            self.sortKey = sortKey
        }
    }

    public func createTable(_ spec: TableSpec) throws {
        struct Definition: Encodable { let AttributeName: String, AttributeType: String }
        struct KeyElement: Encodable { let AttributeName: String, KeyType: String }
        struct Input: Encodable {
            let TableName: String, AttributeDefinitions: [Definition], KeySchema: [KeyElement], BillingMode: String
        }
        var definitions = [Definition(AttributeName: spec.partitionKey.name, AttributeType: spec.partitionKey.type)]
        var schema = [KeyElement(AttributeName: spec.partitionKey.name, KeyType: "HASH")]
        if let sort = spec.sortKey {
            definitions.append(Definition(AttributeName: sort.name, AttributeType: sort.type))
            schema.append(KeyElement(AttributeName: sort.name, KeyType: "RANGE"))
        }
        _ = try call("CreateTable", Input(TableName: spec.name, AttributeDefinitions: definitions, KeySchema: schema,
                                          BillingMode: "PAY_PER_REQUEST"), EmptyOutput.self)
    }

    /// The table's status (`ACTIVE`, `CREATING`, ...).
    public func describeTable(_ name: String) throws -> String {
        struct Input: Encodable { let TableName: String }
        struct Table: Decodable { let TableStatus: String? }
        struct Output: Decodable { let Table: Table }
        return try call("DescribeTable", Input(TableName: name), Output.self).Table.TableStatus ?? "UNKNOWN"
    }

    /// Turns on expiry of items through a number attribute holding epoch seconds.
    public func enableTimeToLive(table: String, attribute: String) throws {
        struct Specification: Encodable { let Enabled: Bool, AttributeName: String }
        struct Input: Encodable { let TableName: String, TimeToLiveSpecification: Specification }
        _ = try call("UpdateTimeToLive", Input(TableName: table, TimeToLiveSpecification:
            Specification(Enabled: true, AttributeName: attribute)), EmptyOutput.self)
    }
}
