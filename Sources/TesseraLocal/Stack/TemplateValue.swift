import Yams

/// A value of a CloudFormation template: YAML scalars, lists and maps, and intrinsic functions
/// (`!Ref X`, `!GetAtt X.Arn`, `{"Fn::Sub": ...}`), kept unevaluated until the local stack resolves them.
public indirect enum TemplateValue: Sendable, Equatable {
    case string(String)
    case list([TemplateValue])
    case map([String: TemplateValue])
    /// `Ref`, `Fn::Sub`, `Fn::GetAtt`, `Fn::Select`, `Fn::Split`, `Fn::Join`, `Fn::If`, `Fn::Equals`, ...
    case function(String, TemplateValue)

    init(_ node: Node) throws {
        let tag = node.tag.description
        var value: TemplateValue
        switch node {
        case let .scalar(scalar): value = .string(scalar.string)
        case let .sequence(sequence): value = .list(try sequence.map(TemplateValue.init))
        case let .mapping(mapping):
            var map: [String: TemplateValue] = [:]
            for (key, item) in mapping {
                guard let name = key.string else { throw TemplateError.malformed("a map key that is not text: \(key)") }
                map[name] = try TemplateValue(item)
            }
            // The long form {"Fn::Sub": ...} / {"Ref": ...} is the same function.
            if map.count == 1, let (name, argument) = map.first, name == "Ref" || name.hasPrefix("Fn::") || name == "Condition" {
                value = .function(name, argument)
            } else {
                value = .map(map)
            }
        }
        // The short forms: !Ref X, !GetAtt X.Arn (a string), !Sub, !If [...], ...
        if tag.hasPrefix("!") {
            let name = tag == "!Ref" || tag == "!Condition" ? String(tag.dropFirst()) : "Fn::" + tag.dropFirst()
            if name == "Fn::GetAtt", case let .string(text) = value {
                let parts = text.split(separator: ".", maxSplits: 1).map { TemplateValue.string(String($0)) }
                value = .list(parts)
            }
            value = .function(name, value)
        }
        self = value
    }

    public subscript(key: String) -> TemplateValue? {
        if case let .map(map) = self { return map[key] }
        return nil
    }

    public var string: String? { if case let .string(text) = self { text } else { nil } }
    public var list: [TemplateValue]? { if case let .list(items) = self { items } else { nil } }
    public var map: [String: TemplateValue]? { if case let .map(map) = self { map } else { nil } }
}

/// Why template.yaml could not be read or resolved; the message names the resource or function.
public enum TemplateError: Error, Equatable, CustomStringConvertible {
    case unreadable(String)
    case malformed(String)
    case unresolvable(String)

    public var description: String {
        switch self {
        case let .unreadable(reason): "template.yaml: \(reason)"
        case let .malformed(reason): "template.yaml is not what the local stack understands: \(reason)"
        case let .unresolvable(reason): "template.yaml: cannot resolve \(reason) locally"
        }
    }
}
