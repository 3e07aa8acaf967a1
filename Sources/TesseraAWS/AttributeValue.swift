import FoundationEssentials
import TesseraHTTP
import TesseraSupport

/// A DynamoDB attribute value in its JSON wire form (`{"S": "..."}`, `{"N": "1"}`, `{"B": "base64"}`, ...).
public indirect enum AttributeValue: Sendable, Equatable, Codable {
    case s(String)
    /// Numbers travel as strings to keep DynamoDB's 38-digit precision.
    case n(String)
    case b([UInt8])
    case bool(Bool)
    case null
    case m([String: AttributeValue])
    case l([AttributeValue])
    case ss([String])
    case ns([String])
    case bs([[UInt8]])

    public static func number(_ value: Int) -> AttributeValue { .n(String(value)) }

    public var string: String? { if case let .s(v) = self { v } else { nil } }
    public var bytes: [UInt8]? { if case let .b(v) = self { v } else { nil } }
    public var boolValue: Bool? { if case let .bool(v) = self { v } else { nil } }
    public var int: Int? { if case let .n(v) = self { Int(v) } else { nil } }

    private enum Key: String, CodingKey { case S, N, B, BOOL, NULL, M, L, SS, NS, BS }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: Key.self)
        guard let key = c.allKeys.first else {
            throw DecodingError.dataCorrupted(.init(codingPath: c.codingPath, debugDescription: "empty attribute value"))
        }
        switch key {
        case .S: self = .s(try c.decode(String.self, forKey: key))
        case .N: self = .n(try c.decode(String.self, forKey: key))
        case .B: self = .b([UInt8](try c.decode(Data.self, forKey: key)))
        case .BOOL: self = .bool(try c.decode(Bool.self, forKey: key))
        case .NULL: self = .null
        case .M: self = .m(try c.decode([String: AttributeValue].self, forKey: key))
        case .L: self = .l(try c.decode([AttributeValue].self, forKey: key))
        case .SS: self = .ss(try c.decode([String].self, forKey: key))
        case .NS: self = .ns(try c.decode([String].self, forKey: key))
        case .BS: self = .bs(try c.decode([Data].self, forKey: key).map { [UInt8]($0) })
        }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: Key.self)
        switch self {
        case let .s(v): try c.encode(v, forKey: .S)
        case let .n(v): try c.encode(v, forKey: .N)
        case let .b(v): try c.encode(Data(v), forKey: .B)
        case let .bool(v): try c.encode(v, forKey: .BOOL)
        case .null: try c.encode(true, forKey: .NULL)
        case let .m(v): try c.encode(v, forKey: .M)
        case let .l(v): try c.encode(v, forKey: .L)
        case let .ss(v): try c.encode(v, forKey: .SS)
        case let .ns(v): try c.encode(v, forKey: .NS)
        case let .bs(v): try c.encode(v.map { Data($0) }, forKey: .BS)
        }
    }
}

/// A DynamoDB item or key: attribute name to value.
public typealias Item = [String: AttributeValue]
