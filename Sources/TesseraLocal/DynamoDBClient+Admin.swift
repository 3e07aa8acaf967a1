import TesseraAWS
import TesseraEvents
import TesseraHTTP
import TesseraRuntime
import TesseraSupport

// Table administration: only the local stack creates tables (template.yaml does it on AWS).
extension DynamoDBClient {
    /// A table keyed by a string partition key and an optional number or string sort key, billed per
    /// request, with its global secondary indexes (every attribute projected, as the template's are).
    public struct TableSpec: Sendable {
        public var name: String
        public var partitionKey: (name: String, type: String)
        public var sortKey: (name: String, type: String)?
        public var indexes: [Index]

        /// A global secondary index: its name and key, all attributes projected.
        public struct Index: Sendable {
            public var name: String
            public var partitionKey: (name: String, type: String)
            public var sortKey: (name: String, type: String)?

            public init(name: String, partitionKey: (name: String, type: String), sortKey: (name: String, type: String)? = nil) {
                self.name = name
                self.partitionKey = partitionKey
                self.sortKey = sortKey
            }
        }

        public init(name: String, partitionKey: (name: String, type: String), sortKey: (name: String, type: String)? = nil,
                    indexes: [Index] = []) {
            self.name = name
            self.partitionKey = partitionKey
            self.sortKey = sortKey
            self.indexes = indexes
        }
    }

    private struct Definition: Encodable, Equatable { let AttributeName: String, AttributeType: String }
    private struct KeyElement: Encodable { let AttributeName: String, KeyType: String }
    private struct Projection: Encodable { let ProjectionType: String }
    private struct IndexInput: Encodable { let IndexName: String, KeySchema: [KeyElement], Projection: Projection }

    private static func schema(_ partition: (name: String, type: String), _ sort: (name: String, type: String)?,
                               into definitions: inout [Definition]) -> [KeyElement] {
        for key in [partition] + (sort.map { [$0] } ?? []) where !definitions.contains(where: { $0.AttributeName == key.name }) {
            definitions.append(Definition(AttributeName: key.name, AttributeType: key.type))
        }
        return [KeyElement(AttributeName: partition.name, KeyType: "HASH")]
            + (sort.map { [KeyElement(AttributeName: $0.name, KeyType: "RANGE")] } ?? [])
    }

    public func createTable(_ spec: TableSpec) throws {
        struct Input: Encodable {
            let TableName: String, AttributeDefinitions: [Definition], KeySchema: [KeyElement], BillingMode: String
            let GlobalSecondaryIndexes: [IndexInput]?
        }
        var definitions: [Definition] = []
        let schema = Self.schema(spec.partitionKey, spec.sortKey, into: &definitions)
        let indexes = spec.indexes.map {
            IndexInput(IndexName: $0.name, KeySchema: Self.schema($0.partitionKey, $0.sortKey, into: &definitions),
                       Projection: Projection(ProjectionType: "ALL"))
        }
        _ = try call("CreateTable", Input(TableName: spec.name, AttributeDefinitions: definitions, KeySchema: schema,
                                          BillingMode: "PAY_PER_REQUEST", GlobalSecondaryIndexes: indexes.isEmpty ? nil : indexes),
                     EmptyOutput.self)
    }

    /// The names of the table's global secondary indexes.
    public func indexNames(_ table: String) throws -> [String] {
        struct Input: Encodable { let TableName: String }
        struct Index: Decodable { let IndexName: String }
        struct Table: Decodable { let GlobalSecondaryIndexes: [Index]? }
        struct Output: Decodable { let Table: Table }
        return try call("DescribeTable", Input(TableName: table), Output.self).Table.GlobalSecondaryIndexes?.map(\.IndexName) ?? []
    }

    /// Adds a global secondary index to a table made before the template declared it.
    public func addIndex(_ index: TableSpec.Index, to table: String) throws {
        struct Create: Encodable { let Create: IndexInput }
        struct Input: Encodable {
            let TableName: String, AttributeDefinitions: [Definition], GlobalSecondaryIndexUpdates: [Create]
        }
        var definitions: [Definition] = []
        let schema = Self.schema(index.partitionKey, index.sortKey, into: &definitions)
        _ = try call("UpdateTable", Input(TableName: table, AttributeDefinitions: definitions, GlobalSecondaryIndexUpdates: [
            Create(Create: IndexInput(IndexName: index.name, KeySchema: schema, Projection: Projection(ProjectionType: "ALL"))),
        ]), EmptyOutput.self)
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
