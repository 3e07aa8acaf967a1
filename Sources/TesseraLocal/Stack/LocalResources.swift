import TesseraAWS
import TesseraEvents
import TesseraSupport

/// Creates template.yaml's tables, queues, topics and buckets in the emulator, as CloudFormation
/// would from the same file; returns each resource's local identifier by logical id (queue URL,
/// topic ARN, table or bucket name), which is what `Ref` gives on AWS.
public enum LocalResources {
    public static func provision(_ template: LocalTemplate, aws: AWSClient) throws -> [String: String] {
        let db = DynamoDBClient(aws: aws), sqs = SQSClient(aws: aws), s3 = S3Client(aws: aws), sns = SNSClient(aws: aws)
        var ids: [String: String] = [:]
        for table in template.resources(ofType: "AWS::DynamoDB::Table") {
            let name = try template.physicalName(table.logicalId)
            let types = Dictionary(uniqueKeysWithValues: (table.properties["AttributeDefinitions"]?.list ?? []).compactMap { item in
                item["AttributeName"]?.string.flatMap { name in item["AttributeType"]?.string.map { (name, $0) } }
            })
            func keySchema(_ schema: TemplateValue?, of owner: String) throws -> (hash: (String, String), range: (String, String)?) {
                let keys = (schema?.list ?? []).compactMap { item -> (String, String, String)? in
                    guard let key = item["AttributeName"]?.string, let kind = item["KeyType"]?.string, let type = types[key] else { return nil }
                    return (key, type, kind)
                }
                guard let hash = keys.first(where: { $0.2 == "HASH" }) else {
                    throw TemplateError.malformed("\(owner) has no HASH key in KeySchema")
                }
                return ((hash.0, hash.1), keys.first { $0.2 == "RANGE" }.map { ($0.0, $0.1) })
            }
            let key = try keySchema(table.properties["KeySchema"], of: table.logicalId)
            let indexes = try (table.properties["GlobalSecondaryIndexes"]?.list ?? []).map { index in
                guard let indexName = index["IndexName"]?.string else { throw TemplateError.malformed("\(table.logicalId) has an index without IndexName") }
                let indexKey = try keySchema(index["KeySchema"], of: "\(table.logicalId)'s index \(indexName)")
                return DynamoDBClient.TableSpec.Index(name: indexName, partitionKey: indexKey.hash, sortKey: indexKey.range)
            }
            do {
                try db.createTable(.init(name: name, partitionKey: key.hash, sortKey: key.range, indexes: indexes))
            } catch let error as AWSError where error.code == "ResourceInUseException" {
                // There from an earlier `up`: its items are kept, and an index the template gained since is added.
                let existing = try db.indexNames(name)
                for index in indexes where !existing.contains(index.name) { try db.addIndex(index, to: name) }
            }
            if let ttl = table.properties["TimeToLiveSpecification"], ttl["Enabled"]?.string == "true",
               let attribute = ttl["AttributeName"]?.string {
                try db.enableTimeToLive(table: name, attribute: attribute)
            }
            ids[table.logicalId] = name
        }
        // Dead-letter queues first: a redrive policy names its target's ARN.
        let queues = template.resources(ofType: "AWS::SQS::Queue").sorted {
            ($0.properties["RedrivePolicy"] == nil ? 0 : 1, $0.logicalId) < ($1.properties["RedrivePolicy"] == nil ? 0 : 1, $1.logicalId)
        }
        for queue in queues {
            var attributes: [String: String] = [:]
            for name in ["VisibilityTimeout", "MessageRetentionPeriod", "DelaySeconds", "ReceiveMessageWaitTimeSeconds"] {
                if let value = queue.properties[name] { attributes[name] = try template.string(value, identifiers: ids) }
            }
            if let redrive = queue.properties["RedrivePolicy"] {
                let target = try template.string(redrive["deadLetterTargetArn"] ?? .string(""), identifiers: ids)
                let count = try template.string(redrive["maxReceiveCount"] ?? .string("5"), identifiers: ids)
                attributes["RedrivePolicy"] = "{\"deadLetterTargetArn\":\(jsonQuoted(target)),\"maxReceiveCount\":\(jsonQuoted(count))}"
            }
            let url = try sqs.createQueue(name: try template.physicalName(queue.logicalId), attributes: attributes)
            ids[queue.logicalId] = url
        }
        for topic in template.resources(ofType: "AWS::SNS::Topic") {
            ids[topic.logicalId] = try sns.createTopic(name: try template.physicalName(topic.logicalId))
        }
        for bucket in template.resources(ofType: "AWS::S3::Bucket") {
            let name = try template.physicalName(bucket.logicalId)
            try s3.createBucket(name)
            if bucket.properties["VersioningConfiguration"]?["Status"]?.string == "Enabled" { try s3.enableVersioning(bucket: name) }
            for configuration in bucket.properties["NotificationConfiguration"]?["QueueConfigurations"]?.list ?? [] {
                guard let queue = configuration["Queue"] else { continue }
                try s3.notifyQueueOnCreate(bucket: name, queueARN: try template.string(queue, identifiers: ids))
            }
            ids[bucket.logicalId] = name
        }
        let cognito = CognitoClient(aws: aws)
        for pool in template.resources(ofType: "AWS::Cognito::UserPool") {
            let name = try template.physicalName(pool.logicalId)
            ids[pool.logicalId] = try cognito.userPoolId(named: name) ?? cognito.createUserPool(name: name)
        }
        for client in template.resources(ofType: "AWS::Cognito::UserPoolClient") {
            guard let pool = client.properties["UserPoolId"] else {
                throw TemplateError.malformed("\(client.logicalId) has no UserPoolId")
            }
            let flows = try (client.properties["ExplicitAuthFlows"]?.list ?? []).map { try template.string($0, identifiers: ids) }
            let poolId = try template.string(pool, identifiers: ids), name = try template.physicalName(client.logicalId)
            ids[client.logicalId] = try cognito.clientId(poolId: poolId, named: name)
                ?? cognito.createUserPoolClient(poolId: poolId, name: name, authFlows: flows)
        }
        return ids
    }

    /// What the template's HTTP API guards and how its JWT authorizer checks tokens, locally: the
    /// `Gallery` parameter, and the template's own user pool and app client as created in the emulator
    /// at `emulatorURL` (which issues tokens as Cognito does and serves the pool's JWKS).
    public static func apiAccess(_ template: LocalTemplate, ids: [String: String], emulatorURL: String) throws -> LocalAPIGateway.Access {
        let name = template.parameters["Gallery"] ?? Gallery.private.rawValue
        guard let gallery = Gallery(rawValue: name) else {
            throw TemplateError.malformed("the Gallery parameter's default \"\(name)\" is none of "
                                          + Gallery.allCases.map(\.rawValue).joined(separator: ", "))
        }
        guard let pool = template.resources(ofType: "AWS::Cognito::UserPool").first.flatMap({ ids[$0.logicalId] }),
              let client = template.resources(ofType: "AWS::Cognito::UserPoolClient").first.flatMap({ ids[$0.logicalId] }) else {
            return LocalAPIGateway.Access(gallery: gallery, authorizer: nil)
        }
        return LocalAPIGateway.Access(gallery: gallery, authorizer: try JWTAuthorizer.fetching(
            issuer: "https://cognito-idp.\(LocalTemplate.region).amazonaws.com/\(pool)", audiences: [client],
            jwksURL: "\(emulatorURL)/\(pool)/.well-known/jwks.json"))
    }
}
