/// What template.yaml's IoT policies (`AWS::IoT::Policy`, attached to device certificates) let a device
/// do, as the local mosquitto enforces it: the topics a device may publish to, as mosquitto ACL
/// `pattern write` lines where `%c` is the client id. Locally there are no certificates or things: the
/// client id a device connects with is its identity (on AWS, iot:Connect ties the client id to the thing
/// name, and `${iot:Connection.Thing.ThingName}` is that name), so both policy variables become `%c`.
///
/// Only what can be enforced exactly is translated: Allow statements of `iot:Connect` (nothing to
/// enforce without certificates) and `iot:Publish` on concrete topics with those variables. Anything
/// else (Deny, conditions, wildcards, other actions or variables) is refused naming it, never widened or
/// narrowed by a guess.
public enum LocalDevicePolicy {
    /// The policy variables that stand for the client id locally.
    static let clientIdVariables = ["${iot:Connection.Thing.ThingName}", "${iot:ClientId}"]

    /// mosquitto `pattern write` topics for every topic the template's IoT policies let a device publish
    /// to, in template order (`tessera/pieces/%c`).
    public static func publishPatterns(in template: LocalTemplate, ids: [String: String]) throws -> [String] {
        var patterns: [String] = []
        for policy in template.resources(ofType: "AWS::IoT::Policy") {
            func refuse(_ problem: String) -> LocalUpError {
                LocalUpError("\(policy.logicalId): the local MQTT broker cannot enforce this IoT policy: \(problem)")
            }
            guard let document = policy.properties["PolicyDocument"] else { throw refuse("it has no PolicyDocument") }
            let statements: [TemplateValue]
            switch document["Statement"] {
            case let .list(items)?: statements = items
            case let .map(map)?: statements = [.map(map)]
            default: throw refuse("its PolicyDocument has no Statement list")
            }
            for statement in statements {
                guard try statement["Effect"].map({ try template.string($0, identifiers: ids) }) == "Allow" else {
                    throw refuse("only Allow statements are enforced locally")
                }
                if statement["Condition"] != nil { throw refuse("statements with a Condition are not enforced locally") }
                if statement["NotAction"] != nil || statement["NotResource"] != nil {
                    throw refuse("NotAction and NotResource are not enforced locally")
                }
                let actions = try strings(statement["Action"], template, ids)
                let resources = try strings(statement["Resource"], template, ids)
                for action in actions {
                    switch action {
                    case "iot:Connect":
                        continue
                    case "iot:Publish":
                        for resource in resources { patterns.append(try pattern(resource, refuse)) }
                    default:
                        throw refuse("the action \(action) is not enforced locally (only iot:Connect and iot:Publish)")
                    }
                }
            }
        }
        return patterns
    }

    /// An `arn:aws:iot:<region>:<account>:topic/<topic>` as a mosquitto pattern.
    static func pattern(_ resource: String, _ refuse: (String) -> LocalUpError) throws -> String {
        let prefix = "arn:aws:iot:\(LocalTemplate.region):\(LocalTemplate.accountId):topic/"
        guard resource.hasPrefix(prefix) else { throw refuse("iot:Publish on \(resource), which is not a topic of this account") }
        var topic = String(resource.dropFirst(prefix.count))
        // `%` and MQTT's wildcards mean something to mosquitto and nothing to an IoT policy.
        for character in ["%", "+", "#"] where topic.contains(character) {
            throw refuse("the topic \(topic) has '\(character)', which mosquitto would read as more than the policy says")
        }
        for variable in clientIdVariables { topic = topic.replacing(variable, with: "%c") }
        for character in ["*", "?"] where topic.contains(character) {
            throw refuse("the topic \(topic) has the wildcard '\(character)', which is not enforced locally")
        }
        if topic.contains("${") { throw refuse("the topic \(topic) has a policy variable other than the thing name or client id") }
        guard !topic.isEmpty else { throw refuse("iot:Publish on an empty topic") }
        return topic
    }

    static func strings(_ value: TemplateValue?, _ template: LocalTemplate, _ ids: [String: String]) throws -> [String] {
        guard let value else { return [] }
        if let items = value.list { return try items.map { try template.string($0, identifiers: ids) } }
        return [try template.string(value, identifiers: ids)]
    }
}
