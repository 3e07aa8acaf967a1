import TesseraSupport

/// An HTTP request as API Gateway hands it to Lambda: one shape for HTTP API events (payload 2.0)
/// and REST API proxy events (1.0), so routes never look at which kind of API called them.
public struct APIGatewayRequest: Sendable, Equatable {
    /// Which payload the event came in; the response must go back in the same one.
    public enum Format: Sendable, Equatable {
        case httpAPI
        case restProxy
    }

    public var format: Format
    /// Upper-case method (`GET`, `POST`, ...).
    public var method: String
    /// The path below the stage, percent-decoded once: HTTP APIs deliver `rawPath` decoded already,
    /// REST APIs deliver `path` as sent, so that one is decoded here.
    public var path: String
    /// Header values by lower-case name; a header sent several times keeps each value.
    public var headers: [String: [String]]
    /// Query parameters, decoded, each name with every value in the order sent.
    public var query: [String: [String]]
    /// What API Gateway matched for `{name}` segments of the route, decoded.
    public var pathParameters: [String: String]
    /// `name=value` cookies as sent.
    public var cookies: [String]
    /// The body's bytes (base64 bodies decoded).
    public var body: [UInt8]
    public var requestId: String
    public var sourceIP: String?
    /// The caller's identity: the `sub` claim of the token the API's JWT authorizer verified
    /// (`requestContext.authorizer.jwt.claims`, or `requestContext.authorizer.claims` from a REST API's
    /// Cognito authorizer); nil for a route without an authorizer. API Gateway writes `requestContext`,
    /// never the caller.
    public var subject: String?

    public init(format: Format = .httpAPI, method: String, path: String, headers: [String: [String]] = [:],
                query: [String: [String]] = [:], pathParameters: [String: String] = [:], cookies: [String] = [],
                body: [UInt8] = [], requestId: String = "", sourceIP: String? = nil, subject: String? = nil) {
        self.format = format
        self.method = method
        self.path = path
        self.headers = headers
        self.query = query
        self.pathParameters = pathParameters
        self.cookies = cookies
        self.body = body
        self.requestId = requestId
        self.sourceIP = sourceIP
        self.subject = subject
    }

    /// The header's values joined as HTTP joins repeated fields (`, `), or nil when absent.
    public func header(_ name: String) -> String? {
        headers[name.asciiLowercased].map { $0.joined(separator: ", ") }
    }


    /// Parses an API Gateway proxy event: HTTP API 2.0 when it says `"version": "2.0"`, REST 1.0 when it
    /// has `httpMethod`; anything else is refused with the field that is wrong.
    public static func parse(_ event: [UInt8]) throws -> APIGatewayRequest {
        let root = try EventObject(try JSONValue.parse(event))
        if let version = try root.optionalString("version"), version == "2.0" {
            return try parseHTTPAPI(root)
        }
        if root.fields["httpMethod"] != nil { return try parseRESTProxy(root) }
        if let version = try root.optionalString("version") {
            throw EventError.invalidField("version", problem: "must be \"2.0\" (HTTP API) or absent (REST API 1.0), got \"\(version)\"")
        }
        throw EventError.missingField("httpMethod")
    }

    static func parseHTTPAPI(_ root: EventObject) throws -> APIGatewayRequest {
        let context = try root.object("requestContext")
        let http = try context.object("http")
        var request = APIGatewayRequest(format: .httpAPI, method: try method(http, "method"),
                                        path: try rawPath(root, "rawPath"))
        // HTTP API joins repeated headers with commas; each stays one value here, as sent.
        for (name, value) in try stringMap(root, "headers") { request.headers[name.asciiLowercased, default: []].append(value) }
        if let raw = try root.optionalString("rawQueryString") {
            request.query = QueryString.parse(raw)
        } else {
            for (name, value) in try stringMap(root, "queryStringParameters") { request.query[name] = [value] }
        }
        request.pathParameters = try stringMap(root, "pathParameters")
        request.cookies = try stringList(root, "cookies")
        request.body = try body(root)
        request.requestId = try context.optionalString("requestId") ?? ""
        request.sourceIP = try http.optionalString("sourceIp")
        request.subject = try subject(context)
        request.path = stripStage(request.path, stage: try context.optionalString("stage"))
        return request
    }

