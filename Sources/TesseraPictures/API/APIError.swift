/// A request picture-api refuses: the HTTP status, a stable code and a message the user can act on.
public struct APIError: Error, Equatable, CustomStringConvertible {
    public let status: Int
    public let code: String
    public let message: String
    /// Extra headers (`Allow` for 405).
    public var headers: [(name: String, value: String)] = []

    public init(status: Int, code: String, message: String) {
        self.status = status
        self.code = code
        self.message = message
    }

    public var description: String { "\(status) \(code): \(message)" }

    public static func == (a: APIError, b: APIError) -> Bool {
        a.status == b.status && a.code == b.code && a.message == b.message
    }

    static func invalid(_ code: String, _ message: String) -> APIError { APIError(status: 400, code: code, message: message) }

    static func notFound(_ message: String) -> APIError { APIError(status: 404, code: "NotFound", message: message) }

    static func methodNotAllowed(_ method: String, _ path: String, allow: [String]) -> APIError {
        var error = APIError(status: 405, code: "MethodNotAllowed",
                             message: "\(method) is not allowed on \(path); use \(allow.joined(separator: " or "))")
        error.headers = [("Allow", allow.joined(separator: ", "))]
        return error
    }
}
