/// `Encodable` values as JSON bytes, without Foundation (what the AWS JSON protocols send).
///
/// Written as Foundation's `JSONEncoder` with its default strategies writes them, for what Tessera
/// encodes: keys in the order they are encoded (a struct's in declaration order, a dictionary's in its
/// own order), `nil` optionals left out, whole numbers as digits, strings escaped as `jsonQuoted` does
/// (`/` is not escaped: JSON does not need it). Non-finite floating-point numbers cannot be written and
/// throw `EncodingError.invalidValue`, as Foundation's do. Byte arrays are arrays of numbers, as for any
/// array; callers that want base64 (DynamoDB's `B`) encode the string themselves (`StrictBase64`).
public enum JSONEncoding {
    public static func encode<Value: Encodable>(_ value: Value) throws -> [UInt8] {
        let root = Node()
        try value.encode(to: NodeEncoder(node: root, codingPath: []))
        guard root.kind != .unset else {
            throw EncodingError.invalidValue(value, EncodingError.Context(
                codingPath: [], debugDescription: "Top-level \(Value.self) did not encode any values."))
        }
        var out = [UInt8]()
        root.write(to: &out)
        return out
    }
}

/// One value being encoded. A reference, so a container handed out earlier can still fill it.
private final class Node {
    enum Kind: Equatable { case unset, null, literal, string, array, object }

    var kind = Kind.unset
    /// The text of a literal (`true`, `12`, `1.5`) or the unescaped string.
    var text = ""
    var elements: [Node] = []
    var fields: [(key: String, node: Node)] = []

    func becomeObject() {
        guard kind != .object else { return }
        kind = .object
        fields = []
    }

    func becomeArray() {
        guard kind != .array else { return }
        kind = .array
        elements = []
    }

    func set(_ kind: Kind, _ text: String) {
        self.kind = kind
        self.text = text
    }

    /// The node for `key`, replacing an earlier value of that key (as Foundation's encoder does).
    func child(forKey key: String) -> Node {
        let node = Node()
        if let index = fields.firstIndex(where: { $0.key == key }) {
            fields[index].node = node
        } else {
            fields.append((key, node))
        }
        return node
    }

    func appendElement() -> Node {
        let node = Node()
        elements.append(node)
        return node
    }

    func write(to out: inout [UInt8]) {
        switch kind {
        // A container asked for but never filled is an empty one; a value never set is null.
        case .unset, .null: out.append(contentsOf: "null".utf8)
        case .literal: out.append(contentsOf: text.utf8)
        case .string: appendJSONQuoted(text, to: &out)
        case .array:
            out.append(UInt8(ascii: "["))
            for (index, element) in elements.enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                element.write(to: &out)
            }
            out.append(UInt8(ascii: "]"))
        case .object:
            out.append(UInt8(ascii: "{"))
            for (index, field) in fields.enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                appendJSONQuoted(field.key, to: &out)
                out.append(UInt8(ascii: ":"))
                field.node.write(to: &out)
            }
            out.append(UInt8(ascii: "}"))
        }
    }
}

private struct NodeEncoder: Encoder {
    let node: Node
    let codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        node.becomeObject()
        return KeyedEncodingContainer(KeyedContainer<Key>(node: node, codingPath: codingPath))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        node.becomeArray()
        return UnkeyedContainer(node: node, codingPath: codingPath)
    }

    func singleValueContainer() -> any SingleValueEncodingContainer {
        SingleValueContainer(node: node, codingPath: codingPath)
    }
}

