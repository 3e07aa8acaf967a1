import TesseraEvents
import TesseraSupport

/// The body of `POST /uploads`: which picture the browser is about to upload, and how.
public struct UploadRequest: Sendable, Equatable {
    public enum Method: String, Sendable { case post = "POST", put = "PUT" }

    public let picture: PictureKey
    public let contentType: String
    public let bytes: Int
    public let method: Method

    /// A body this size is far past any real request; refused before parsing.
    static let maxBodyBytes = 16 * 1024
    static let fields: Set<String> = ["collection", "name", "contentType", "bytes", "method"]

    /// Parses and checks the body; the error says which field is wrong and why, with the status that fits.
    public static func parse(_ body: [UInt8], maxUploadBytes: Int) throws(APIError) -> UploadRequest {
        guard body.count <= maxBodyBytes else {
            throw APIError(status: 413, code: "BodyTooLarge", message: "request body is \(body.count) bytes; an upload request is a small JSON object (at most \(maxBodyBytes) bytes)")
        }
        guard !body.isEmpty else {
            throw .invalid("InvalidBody", "request body is empty; send JSON {\"collection\", \"name\", \"contentType\", \"bytes\"}")
        }
        let object: [String: JSONValue]
        do {
            guard case let .object(fields) = try JSONValue.parse(body) else {
                throw APIError.invalid("InvalidBody", "request body must be a JSON object")
            }
            object = fields
        } catch let error as APIError {
            throw error
        } catch let EventError.notJSON(reason) {
            throw .invalid("InvalidBody", "request body is not valid JSON: \(reason)")
        } catch let EventError.duplicateKey(path) {
            throw .invalid("InvalidBody", "request body has field `\(path)` more than once")
        } catch {
            throw .invalid("InvalidBody", "request body is not valid JSON: \(error)")
        }
        if let unknown = object.keys.sorted().first(where: { !fields.contains($0) }) {
            throw .invalid("InvalidBody", "unknown field \(jsonQuoted(unknown)); the fields are collection, name, contentType, bytes and method")
        }
        let collection = try name(object, "collection")
        let name = try name(object, "name")
        guard case let .string(contentType)? = object["contentType"] else {
            throw .invalid("InvalidBody", object["contentType"] == nil ? "field `contentType` is missing" : "field `contentType` must be a string")
        }
        guard contentType.lowercased() == "image/jpeg" else {
            throw APIError(status: 415, code: "UnsupportedMediaType",
                           message: "contentType \(jsonQuoted(String(contentType.prefix(100)))) is not accepted; only JPEG photos (image/jpeg) can be uploaded")
        }
        let bytes: Int
        switch object["bytes"] {
        case let .integer(value)?: bytes = value
        case nil: throw .invalid("InvalidBody", "field `bytes` is missing: the file's size in bytes")
        case let other?: throw .invalid("InvalidBody", "field `bytes` must be a whole number of bytes, got \(other.typeName)")
        }
        guard bytes > 0 else { throw .invalid("InvalidBody", "field `bytes` must be at least 1, got \(bytes): the file is empty") }
        guard bytes <= maxUploadBytes else {
            throw APIError(status: 413, code: "PayloadTooLarge",
                           message: "the file is \(bytes) bytes; uploads are limited to \(maxUploadBytes) bytes")
        }
        let method: Method
        switch object["method"] {
        case nil, .null?: method = .post
        case let .string(text)? where Method(rawValue: text.uppercased()) != nil: method = Method(rawValue: text.uppercased())!
        case let other?:
            throw .invalid("InvalidBody", "field `method` must be \"POST\" or \"PUT\", got \(other == .null ? "null" : ItemText.describe(other))")
        }
        return UploadRequest(picture: PictureKey(collection: collection, name: name), contentType: "image/jpeg",
                             bytes: bytes, method: method)
    }

    private static func name(_ object: [String: JSONValue], _ field: String) throws(APIError) -> String {
        guard let value = object[field] else { throw .invalid("InvalidName", "field `\(field)` is missing") }
        guard case let .string(text) = value else {
            throw .invalid("InvalidName", "field `\(field)` must be a string, got \(value.typeName)")
        }
        guard PictureKey.isSafe(text) else {
            throw .invalid("InvalidName", "\(field) \(jsonQuoted(String(text.prefix(140)))) must be \(PictureKey.safeRule)")
        }
        return text
    }
}

/// A JSON value shown in an error message: strings quoted, others by type.
enum ItemText {
    static func describe(_ value: JSONValue) -> String {
        if case let .string(text) = value { return jsonQuoted(String(text.prefix(40))) }
        return value.typeName
    }
}
