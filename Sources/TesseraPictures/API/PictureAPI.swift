import TesseraAWS
import TesseraEvents
import TesseraSupport

/// picture-api's routes (DESIGN.md "picture-api"): the page, presigned uploads, listings and pictures.
public struct PictureAPI {
    public let config: PictureAPIConfig
    let db: DynamoDBClient
    let presigner: S3Presigner
    let page: WebPageCache

    public static let defaultLimit = 24, maxLimit = 100

    public init(config: PictureAPIConfig, db: DynamoDBClient) {
        self.config = config
        self.db = db
        presigner = S3Presigner(config: config.aws)
        page = WebPageCache(maxUploadBytes: config.maxUploadBytes,
                            imageOrigin: presigner.origin(bucket: config.renditionsBucket),
                            uploadOrigin: presigner.origin(bucket: config.originalsBucket))
    }

    /// The answer to one request, errors included (a failing AWS call is a 500 that names it).
    /// Internal failures go to `log` in full; the client gets a message with the request id only, since
    /// AWS errors name accounts, roles, tables and endpoints.
    public func respond(to request: APIGatewayRequest, log: (String) -> Void = { _ in }) -> APIGatewayResponse {
        var response: APIGatewayResponse
        do {
            response = try route(request)
        } catch let error as APIError {
            response = Self.error(error)
        } catch {
            let (type, message) = errorReport(for: error)
            log("\(request.method) \(request.path) (request \(request.requestId)) failed: \(type): \(message)")
            response = Self.error(APIError(status: 500, code: "InternalError", message:
                "the pictures service failed (\(type)); try again, and quote request id \(request.requestId) if it persists"))
        }
        addCORS(to: &response, for: request)
        response.headers.append(("Vary", "Origin, Accept-Encoding"))
        if !response.isBinary, response.body.count >= 1024, Gzip.isAccepted(by: request.header("accept-encoding")),
           let compressed = response.body == page.bytes ? page.gzipped : Gzip.compress(response.body) {
            response.body = compressed
            response.isBinary = true
            response.headers.append(("Content-Encoding", "gzip"))
        }
        return response
    }

    func route(_ request: APIGatewayRequest) throws -> APIGatewayResponse {
        // Segments of the decoded path, empty ones kept: collections from keys dropped into the bucket
        // may hold `/` and even `//`, so `/pictures/a/b/name` is collection `a/b` (the key rule, DESIGN.md).
        let segments = request.path.split(separator: "/", omittingEmptySubsequences: false).dropFirst().map(String.init)
        let allow: [String]
        switch segments.first {
        case "" where segments.count == 1: allow = ["GET"]
        case "uploads" where segments.count == 1: allow = ["POST"]
        case "pictures" where segments.count == 1 || segments.count >= 3: allow = ["GET"]
        default:
            throw APIError.notFound("no route for \(request.method) \(request.path); the routes are GET /, POST /uploads, "
                                    + "GET /pictures?collection=C and GET /pictures/{collection}/{name}")
        }
        if request.method == "OPTIONS" { return APIGatewayResponse(status: 204) }
        guard allow.contains(request.method) || (request.method == "HEAD" && allow.contains("GET")) else {
            throw APIError.methodNotAllowed(request.method, request.path, allow: allow + ["OPTIONS"])
        }
        switch segments.first {
        case "": return page.response
        case "uploads": return try upload(request)
        default:
            guard segments.count >= 3 else { return try list(request) }
            return try picture(collection: segments.dropFirst().dropLast().joined(separator: "/"), name: segments.last!)
        }
    }

    // MARK: - POST /uploads

    /// Marks the object as a browser upload, so its pictures-table item says `source: upload`.
    static let uploadMetadata = [("source", "upload")]

