/// `Decodable` values from JSON bytes, without Foundation (what the AWS JSON protocols answer).
///
/// The text is read by `StrictJSON` (UTF-8 only, no duplicate keys), then decoded as Foundation's
/// `JSONDecoder` with its default strategies decodes: unknown keys ignored, a missing key or `null`
/// for an optional is `nil`, integers must be whole and fit their type, floating-point values accept
/// any number. Failures are `DecodingError`s with the coding path, as Foundation's are, and text that
/// is not JSON is `DecodingError.dataCorrupted` whose underlying error is the `StrictJSON.Failure`.
public enum JSONDecoding {
    /// `subject` names the document in the messages of text that is not JSON.
    public static func decode<Value: Decodable>(_ type: Value.Type, from bytes: [UInt8],
                                                subject: String = "document") throws -> Value {
        let value: JSONValue
        do {
            value = try StrictJSON.parse(bytes, subject: subject)
        } catch {
            throw DecodingError.dataCorrupted(DecodingError.Context(
                codingPath: [], debugDescription: "The given data was not valid JSON: \(error)", underlyingError: error))
        }
        return try decode(type, from: value)
    }

    /// Decodes a value already parsed.
    public static func decode<Value: Decodable>(_ type: Value.Type, from value: JSONValue) throws -> Value {
        try Value(from: ValueDecoder(value: value, codingPath: []))
    }
}

private struct ValueDecoder: Decoder {
    let value: JSONValue
    let codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        guard case let .object(fields) = value else {
            throw mismatch([String: JSONValue].self, value, codingPath)
        }
        return KeyedDecodingContainer(KeyedContainer<Key>(fields: fields, codingPath: codingPath))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        guard case let .array(elements) = value else { throw mismatch([JSONValue].self, value, codingPath) }
        return UnkeyedContainer(elements: elements, codingPath: codingPath)
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer {
        SingleValueContainer(value: value, codingPath: codingPath)
    }
}

/// What a value is, for messages: "a string", "null".
private func describe(_ value: JSONValue) -> String {
    switch value {
    case .null: "null"
    case .bool: "a boolean"
    case .integer, .number: "a number"
    case .string: "a string"
    case .array: "an array"
    case .object: "a dictionary"
    }
}

private func mismatch(_ type: Any.Type, _ value: JSONValue, _ codingPath: [any CodingKey]) -> DecodingError {
    if case .null = value {
        return .valueNotFound(type, DecodingError.Context(
            codingPath: codingPath, debugDescription: "Expected \(type) value but found null instead."))
    }
    return .typeMismatch(type, DecodingError.Context(
        codingPath: codingPath, debugDescription: "Expected to decode \(type) but found \(describe(value)) instead."))
}

/// Decodes one value of a JSON tree; shared by the three containers.
private func unbox<T: Decodable>(_ type: T.Type, _ value: JSONValue, _ codingPath: [any CodingKey]) throws -> T {
    switch type {
    case is String.Type:
        guard case let .string(text) = value else { throw mismatch(type, value, codingPath) }
        return text as! T
    case is Bool.Type:
        guard case let .bool(flag) = value else { throw mismatch(type, value, codingPath) }
        return flag as! T
    case is Double.Type: return try floatingPoint(value, codingPath) as! T
    case is Float.Type:
        let double = try floatingPoint(value, codingPath)
        let float = Float(double)
        // As Foundation: a number a Float cannot hold is refused, not made infinite or zero.
        guard float.isFinite, float != 0 || double == 0 else {
            throw DecodingError.dataCorrupted(DecodingError.Context(
                codingPath: codingPath, debugDescription: "Parsed JSON number <\(double)> does not fit in Float."))
        }
        return float as! T
    case is Int.Type: return try integer(Int.self, value, codingPath) as! T
    case is Int8.Type: return try integer(Int8.self, value, codingPath) as! T
    case is Int16.Type: return try integer(Int16.self, value, codingPath) as! T
    case is Int32.Type: return try integer(Int32.self, value, codingPath) as! T
    case is Int64.Type: return try integer(Int64.self, value, codingPath) as! T
    case is UInt.Type: return try integer(UInt.self, value, codingPath) as! T
    case is UInt8.Type: return try integer(UInt8.self, value, codingPath) as! T
    case is UInt16.Type: return try integer(UInt16.self, value, codingPath) as! T
    case is UInt32.Type: return try integer(UInt32.self, value, codingPath) as! T
    case is UInt64.Type: return try integer(UInt64.self, value, codingPath) as! T
    case is JSONValue.Type: return value as! T
    default: return try T(from: ValueDecoder(value: value, codingPath: codingPath))
    }
}

