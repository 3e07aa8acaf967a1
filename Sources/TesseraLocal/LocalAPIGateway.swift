import FoundationEssentials
import TesseraEvents
import TesseraHTTP
import TesseraSupport

/// API Gateway's HTTP API on loopback: each browser request becomes a payload 2.0 event for the
/// function behind a `LocalRuntimeAPI`, and the function's answer becomes the HTTP response.
public final class LocalAPIGateway: @unchecked Sendable {
    /// API Gateway's payload limit; larger requests are refused as it refuses them.
    public static let maxRequestBytes = 10 * 1024 * 1024

    private var server: HTTPServer!
    private let runtime: LocalRuntimeAPI
    private let timeout: Double
    private let access: Access

    /// What the template's JWT authorizer guards, and how it checks tokens.
    public struct Access: Sendable {
        public let gallery: Gallery
        /// nil: the routes the gallery guards answer 401 to everyone (no user pool to check against).
        public let authorizer: JWTAuthorizer?
        public init(gallery: Gallery, authorizer: JWTAuthorizer?) {
            self.gallery = gallery
            self.authorizer = authorizer
        }
    }

    /// Serves on 127.0.0.1:`port` (0 picks one); `timeout` is the integration timeout (HTTP API: 30 s).
    public init(runtime: LocalRuntimeAPI, port: UInt16 = 0, timeout: Double = 30, access: Access) throws {
        self.runtime = runtime
        self.timeout = timeout
        self.access = access
        server = try HTTPServer(port: port, maxBodyBytes: Self.maxRequestBytes) { [weak self] request in
            self?.forward(request) ?? HTTPResponse(status: 503, body: Array("{\"message\":\"Service Unavailable\"}".utf8))
        }
    }

    /// The page's address: `http://127.0.0.1:<port>/`.
    public var url: String { "http://127.0.0.1:\(server.port)/" }
    public var port: UInt16 { server.port }

    public func stop() { server.stop() }

    func forward(_ request: HTTPServer.Request) -> HTTPResponse {
        guard request.body.count <= Self.maxRequestBytes else {
            return Self.message(413, "Request Entity Too Large")
        }
        let requestId = UUID().uuidString.lowercased()
        // API Gateway's JWT authorizer: a guarded route without a valid token never reaches the function.
        var claims: [String: JSONValue]?
        let path = PercentEncoding.decode(request.path)
        if access.gallery.requiresToken(method: request.method, path: path) {
            guard let authorizer = access.authorizer,
                  let verified = try? authorizer.claims(authorization: request.headers["authorization"],
                                                        now: UTCTime.nowMilliseconds() / 1000) else {
                return Self.message(401, "Unauthorized")
            }
            claims = verified
        }
        let event = Self.event(for: request, requestId: requestId, epochMilliseconds: UTCTime.nowMilliseconds(), claims: claims)
        switch runtime.invoke(event, timeout: timeout) {
        case let .response(body)?: return Self.response(fromFunction: body)
        case .error?: return Self.message(500, "Internal Server Error")
        case nil: return Self.message(503, "Service Unavailable")
        }
    }