    func upload(_ request: APIGatewayRequest) throws -> APIGatewayResponse {
        let upload = try UploadRequest.parse(request.body, maxUploadBytes: config.maxUploadBytes)
        let key = upload.picture.key
        var members = ["\"collection\":" + jsonQuoted(upload.picture.collection), "\"name\":" + jsonQuoted(upload.picture.name),
                       "\"key\":" + jsonQuoted(key), "\"method\":" + jsonQuoted(upload.method.rawValue)]
        switch upload.method {
        case .post:
            let form = try presigner.postForm(bucket: config.originalsBucket, key: key, contentType: upload.contentType,
                                              metadata: Self.uploadMetadata, bytes: 1...upload.bytes, expires: config.uploadURLSeconds)
            members += ["\"url\":" + jsonQuoted(form.url),
                        "\"fields\":{" + form.fields.map { jsonQuoted($0.name) + ":" + jsonQuoted($0.value) }.joined(separator: ",") + "}",
                        "\"expiresAt\":" + jsonQuoted(form.expiresAt)]
        case .put:
            // The declared size is signed, so the URL carries exactly that many bytes (a POST policy's range
            // has no PUT equivalent).
            let put = try presigner.putRequest(bucket: config.originalsBucket, key: key, contentType: upload.contentType,
                                               contentLength: upload.bytes, metadata: Self.uploadMetadata,
                                               expires: config.uploadURLSeconds)
            members += ["\"url\":" + jsonQuoted(put.url),
                        "\"headers\":{" + put.headers.map { jsonQuoted($0.name) + ":" + jsonQuoted($0.value) }.joined(separator: ",") + "}",
                        "\"expiresAt\":" + jsonQuoted(put.expiresAt)]
        }
        return Self.json(201, "{" + members.joined(separator: ",") + "}")
    }

    // MARK: - GET /pictures?collection=C&limit=N&cursor=X

    func list(_ request: APIGatewayRequest) throws -> APIGatewayResponse {
        if let unknown = request.query.keys.sorted().first(where: { !["collection", "limit", "cursor"].contains($0) }) {
            throw APIError.invalid("InvalidQuery", "unknown query parameter \(jsonQuoted(unknown)); use collection, limit and cursor")
        }
        let collection = try single(request, "collection")
        guard let collection, !collection.isEmpty else {
            throw APIError.invalid("InvalidQuery", "query parameter `collection` is required: GET /pictures?collection=NAME")
        }
        // Collections from keys dropped into the bucket keep their characters, so only the size is held.
        guard collection.utf8.count <= 1024 else {
            throw APIError.invalid("InvalidName", "collection is \(collection.utf8.count) bytes; S3 keys, and so collections, have at most 1024")
        }
        var limit = Self.defaultLimit
        if let text = try single(request, "limit") {
            guard let value = Int(text), (1...Self.maxLimit).contains(value) else {
                throw APIError.invalid("InvalidQuery", "query parameter `limit` must be a whole number from 1 to \(Self.maxLimit), got \(jsonQuoted(String(text.prefix(40))))")
            }
            limit = value
        }
        var startKey: Item?
        if let text = try single(request, "cursor") {
            let cursor = try PictureCursor.decode(text, key: config.cursorKey, collection: collection)
            startKey = ["collection": .s(cursor.collection), "name": .s(cursor.name)]
        }
        let page = try db.query(table: config.picturesTable, keyCondition: .init(
            "#c = :c", names: ["#c": "collection"], values: [":c": .s(collection)]), startKey: startKey, limit: limit)
        let items = try page.items.map { item in
            "{" + (ItemJSON.members(item) + ["\"thumbnail\":" + (try thumbnail(item) ?? "null")]).joined(separator: ",") + "}"
        }
        let next = page.lastEvaluatedKey?["name"]?.string.map {
            jsonQuoted(PictureCursor(collection: collection, name: $0).encoded(key: config.cursorKey))
        }
        return Self.json(200, "{\"items\":[" + items.joined(separator: ",") + "],\"cursor\":" + (next ?? "null") + "}")
    }