private func floatingPoint(_ value: JSONValue, _ codingPath: [any CodingKey]) throws -> Double {
    switch value {
    case let .integer(number): Double(number)
    case let .number(number): number
    default: throw mismatch(Double.self, value, codingPath)
    }
}

private func integer<I: FixedWidthInteger>(_ type: I.Type, _ value: JSONValue, _ codingPath: [any CodingKey]) throws -> I {
    let result: I?
    switch value {
    case let .integer(number): result = I(exactly: number)
    // StrictJSON reads whole numbers beyond Int as doubles: past 2^53 a double may already be rounded,
    // so those are refused rather than read as a neighbouring integer (UInt64's upper half among them).
    case let .number(number): result = abs(number) <= 9_007_199_254_740_992 ? I(exactly: number) : nil
    default: throw mismatch(type, value, codingPath)
    }
    guard let result else {
        // Only an error spells the number out (every decoded integer passes here).
        let text = if case let .number(number) = value { "\(number)" } else if case let .integer(number) = value {
            String(number)
        } else { "" }
        throw DecodingError.dataCorrupted(DecodingError.Context(
            codingPath: codingPath, debugDescription: "Parsed JSON number <\(text)> does not fit in \(type)."))
    }
    return result
}

private struct KeyedContainer<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let fields: [String: JSONValue]
    let codingPath: [any CodingKey]

    var allKeys: [Key] { fields.keys.compactMap { Key(stringValue: $0) } }

    func contains(_ key: Key) -> Bool { fields[key.stringValue] != nil }

    private func field(_ key: Key) throws -> JSONValue {
        guard let value = fields[key.stringValue] else {
            throw DecodingError.keyNotFound(key, DecodingError.Context(
                codingPath: codingPath, debugDescription: "No value associated with key \(key) (\"\(key.stringValue)\")."))
        }
        return value
    }

    func decodeNil(forKey key: Key) throws -> Bool {
        if case .null = try field(key) { return true }
        return false
    }

    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
        try unbox(type, try field(key), codingPath + [key])
    }

    func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type,
                                               forKey key: Key) throws -> KeyedDecodingContainer<NestedKey> {
        try ValueDecoder(value: try field(key), codingPath: codingPath + [key]).container(keyedBy: type)
    }

    func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
        try ValueDecoder(value: try field(key), codingPath: codingPath + [key]).unkeyedContainer()
    }

    func superDecoder() throws -> any Decoder {
        ValueDecoder(value: fields["super"] ?? .null, codingPath: codingPath + [JSONCodingKey("super")])
    }

    func superDecoder(forKey key: Key) throws -> any Decoder {
        ValueDecoder(value: fields[key.stringValue] ?? .null, codingPath: codingPath + [key])
    }
}

private struct UnkeyedContainer: UnkeyedDecodingContainer {
    let elements: [JSONValue]
    let codingPath: [any CodingKey]
    var currentIndex = 0

    init(elements: [JSONValue], codingPath: [any CodingKey]) {
        self.elements = elements
        self.codingPath = codingPath
    }

    var count: Int? { elements.count }
    var isAtEnd: Bool { currentIndex >= elements.count }

    private var currentPath: [any CodingKey] { codingPath + [JSONCodingKey(index: currentIndex)] }

    private func current(_ type: Any.Type) throws -> JSONValue {
        guard !isAtEnd else {
            throw DecodingError.valueNotFound(type, DecodingError.Context(
                codingPath: currentPath, debugDescription: "Unkeyed container is at end."))
        }
        return elements[currentIndex]
    }

    mutating func decodeNil() throws -> Bool {
        guard case .null = try current(JSONValue.self) else { return false }
        currentIndex += 1
        return true
    }

    mutating func decode<T: Decodable>(_ type: T.Type) throws -> T {
        let value = try unbox(type, try current(type), currentPath)
        currentIndex += 1
        return value
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws -> KeyedDecodingContainer<NestedKey> {
        let container = try ValueDecoder(value: try current(type), codingPath: currentPath).container(keyedBy: type)
        currentIndex += 1
        return container
    }

    mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer {
        let container = try ValueDecoder(value: try current([JSONValue].self), codingPath: currentPath).unkeyedContainer()
        currentIndex += 1
        return container
    }

    mutating func superDecoder() throws -> any Decoder {
        let decoder = ValueDecoder(value: try current(JSONValue.self), codingPath: currentPath)
        currentIndex += 1
        return decoder
    }
}

private struct SingleValueContainer: SingleValueDecodingContainer {
    let value: JSONValue
    let codingPath: [any CodingKey]

    func decodeNil() -> Bool {
        if case .null = value { return true }
        return false
    }

    func decode<T: Decodable>(_ type: T.Type) throws -> T {
        try unbox(type, value, codingPath)
    }
}