    /// The payload 2.0 event API Gateway would send for this request.
    static func event(for request: HTTPServer.Request, requestId: String, epochMilliseconds: Int,
                      claims: [String: JSONValue]? = nil) -> [UInt8] {
        let target = request.target
        let query = target.firstIndex(of: "?").map { String(target[target.index(after: $0)...]) } ?? ""
        var headers: [(String, String)] = []
        var position: [String: Int] = [:]
        for field in request.headers where !field.name.caseInsensitiveEquals("cookie") {
            let name = field.name.asciiLowercased
            if let i = position[name] { headers[i].1 += "," + field.value }
            else { position[name] = headers.count; headers.append((name, field.value)) }
        }
        let cookies = request.headers.values("cookie").flatMap { $0.split(separator: ";") }
            .map { String($0).trimmingHTTPWhitespace() }.filter { !$0.isEmpty }
        var parameters: [(String, String)] = []
        for (name, values) in QueryString.parse(query).sorted(by: { $0.key < $1.key }) {
            parameters.append((name, values.joined(separator: ",")))
        }
        func object(_ pairs: [(String, String)]) -> String {
            "{" + pairs.map { jsonQuoted($0.0) + ":" + jsonQuoted($0.1) }.joined(separator: ",") + "}"
        }
        // HTTP API hands functions the path decoded (`/pictures/a b`), unlike REST APIs.
        let path = PercentEncoding.decode(request.path)
        var fields = [
            "\"version\":\"2.0\"", "\"routeKey\":\"$default\"", "\"rawPath\":" + jsonQuoted(path),
            "\"rawQueryString\":" + jsonQuoted(query), "\"headers\":" + object(headers),
            "\"requestContext\":{\"accountId\":\"123456789012\",\"apiId\":\"local\",\"domainName\":"
                + jsonQuoted(request.headers["host"] ?? "127.0.0.1") + ",\"http\":{\"method\":" + jsonQuoted(request.method)
                + ",\"path\":" + jsonQuoted(path) + ",\"protocol\":\"HTTP/1.1\",\"sourceIp\":\"127.0.0.1\",\"userAgent\":"
                + jsonQuoted(request.headers["user-agent"] ?? "") + "},\"requestId\":" + jsonQuoted(requestId)
                + ",\"routeKey\":\"$default\",\"stage\":\"$default\",\"timeEpoch\":\(epochMilliseconds)"
                + (claims.map { ",\"authorizer\":{\"jwt\":{\"claims\":" + Self.claimsObject($0) + ",\"scopes\":null}}" } ?? "") + "}",
            "\"isBase64Encoded\":\(!request.body.isEmpty)",
        ]
        if !cookies.isEmpty { fields.append("\"cookies\":[" + cookies.map(jsonQuoted).joined(separator: ",") + "]") }
        if !parameters.isEmpty { fields.append("\"queryStringParameters\":" + object(parameters)) }
        if !request.body.isEmpty { fields.append("\"body\":" + jsonQuoted(StrictBase64.encode(request.body))) }
        return Array(("{" + fields.joined(separator: ",") + "}").utf8)
    }

    /// Claims as HTTP APIs pass them: every value a string (numbers written out, lists as `[a b]`).
    static func claimsObject(_ claims: [String: JSONValue]) -> String {
        func text(_ value: JSONValue) -> String {
            switch value {
            case let .string(text): return text
            case let .integer(number): return String(number)
            case let .number(number): return String(number)
            case let .bool(flag): return String(flag)
            case let .array(list): return "[" + list.map(text).joined(separator: " ") + "]"
            case .object, .null: return ""
            }
        }
        return "{" + claims.keys.sorted().map { jsonQuoted($0) + ":" + jsonQuoted(text(claims[$0]!)) }.joined(separator: ",") + "}"
    }

    /// The HTTP response for a function's answer, read as HTTP API reads payload 2.0 answers: an object
    /// with `statusCode` is a response; anything else is a 200 JSON body.
    static func response(fromFunction body: [UInt8]) -> HTTPResponse {
        guard case let .object(fields)? = try? JSONValue.parse(body), case let .integer(status)? = fields["statusCode"] else {
            return HTTPResponse(status: 200, headers: HTTPHeaders([("Content-Type", "application/json")]), body: body)
        }
        guard (100...599).contains(status) else { return message(502, "Bad Gateway") }
        var headers = HTTPHeaders()
        if case let .object(map)? = fields["headers"] {
            for (name, value) in map.sorted(by: { $0.key < $1.key }) {
                guard case let .string(text) = value else { return message(502, "Bad Gateway") }
                headers.add(name, text)
            }
        }
        if case let .array(cookies)? = fields["cookies"] {
            for case let .string(cookie) in cookies { headers.add("Set-Cookie", cookie) }
        }
        var bytes: [UInt8] = []
        if case let .string(text)? = fields["body"] {
            if case .bool(true)? = fields["isBase64Encoded"] {
                guard let decoded = try? StrictBase64.decode(text.utf8) else { return message(502, "Bad Gateway") }
                bytes = decoded
            } else {
                bytes = Array(text.utf8)
            }
        }
        return HTTPResponse(status: status, headers: headers, body: bytes)
    }

    static func message(_ status: Int, _ text: String) -> HTTPResponse {
        HTTPResponse(status: status, headers: HTTPHeaders([("Content-Type", "application/json")]),
                     body: Array("{\"message\":\(jsonQuoted(text))}".utf8))
    }
}