    /// The smallest rendition, presigned, for a gallery tile.
    func thumbnail(_ item: Item) throws -> String? {
        guard case let .m(renditions)? = item["renditions"] else { return nil }
        let smallest = renditions.compactMap { name, value -> (String, Int, Int, String)? in
            guard case let .m(fields) = value, let key = fields["key"]?.string else { return nil }
            return (name, fields["width"]?.int ?? 0, fields["height"]?.int ?? 0, key)
        }.min { (Double($0.1) * Double($0.2), $0.0) < (Double($1.1) * Double($1.2), $1.0) }
        guard let (_, width, height, key) = smallest else { return nil }
        let url = try presigner.getURL(bucket: config.renditionsBucket, key: key, expires: config.downloadURLSeconds)
        return "{\"url\":\(jsonQuoted(url)),\"width\":\(width),\"height\":\(height)}"
    }

    // MARK: - GET /pictures/{collection}/{name}

    func picture(collection: String, name: String) throws -> APIGatewayResponse {
        for (field, value) in [("collection", collection), ("name", name)] where value.isEmpty || value.utf8.count > 1024 {
            throw APIError.invalid("InvalidName", "\(field) must be 1 to 1024 bytes, got \(value.utf8.count)")
        }
        guard let item = try db.getItem(table: config.picturesTable, key: ["collection": .s(collection), "name": .s(name)]) else {
            throw APIError.notFound("no picture \(jsonQuoted(name)) in collection \(jsonQuoted(collection)) (yet: a new upload shows up once it is processed)")
        }
        var urls: [String] = []
        if let key = item["key"]?.string {
            let bucket = item["bucket"]?.string ?? config.originalsBucket
            urls.append("\"original\":" + jsonQuoted(try presigner.getURL(bucket: bucket, key: key, expires: config.downloadURLSeconds)))
        }
        if case let .m(renditions)? = item["renditions"] {
            for name in renditions.keys.sorted() {
                guard case let .m(fields)? = renditions[name], let key = fields["key"]?.string else { continue }
                let url = try presigner.getURL(bucket: config.renditionsBucket, key: key, expires: config.downloadURLSeconds)
                urls.append(jsonQuoted(name) + ":" + jsonQuoted(url))
            }
        }
        return Self.json(200, "{" + (ItemJSON.members(item) + ["\"urls\":{" + urls.joined(separator: ",") + "}"]).joined(separator: ",") + "}")
    }

    // MARK: - Helpers

    /// A query parameter sent at most once.
    func single(_ request: APIGatewayRequest, _ name: String) throws -> String? {
        guard let values = request.query[name] else { return nil }
        guard values.count == 1 else {
            throw APIError.invalid("InvalidQuery", "query parameter `\(name)` is given \(values.count) times; give it once")
        }
        return values[0]
    }

    func addCORS(to response: inout APIGatewayResponse, for request: APIGatewayRequest) {
        guard let origin = request.header("origin"),
              config.allowedOrigins.contains("*") || config.allowedOrigins.contains(origin.lowercased()) else { return }
        response.headers.append(("Access-Control-Allow-Origin", config.allowedOrigins.contains("*") ? "*" : origin))
        if request.method == "OPTIONS" {
            response.headers += [("Access-Control-Allow-Methods", "GET, POST, OPTIONS"),
                                 ("Access-Control-Allow-Headers", "Content-Type, Authorization"),
                                 ("Access-Control-Max-Age", "600")]
        }
    }

    static func json(_ status: Int, _ text: String) -> APIGatewayResponse {
        APIGatewayResponse(status: status, headers: [("Content-Type", "application/json"), ("Cache-Control", "no-store")],
                           body: Array(text.utf8))
    }

    static func error(_ error: APIError) -> APIGatewayResponse {
        var response = json(error.status, "{\"error\":{\"code\":\(jsonQuoted(error.code)),\"message\":\(jsonQuoted(error.message))}}")
        response.headers += error.headers
        return response
    }
}