/// Writes one scalar into a node; shared by the three containers.
private func store(_ node: Node, _ value: some Encodable, codingPath: [any CodingKey]) throws {
    switch value {
    case let value as String: node.set(.string, value)
    case let value as Bool: node.set(.literal, value ? "true" : "false")
    case let value as Double: try storeFloatingPoint(node, value, String(describing: value), codingPath: codingPath)
    case let value as Float: try storeFloatingPoint(node, Double(value), String(describing: value), codingPath: codingPath)
    case let value as Int: node.set(.literal, String(value))
    case let value as Int8: node.set(.literal, String(value))
    case let value as Int16: node.set(.literal, String(value))
    case let value as Int32: node.set(.literal, String(value))
    case let value as Int64: node.set(.literal, String(value))
    case let value as UInt: node.set(.literal, String(value))
    case let value as UInt8: node.set(.literal, String(value))
    case let value as UInt16: node.set(.literal, String(value))
    case let value as UInt32: node.set(.literal, String(value))
    case let value as UInt64: node.set(.literal, String(value))
    default: try value.encode(to: NodeEncoder(node: node, codingPath: codingPath))
    }
}

/// `shortest` is the value's own description (a Float's, not its Double's: `0.1`, not `0.100000001`).
private func storeFloatingPoint(_ node: Node, _ value: Double, _ shortest: String, codingPath: [any CodingKey]) throws {
    guard value.isFinite else {
        throw EncodingError.invalidValue(value, EncodingError.Context(
            codingPath: codingPath, debugDescription: "Unable to encode \(value) directly in JSON."))
    }
    // Whole values as digits (`2`, not `2.0`), as Foundation writes them; others in Swift's shortest
    // round-tripping form, which is valid JSON (`0.1`, `1e-07`).
    if value == 0, value.sign == .minus {
        node.set(.literal, "-0")
    } else if value.rounded() == value, abs(value) < 1e15 {
        node.set(.literal, String(Int64(value)))
    } else {
        node.set(.literal, shortest)
    }
}

private struct KeyedContainer<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let node: Node
    let codingPath: [any CodingKey]

    mutating func encodeNil(forKey key: Key) throws { node.child(forKey: key.stringValue).set(.null, "") }

    mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
        try store(node.child(forKey: key.stringValue), value, codingPath: codingPath + [key])
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type,
                                                        forKey key: Key) -> KeyedEncodingContainer<NestedKey> {
        let child = node.child(forKey: key.stringValue)
        child.becomeObject()
        return KeyedEncodingContainer(KeyedContainer<NestedKey>(node: child, codingPath: codingPath + [key]))
    }

    mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
        let child = node.child(forKey: key.stringValue)
        child.becomeArray()
        return UnkeyedContainer(node: child, codingPath: codingPath + [key])
    }

    mutating func superEncoder() -> any Encoder {
        NodeEncoder(node: node.child(forKey: "super"), codingPath: codingPath + [JSONCodingKey("super")])
    }

    mutating func superEncoder(forKey key: Key) -> any Encoder {
        NodeEncoder(node: node.child(forKey: key.stringValue), codingPath: codingPath + [key])
    }
}

private struct UnkeyedContainer: UnkeyedEncodingContainer {
    let node: Node
    let codingPath: [any CodingKey]
    var count: Int { node.elements.count }

    mutating func encodeNil() throws { node.appendElement().set(.null, "") }

    mutating func encode<T: Encodable>(_ value: T) throws {
        let key = JSONCodingKey(index: count)
        try store(node.appendElement(), value, codingPath: codingPath + [key])
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<NestedKey> {
        let key = JSONCodingKey(index: count)
        let child = node.appendElement()
        child.becomeObject()
        return KeyedEncodingContainer(KeyedContainer<NestedKey>(node: child, codingPath: codingPath + [key]))
    }

    mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
        let key = JSONCodingKey(index: count)
        let child = node.appendElement()
        child.becomeArray()
        return UnkeyedContainer(node: child, codingPath: codingPath + [key])
    }

    mutating func superEncoder() -> any Encoder {
        let key = JSONCodingKey(index: count)
        return NodeEncoder(node: node.appendElement(), codingPath: codingPath + [key])
    }
}

private struct SingleValueContainer: SingleValueEncodingContainer {
    let node: Node
    let codingPath: [any CodingKey]

    mutating func encodeNil() throws { node.set(.null, "") }

    mutating func encode<T: Encodable>(_ value: T) throws {
        try store(node, value, codingPath: codingPath)
    }
}
