import Glibc
import TesseraSupport
import Yams

/// template.yaml as the local stack reads it: the tables, queues, buckets, topics and functions it
/// declares, with their properties' intrinsic functions resolved for one machine, so the local stack
/// creates what AWS would create from the same file (no second list that can drift).
public struct LocalTemplate: Sendable {
    public struct Resource: Sendable {
        public let logicalId: String
        public let type: String
        public let properties: [String: TemplateValue]
    }

    public let resources: [Resource]
    public let parameters: [String: String]
    let conditions: [String: TemplateValue]
    /// The stack the names derive from (AWS::StackName and the UUID in AWS::StackId).
    public let stackName: String
    private let depth = Depth()

    /// How deep resolution has gone; a template is resolved on one thread at a time.
    final class Depth: @unchecked Sendable {
        var level = 0
        func enter() throws {
            level += 1
            guard level <= 64 else {
                level = 0
                throw TemplateError.unresolvable("a Ref, Sub or Condition that leads back to itself (64 levels deep)")
            }
        }
        func leave() { level = max(0, level - 1) }
    }

    public static let region = "us-east-1", accountId = "123456789012"

    public init(yaml: String, stackName: String = "tessera-local") throws {
        // CloudFormation does not take YAML anchors and aliases; expanding them (nested, a "billion
        // laughs") could need gigabytes, so they are refused before parsing.
        for (number, line) in yaml.split(separator: "\n", omittingEmptySubsequences: false).enumerated()
        where line.firstMatch(of: /(^|[\s\[,{-])[&*][A-Za-z0-9_]/) != nil && !line.trimmingPrefix(while: { $0 == " " }).hasPrefix("#") {
            throw TemplateError.malformed("line \(number + 1) has a YAML anchor or alias (& or *), which CloudFormation does not accept")
        }
        let root: TemplateValue
        do {
            guard let node = try Yams.compose(yaml: yaml) else { throw TemplateError.malformed("the file is empty") }
            root = try TemplateValue(node)
        } catch let error as TemplateError {
            throw error
        } catch {
            throw TemplateError.malformed("\(error)")
        }
        var parameters: [String: String] = [:]
        for (name, spec) in root["Parameters"]?.map ?? [:] { parameters[name] = spec["Default"]?.string ?? "" }
        self.parameters = parameters
        conditions = root["Conditions"]?.map ?? [:]
        self.stackName = stackName
        resources = (root["Resources"]?.map ?? [:]).sorted { $0.key < $1.key }.compactMap { id, value in
            guard let type = value["Type"]?.string else { return nil }
            return Resource(logicalId: id, type: type, properties: value["Properties"]?.map ?? [:])
        }
    }

    public static func load(_ path: String, stackName: String = "tessera-local") throws -> LocalTemplate {
        guard let file = fopen(path, "r") else { throw TemplateError.unreadable("cannot open \(path)") }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65_536)
        while true {
            let n = fread(&chunk, 1, chunk.count, file)
            if n <= 0 { break }
            bytes += chunk[0..<n]
        }
        return try LocalTemplate(yaml: String(decoding: bytes, as: UTF8.self), stackName: stackName)
    }

    public func resources(ofType type: String) -> [Resource] { resources.filter { $0.type == type } }

    public func resource(_ logicalId: String) -> Resource? { resources.first { $0.logicalId == logicalId } }

    /// Its last part stands for the UUID AWS gives each stack, which the template names its originals
    /// bucket after: "local" for the default stack, and one a stack name each for others, so two stacks on
    /// one emulator never share a bucket (and each other's S3 notifications).
    var stackId: String {
        let unique = stackName == "tessera-local" ? "local" : hexString(SHA256.hash(Array(stackName.utf8)).prefix(8))
        return "arn:aws:cloudformation:\(Self.region):\(Self.accountId):stack/\(stackName)/\(unique)"
    }

    /// The name AWS would give the resource, made local: an explicit name property when the template
    /// sets one, else `<stack>-<LogicalId>` as CloudFormation does (lower-case for buckets).
    public func physicalName(_ logicalId: String) throws -> String {
        guard let resource = resource(logicalId) else {
            throw TemplateError.unresolvable("\(logicalId): no parameter or resource has that name")
        }
        let property = ["AWS::S3::Bucket": "BucketName", "AWS::DynamoDB::Table": "TableName", "AWS::SQS::Queue": "QueueName",
                        "AWS::SNS::Topic": "TopicName"][resource.type]
        if let property, let explicit = resource.properties[property] { return try string(explicit) }
        let name = "\(stackName)-\(logicalId)"
        return resource.type == "AWS::S3::Bucket" ? name.lowercased() : name
    }

    /// A value resolved to text: `Ref`s of parameters and resources, `GetAtt`, `Sub`, `Select`, `Split`,
    /// `Join`, `If`; `endpoint` gives a resource's local identifier (queue URL, topic ARN).
    public func string(_ value: TemplateValue, identifiers: [String: String] = [:]) throws -> String {
        switch try resolve(value, identifiers) {
        case let .string(text): return text
        case let other: throw TemplateError.unresolvable("\(other) to a string")
        }
    }

    func resolve(_ value: TemplateValue, _ ids: [String: String]) throws -> TemplateValue {
        // A Ref that leads back to itself (a name made from its own Ref, a condition naming itself)
        // would recurse forever: no real template nests this deep.
        try depth.enter()
        defer { depth.leave() }
        switch value {
        case .string: return value
        case let .list(items): return .list(try items.map { try resolve($0, ids) })
        case let .map(map): return .map(try map.mapValues { try resolve($0, ids) })
        case let .function(name, argument):
            switch name {
            case "Ref":
                guard let target = argument.string else { throw TemplateError.unresolvable("Ref \(argument)") }
                return .string(try reference(target, ids))
            case "Fn::GetAtt":
                guard let parts = argument.list?.compactMap(\.string), parts.count == 2 else {
                    throw TemplateError.unresolvable("GetAtt \(argument)")
                }
                return .string(try attribute(parts[0], parts[1], ids))
            case "Fn::Sub":
                var text: String, variables: [String: String] = [:]
                if let plain = argument.string {
                    text = plain
                } else if let parts = argument.list, parts.count == 2, let plain = parts[0].string, let map = parts[1].map {
                    text = plain
                    for (key, item) in map { variables[key] = try string(item, identifiers: ids) }
                } else {
                    throw TemplateError.unresolvable("Sub \(argument)")
                }
                return .string(try substitute(text, variables, ids))
            case "Fn::Select":
                guard let parts = argument.list, parts.count == 2, let index = Int(try string(parts[0], identifiers: ids)),
                      let items = try resolve(parts[1], ids).list, items.indices.contains(index) else {
                    throw TemplateError.unresolvable("Select \(argument)")
                }
                return items[index]
            case "Fn::Split":
                guard let parts = argument.list, parts.count == 2, let separator = parts[0].string else {
                    throw TemplateError.unresolvable("Split \(argument)")
                }
                let text = try string(parts[1], identifiers: ids)
                return .list(text.split(separator: separator, omittingEmptySubsequences: false).map { .string(String($0)) })
            case "Fn::Join":
                guard let parts = argument.list, parts.count == 2, let separator = parts[0].string,
                      let items = try resolve(parts[1], ids).list else { throw TemplateError.unresolvable("Join \(argument)") }
                return .string(try items.map { try string($0, identifiers: ids) }.joined(separator: separator))
            case "Fn::If":
                guard let parts = argument.list, parts.count == 3, let condition = parts[0].string else {
                    throw TemplateError.unresolvable("If \(argument)")
                }
                return try resolve(try holds(condition, ids) ? parts[1] : parts[2], ids)
            default:
                throw TemplateError.unresolvable("\(name)")
            }
        }
    }

    func holds(_ condition: String, _ ids: [String: String]) throws -> Bool {
        try depth.enter()
        defer { depth.leave() }
        guard let expression = conditions[condition] else { throw TemplateError.unresolvable("condition \(condition)") }
        return try truth(expression, ids)
    }

    func truth(_ value: TemplateValue, _ ids: [String: String]) throws -> Bool {
        guard case let .function(name, argument) = value, let parts = argument.list ?? (name == "Condition" ? [argument] : nil) else {
            throw TemplateError.unresolvable("condition \(value)")
        }
        switch name {
        case "Fn::Equals" where parts.count == 2: return try string(parts[0], identifiers: ids) == string(parts[1], identifiers: ids)
        case "Fn::Not" where parts.count == 1: return try !truth(parts[0], ids)
        case "Fn::And": return try parts.allSatisfy { try truth($0, ids) }
        case "Fn::Or": return try parts.contains { try truth($0, ids) }
        case "Condition": return try holds(parts[0].string ?? "", ids)
        default: throw TemplateError.unresolvable("condition \(name)")
        }
    }

    func reference(_ target: String, _ ids: [String: String]) throws -> String {
        switch target {
        case "AWS::Region": return Self.region
        case "AWS::AccountId": return Self.accountId
        case "AWS::Partition": return "aws"
        case "AWS::URLSuffix": return "amazonaws.com"
        case "AWS::StackName": return stackName
        case "AWS::StackId": return stackId
        case "AWS::NoValue": return ""
        default: break
        }
        if let value = parameters[target] { return value }
        if let id = ids[target] { return id }
        return try physicalName(target)
    }

    func attribute(_ logicalId: String, _ name: String, _ ids: [String: String]) throws -> String {
        let physical = try physicalName(logicalId)
        guard let resource = resource(logicalId) else { throw TemplateError.unresolvable("GetAtt \(logicalId)") }
        switch (resource.type, name) {
        case ("AWS::SQS::Queue", "Arn"): return "arn:aws:sqs:\(Self.region):\(Self.accountId):\(physical)"
        case ("AWS::SQS::Queue", "QueueName"): return physical
        case ("AWS::S3::Bucket", "Arn"): return "arn:aws:s3:::\(physical)"
        case ("AWS::DynamoDB::Table", "Arn"): return "arn:aws:dynamodb:\(Self.region):\(Self.accountId):table/\(physical)"
        default: return ids["\(logicalId).\(name)"] ?? "\(physical).\(name)"
        }
    }

    func substitute(_ text: String, _ variables: [String: String], _ ids: [String: String]) throws -> String {
        var out = "", rest = Substring(text)
        while let open = rest.range(of: "${") {
            out += rest[..<open.lowerBound]
            guard let close = rest[open.upperBound...].firstIndex(of: "}") else { throw TemplateError.unresolvable("Sub \(text)") }
            let name = String(rest[open.upperBound..<close])
            if name.hasPrefix("!") {
                // `${!Literal}` writes `${Literal}` (IoT policy variables such as ${iot:ClientId}).
                out += "${" + name.dropFirst() + "}"
            } else if let value = variables[name] {
                out += value
            } else if let dot = name.firstIndex(of: "."), !name.hasPrefix("AWS::") {
                out += try attribute(String(name[..<dot]), String(name[name.index(after: dot)...]), ids)
            } else {
                out += try reference(name, ids)
            }
            rest = rest[rest.index(after: close)...]
        }
        return out + rest
    }
}
