import TesseraSupport

/// The fields of one object inside an event, read with errors that name the whole path
/// (`Records[0].s3.object.key`), so a malformed event says exactly where it is wrong.
struct EventObject {
    let fields: [String: JSONValue]
    let path: String

    init(_ value: JSONValue, path: String = "") throws {
        guard case let .object(fields) = value else {
            if path.isEmpty { throw EventError.notAnObject(actualType: value.typeName) }
            throw EventError.invalidField(path, problem: "must be an object, got \(value.typeName)")
        }
        self.fields = fields
        self.path = path
    }

    func at(_ name: String) -> String { path.isEmpty ? name : "\(path).\(name)" }

    func string(_ name: String) throws -> String {
        guard let value = try optionalString(name) else { throw EventError.missingField(at(name)) }
        return value
    }

    func optionalString(_ name: String) throws -> String? {
        switch fields[name] {
        case nil, .null?: return nil
        case let .string(value)?: return value
        case let other?: throw EventError.invalidField(at(name), problem: "must be a string, got \(other.typeName)")
        }
    }

    func integer(_ name: String) throws -> Int {
        guard let value = try optionalInteger(name) else { throw EventError.missingField(at(name)) }
        return value
    }

    func optionalInteger(_ name: String) throws -> Int? {
        switch fields[name] {
        case nil, .null?: return nil
        case let .integer(value)?: return value
        case let .number(value)?: throw EventError.invalidField(at(name), problem: "must be a whole number, got \(value)")
        case let other?: throw EventError.invalidField(at(name), problem: "must be a whole number, got \(other.typeName)")
        }
    }

    func object(_ name: String) throws -> EventObject {
        guard let value = fields[name], value != .null else { throw EventError.missingField(at(name)) }
        return try EventObject(value, path: at(name))
    }

    func optionalObject(_ name: String) throws -> EventObject? {
        guard let value = fields[name], value != .null else { return nil }
        return try EventObject(value, path: at(name))
    }

    /// The array's elements with their paths (`Records[3]`).
    func array(_ name: String) throws -> [(value: JSONValue, path: String)] {
        switch fields[name] {
        case nil, .null?: throw EventError.missingField(at(name))
        case let .array(values)?: return values.enumerated().map { ($1, "\(at(name))[\($0)]") }
        case let other?: throw EventError.invalidField(at(name), problem: "must be an array, got \(other.typeName)")
        }
    }
}