    static func parseRESTProxy(_ root: EventObject) throws -> APIGatewayRequest {
        var request = APIGatewayRequest(format: .restProxy, method: try method(root, "httpMethod"),
                                        path: PercentEncoding.decode(try rawPath(root, "path")))
        let multiHeaders = try stringListMap(root, "multiValueHeaders")
        if multiHeaders.isEmpty {
            for (name, value) in try stringMap(root, "headers") { request.headers[name.asciiLowercased, default: []].append(value) }
        } else {
            for (name, values) in multiHeaders { request.headers[name.asciiLowercased, default: []] += values }
        }
        let multiQuery = try stringListMap(root, "multiValueQueryStringParameters")
        if multiQuery.isEmpty {
            for (name, value) in try stringMap(root, "queryStringParameters") { request.query[name] = [value] }
        } else {
            request.query = multiQuery
        }
        request.pathParameters = try stringMap(root, "pathParameters")
        // REST APIs pass cookies as the Cookie header; split it so both formats read the same.
        request.cookies = (request.headers["cookie"] ?? []).flatMap {
            $0.split(separator: ";").map { $0.trimmingASCIISpaces() }.filter { !$0.isEmpty }
        }
        request.body = try body(root)
        if let context = try root.optionalObject("requestContext") {
            request.requestId = try context.optionalString("requestId") ?? ""
            request.sourceIP = try context.optionalObject("identity")?.optionalString("sourceIp")
            request.subject = try subject(context)
        }
        return request
    }

    /// `sub` of the authorizer's claims; an empty one is refused (it would name no one).
    private static func subject(_ context: EventObject) throws -> String? {
        guard let authorizer = try context.optionalObject("authorizer") else { return nil }
        guard let claims = try authorizer.optionalObject("jwt")?.optionalObject("claims") ?? authorizer.optionalObject("claims"),
              let sub = try claims.optionalString("sub") else { return nil }
        guard !sub.isEmpty else { throw EventError.invalidField(claims.at("sub"), problem: "must not be empty") }
        return sub
    }

    private static func method(_ object: EventObject, _ name: String) throws -> String {
        let method = try object.string(name)
        guard !method.isEmpty, method.utf8.allSatisfy({ (0x41...0x5A).contains($0) || (0x61...0x7A).contains($0) }) else {
            throw EventError.invalidField(object.at(name), problem: "must be an HTTP method (letters only), got \(jsonQuoted(String(method.prefix(40))))")
        }
        return method.uppercased()
    }

    private static func rawPath(_ object: EventObject, _ name: String) throws -> String {
        let path = try object.string(name)
        guard path.hasPrefix("/") else {
            throw EventError.invalidField(object.at(name), problem: "must start with /, got \(jsonQuoted(String(path.prefix(40))))")
        }
        return path
    }

    /// HTTP API puts a named stage in `rawPath` (`/prod/pictures`); routes see the path below it.
    private static func stripStage(_ path: String, stage: String?) -> String {
        guard let stage, stage != "$default", !stage.isEmpty else { return path }
        let prefix = "/" + stage
        if path == prefix { return "/" }
        return path.hasPrefix(prefix + "/") ? String(path.dropFirst(prefix.count)) : path
    }

    private static func body(_ root: EventObject) throws -> [UInt8] {
        guard let text = try root.optionalString("body") else { return [] }
        let encoded: Bool
        switch root.fields["isBase64Encoded"] {
        case nil, .null?: encoded = false
        case let .bool(flag)?: encoded = flag
        case let other?: throw EventError.invalidField("isBase64Encoded", problem: "must be a boolean, got \(other.typeName)")
        }
        guard encoded else { return Array(text.utf8) }
        do {
            return try StrictBase64.decode(text.utf8)
        } catch {
            throw EventError.invalidField("body", problem: "is marked isBase64Encoded but is not base64: \(error)")
        }
    }

    private static func stringMap(_ object: EventObject, _ name: String) throws -> [String: String] {
        guard let map = try object.optionalObject(name) else { return [:] }
        var out: [String: String] = [:]
        for key in map.fields.keys { out[key] = try map.string(key) }
        return out
    }

    private static func stringListMap(_ object: EventObject, _ name: String) throws -> [String: [String]] {
        guard let map = try object.optionalObject(name) else { return [:] }
        var out: [String: [String]] = [:]
        for key in map.fields.keys { out[key] = try stringList(map, key) }
        return out
    }

    private static func stringList(_ object: EventObject, _ name: String) throws -> [String] {
        guard let value = object.fields[name], value != .null else { return [] }
        guard case .array = value else {
            throw EventError.invalidField(object.at(name), problem: "must be an array of strings, got \(value.typeName)")
        }
        return try object.array(name).map { element in
            guard case let .string(text) = element.value else {
                throw EventError.invalidField(element.path, problem: "must be a string, got \(element.value.typeName)")
            }
            return text
        }
    }
}

/// `a=1&b=x+y&a=2` as browsers send it: `+` is a space, escapes decoded once, names keep every value.
public enum QueryString {
    public static func parse(_ raw: String) -> [String: [String]] {
        var out: [String: [String]] = [:]
        for pair in raw.split(separator: "&", omittingEmptySubsequences: true) {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let name = PercentEncoding.decode(String(parts[0]), plusAsSpace: true)
            let value = parts.count > 1 ? PercentEncoding.decode(String(parts[1]), plusAsSpace: true) : ""
            out[name, default: []].append(value)
        }
        return out
    }
}

extension Substring {
    func trimmingASCIISpaces() -> String {
        String(drop { $0 == " " || $0 == "\t" }.reversed().drop { $0 == " " || $0 == "\t" }.reversed())
    }
}
