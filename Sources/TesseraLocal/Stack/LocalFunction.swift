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
    /// MQTT topic filters of IoT rules (`SELECT * FROM 'tessera/pieces'`).
    public let iotTopics: [String]
    /// Whether an HTTP API routes to it.
    public let servesHTTP: Bool

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
            var queues: [(String, Int)] = [], topics: [String] = [], http = false
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
                    if let topic = try topicFilter(properties?["Sql"], template, ids) { topics.append(topic) }
                case "HttpApi", "Api":
                    http = true
                default:
                    continue
                }
            }
            // Standalone rules (the template's, for their error action) that invoke this function.
            for rule in template.resources(ofType: "AWS::IoT::TopicRule") {
                let payload = rule.properties["TopicRulePayload"]
                let invokes = (payload?["Actions"]?.list ?? []).contains { action in
                    guard case let .function("Fn::GetAtt", .list(parts))? = action["Lambda"]?["FunctionArn"] else { return false }
                    return parts.first?.string == function.logicalId
                }
                if invokes, let topic = try topicFilter(payload?["Sql"], template, ids) { topics.append(topic) }
            }
            let globals = 128
            return LocalFunction(
                logicalId: function.logicalId, executable: executableName(function.logicalId), environment: environment,
                memoryMB: Int(try function.properties["MemorySize"].map { try template.string($0, identifiers: ids) } ?? "") ?? globals,
                timeoutSeconds: Int(try function.properties["Timeout"].map { try template.string($0, identifiers: ids) } ?? "") ?? 3,
                queues: queues, iotTopics: topics, servesHTTP: http)
        }
    }

    /// The topic filter of a rule's `SELECT ... FROM 'topic'`.
    static func topicFilter(_ sql: TemplateValue?, _ template: LocalTemplate, _ ids: [String: String]) throws -> String? {
        guard let sql else { return nil }
        let text = try template.string(sql, identifiers: ids)
        guard let from = text.range(of: "FROM '"), let end = text[from.upperBound...].firstIndex(of: "'") else { return nil }
        return String(text[from.upperBound..<end])
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
