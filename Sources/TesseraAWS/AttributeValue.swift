import TesseraHTTP
import TesseraSupport

/// A DynamoDB attribute value in its JSON wire form (`{"S": "..."}`, `{"N": "1"}`, `{"B": "base64"}`, ...).
///
/// Binary values travel as standard base64 (`StrictBase64`: DynamoDB writes the canonical form).
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
        case .B: self = .b(try Self.bytes(c, key))
        case .BOOL: self = .bool(try c.decode(Bool.self, forKey: key))
        case .NULL: self = .null
        case .M: self = .m(try c.decode([String: AttributeValue].self, forKey: key))
        case .L: self = .l(try c.decode([AttributeValue].self, forKey: key))
        case .SS: self = .ss(try c.decode([String].self, forKey: key))
        case .NS: self = .ns(try c.decode([String].self, forKey: key))
        case .BS:
            var list = try c.nestedUnkeyedContainer(forKey: key)
            var values: [[UInt8]] = []
            while !list.isAtEnd {
                let path = c.codingPath + [key, JSONCodingKey(index: list.currentIndex)]
                values.append(try Self.decodeBase64(try list.decode(String.self), codingPath: path))
            }
            self = .bs(values)
        }
    }

    private static func bytes(_ c: KeyedDecodingContainer<Key>, _ key: Key) throws -> [UInt8] {
        try decodeBase64(try c.decode(String.self, forKey: key), codingPath: c.codingPath + [key])
    }

    /// The bytes of a base64 value, refused as Foundation's decoder refused one it could not read.
    private static func decodeBase64(_ text: String, codingPath: [any CodingKey]) throws -> [UInt8] {
        do {
            return try StrictBase64.decode(text.utf8)
        } catch {
            throw DecodingError.dataCorrupted(.init(codingPath: codingPath,
                                                    debugDescription: "Encountered Data is not valid Base64: \(error)"))
        }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: Key.self)
        switch self {
        case let .s(v): try c.encode(v, forKey: .S)
        case let .n(v): try c.encode(v, forKey: .N)
        case let .b(v): try c.encode(StrictBase64.encode(v), forKey: .B)
        case let .bool(v): try c.encode(v, forKey: .BOOL)
        case .null: try c.encode(true, forKey: .NULL)
        case let .m(v): try c.encode(v, forKey: .M)
        case let .l(v): try c.encode(v, forKey: .L)
        case let .ss(v): try c.encode(v, forKey: .SS)
        case let .ns(v): try c.encode(v, forKey: .NS)
        case let .bs(v): try c.encode(v.map { StrictBase64.encode($0) }, forKey: .BS)
        }
    }
}

/// A DynamoDB item or key: attribute name to value.
public typealias Item = [String: AttributeValue]
