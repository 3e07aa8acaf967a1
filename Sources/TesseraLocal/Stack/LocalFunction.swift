/// A function of template.yaml as the local stack runs it: its binary, its environment resolved,
/// and the events that invoke it.
public struct LocalFunction: Sendable {
    public let logicalId: String
    /// The executable: `PictureApiFunction` → `picture-api` (the Makefile's build targets follow the same rule).
    public let executable: String
    public let environment: [String: String]
    public let memoryMB: Int
    public let timeoutSeconds: Int
    /// SQS queues (URLs) it is mapped to, with their batch sizes.
    public let queues: [(url: String, batchSize: Int)]
    /// The IoT rules that invoke it, their SQL parsed (a rule the local stack cannot run stops `local up`).
    public let iotRules: [IoTRuleSQL]
    /// The rules' MQTT topic filters (`tessera/pieces/+`).
    public var iotTopics: [String] { iotRules.map(\.topicFilter) }
    /// Whether an HTTP API routes to it.
    public let servesHTTP: Bool
    /// `ReservedConcurrentExecutions`: at most this many instances at once (nil: no reservation).
    public var reservedConcurrency: Int? = nil
    /// `EventInvokeConfig.MaximumRetryAttempts`: how often Lambda retries a failed asynchronous event (AWS: 2).
    public var asyncRetries = 2
    /// The queue (URL) `EventInvokeConfig`'s `OnFailure` destination names, if one does.
    public var onFailureQueue: String? = nil

    /// How many instances the local stack runs: the reserved concurrency, at most `cap` (a small machine
    /// runs a few processes, not the account's thousand), at least one.
    public func instances(cap: Int) -> Int { max(1, min(cap, reservedConcurrency ?? cap)) }

    /// Every `AWS::Serverless::Function`, with `ids` (from `LocalResources.provision`) for its `Ref`s.
    public static func all(in template: LocalTemplate, ids: [String: String]) throws -> [LocalFunction] {
        try template.resources(ofType: "AWS::Serverless::Function").map { function in
            var environment: [String: String] = [:]
            for (name, value) in function.properties["Environment"]?["Variables"]?.map ?? [:] {
                let text = try template.string(value, identifiers: ids)
                // Dynamic references ({{resolve:secretsmanager:...}}) have no local store: left unset,
                // the function falls back to its local behaviour (picture-api: a key per process).
                if !text.contains("{{resolve:") { environment[name] = text }
            }
            var queues: [(String, Int)] = [], rules: [IoTRuleSQL] = [], http = false
            for (_, event) in (function.properties["Events"]?.map ?? [:]).sorted(by: { $0.key < $1.key }) {
                let properties = event["Properties"]
                switch event["Type"]?.string {
                case "SQS":
                    guard let queue = properties?["Queue"] else { continue }
                    let arn = try template.string(queue, identifiers: ids)
                    let logical = template.resources(ofType: "AWS::SQS::Queue").first {
                        (try? template.attribute($0.logicalId, "Arn", ids)) == arn
                    }
                    guard let logical, let url = ids[logical.logicalId] else { continue }
                    queues.append((url, Int(properties?["BatchSize"]?.string ?? "10") ?? 10))
                case "IoTRule":
                    if let rule = try rule(properties, "\(function.logicalId)'s IoTRule event", template, ids) { rules.append(rule) }
                case "HttpApi", "Api":
                    http = true
                default:
                    continue
                }
            }
            // Standalone rules (the template's, for their error action) that invoke this function.
            for topicRule in template.resources(ofType: "AWS::IoT::TopicRule") {
                let payload = topicRule.properties["TopicRulePayload"]
                let invokes = (payload?["Actions"]?.list ?? []).contains { action in
                    guard case let .function("Fn::GetAtt", .list(parts))? = action["Lambda"]?["FunctionArn"] else { return false }
                    return parts.first?.string == function.logicalId
                }
                if invokes, let parsed = try rule(payload, topicRule.logicalId, template, ids) { rules.append(parsed) }
            }
            let globals = 128
            var local = LocalFunction(
                logicalId: function.logicalId, executable: executableName(function.logicalId), environment: environment,
                memoryMB: Int(try function.properties["MemorySize"].map { try template.string($0, identifiers: ids) } ?? "") ?? globals,
                timeoutSeconds: Int(try function.properties["Timeout"].map { try template.string($0, identifiers: ids) } ?? "") ?? 3,
                queues: queues, iotRules: rules, servesHTTP: http)
            // `!If [Has..., !Ref X, !Ref AWS::NoValue]` resolves to nothing when no concurrency is reserved.
            if let reserved = function.properties["ReservedConcurrentExecutions"],
               let text = try? template.string(reserved, identifiers: ids), let value = Int(text), value > 0 {
                local.reservedConcurrency = value
            }
            let invokeConfig = function.properties["EventInvokeConfig"]
            if let retries = invokeConfig?["MaximumRetryAttempts"], let value = Int(try template.string(retries, identifiers: ids)) {
                local.asyncRetries = value
            }
            if let destination = invokeConfig?["DestinationConfig"]?["OnFailure"]?["Destination"],
               let arn = try? template.string(destination, identifiers: ids),
               let queue = template.resources(ofType: "AWS::SQS::Queue").first(where: {
                   (try? template.attribute($0.logicalId, "Arn", ids)) == arn
               }) {
                local.onFailureQueue = ids[queue.logicalId]
            }
            return local
        }
    }

    /// A rule's `Sql` (with its `AwsIotSqlVersion`) parsed; a rule the local stack cannot run is a
    /// `LocalUpError` naming it, never a guess.
    static func rule(_ properties: TemplateValue?, _ name: String, _ template: LocalTemplate,
                     _ ids: [String: String]) throws -> IoTRuleSQL? {
        guard let sql = properties?["Sql"] else { return nil }
        let text = try template.string(sql, identifiers: ids)
        let version = try properties?["AwsIotSqlVersion"].map { try template.string($0, identifiers: ids) }
        // The subset run locally means the same in both released SQL versions; "beta" may change.
        if let version, !["2015-10-08", "2016-03-23"].contains(version) {
            throw LocalUpError("\(name): AwsIotSqlVersion \(version) is not run locally (2016-03-23 or 2015-10-08)")
        }
        do {
            return try IoTRuleSQL(text)
        } catch {
            throw LocalUpError("\(name): \(error)")
        }
    }

    static func executableName(_ logicalId: String) -> String {
        var name = ""
        for character in logicalId.hasSuffix("Function") ? String(logicalId.dropLast("Function".count)) : logicalId {
            if character.isUppercase, !name.isEmpty { name += "-" }
            name += character.lowercased()
        }
        return name
    }
}
