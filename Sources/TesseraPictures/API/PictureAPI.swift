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
    /// How long a claim outlives its upload form, for the upload to be processed.
    static let claimProcessingSeconds = 3_600
    /// DynamoDB queries one listing page may take to fill itself past hidden items.
    static let maxQueries = 10
    /// Items one listing request may read in all: a page of 100 in a private gallery would otherwise read
    /// 1,000 (about 125 read units), and a signed-in caller could then make the index partition throttle.
    static let maxItemsRead = 300

    /// The queries a page of `limit` items may take: at least one, at most `maxQueries`, and no more
    /// than `maxItemsRead` items in all.
    static func queryBudget(limit: Int, maxQueries: Int = maxQueries) -> Int {
        max(1, min(maxQueries, maxItemsRead / max(1, limit)))
    }

    public init(config: PictureAPIConfig, db: DynamoDBClient) {
        self.config = config
        self.db = db
        presigner = S3Presigner(config: config.aws)
        page = WebPageCache(maxUploadBytes: config.maxUploadBytes,
                            imageOrigin: presigner.origin(bucket: config.renditionsBucket),
                            uploadOrigin: presigner.origin(bucket: config.originalsBucket), signIn: config.signIn)
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
        case "collections" where segments.count == 1: allow = ["GET"]
        default:
            throw APIError.notFound("no route for \(request.method) \(request.path); the routes are GET /, POST /uploads, "
                                    + "GET /pictures (recent), GET /pictures?collection=C, GET /pictures/{collection}/{name} "
                                    + "and GET /collections")
        }
        if request.method == "OPTIONS" { return APIGatewayResponse(status: 204) }
        guard allow.contains(request.method) || (request.method == "HEAD" && allow.contains("GET")) else {
            throw APIError.methodNotAllowed(request.method, request.path, allow: allow + ["OPTIONS"])
        }
        // API Gateway's authorizer guards these routes already; checked again so that a route left open by
        // mistake in a template still writes nothing anonymously.
        let caller = request.subject.map(Owner.user)
        if caller == nil, config.gallery.requiresToken(method: request.method, path: request.path) {
            throw APIError(status: 401, code: "Unauthorized", message:
                "sign in first: \(request.method) \(segments.first == "uploads" ? "/uploads" : "/pictures") needs a token (Authorization: Bearer ...)")
        }
        switch segments.first {
        case "": return page.response
        case "uploads": return try upload(request, caller: caller)
        case "collections": return try collections(request, caller: caller)
        default:
            guard segments.count >= 3 else { return try list(request, caller: caller) }
            return try picture(collection: segments.dropFirst().dropLast().joined(separator: "/"), name: segments.last!, caller: caller)
        }
    }

    // MARK: - POST /uploads

    /// Claims the picture for the caller (refused when it is another owner's) and hands out a presigned
    /// upload that carries, signed, `source: upload`, the owner and a new upload id: picture-processor
    /// keeps only the object of the claim's pending upload, so the form writes one picture once.
    func upload(_ request: APIGatewayRequest, caller: String?) throws -> APIGatewayResponse {
        let upload = try UploadRequest.parse(request.body, maxUploadBytes: config.maxUploadBytes)
        let key = upload.picture.key
        let owner = caller ?? Owner.anonymous
        let uploadId = hexString(randomBytes(16))
        // The claim outlives the form by the time a queued upload may take to be processed (the resize
        // queue's messages are retried for minutes); a name claimed and never uploaded is free again then.
        let until = UTCTime.nowMilliseconds() / 1000 + config.uploadURLSeconds + Self.claimProcessingSeconds
        guard try PicturesTable(table: config.picturesTable, db: db).claim(upload.picture, owner: owner, upload: uploadId, until: until) else {
            throw APIError(status: 403, code: "NotOwner", message:
                "\(upload.picture.collection)/\(upload.picture.name) belongs to another owner: choose another name or collection")
        }
        let metadata = [("source", "upload"), ("owner", owner), ("upload", uploadId)]
        var members = ["\"collection\":" + jsonQuoted(upload.picture.collection), "\"name\":" + jsonQuoted(upload.picture.name),
                       "\"key\":" + jsonQuoted(key), "\"method\":" + jsonQuoted(upload.method.rawValue)]
        switch upload.method {
        case .post:
            let form = try presigner.postForm(bucket: config.originalsBucket, key: key, contentType: upload.contentType,
                                              metadata: metadata, bytes: 1...upload.bytes, expires: config.uploadURLSeconds)
            members += ["\"url\":" + jsonQuoted(form.url),
                        "\"fields\":{" + form.fields.map { jsonQuoted($0.name) + ":" + jsonQuoted($0.value) }.joined(separator: ",") + "}",
                        "\"expiresAt\":" + jsonQuoted(form.expiresAt)]
        case .put:
            // The declared size is signed, so the URL carries exactly that many bytes (a POST policy's range
            // has no PUT equivalent).
            let put = try presigner.putRequest(bucket: config.originalsBucket, key: key, contentType: upload.contentType,
                                               contentLength: upload.bytes, metadata: metadata,
                                               expires: config.uploadURLSeconds)
            members += ["\"url\":" + jsonQuoted(put.url),
                        "\"headers\":{" + put.headers.map { jsonQuoted($0.name) + ":" + jsonQuoted($0.value) }.joined(separator: ",") + "}",
                        "\"expiresAt\":" + jsonQuoted(put.expiresAt)]
        }
        return Self.json(201, "{" + members.joined(separator: ",") + "}")
    }

    // MARK: - GET /pictures?collection=C&limit=N&cursor=X

    func list(_ request: APIGatewayRequest, caller: String?) throws -> APIGatewayResponse {
        if let unknown = request.query.keys.sorted().first(where: { !["collection", "limit", "cursor"].contains($0) }) {
            throw APIError.invalid("InvalidQuery", "unknown query parameter \(jsonQuoted(unknown)); use collection, limit and cursor")
        }
        guard let collection = try single(request, "collection") else { return try recent(request, caller: caller) }
        guard !collection.isEmpty else {
            throw APIError.invalid("InvalidQuery", "query parameter `collection` is empty: name a collection, "
                                   + "or leave the parameter out for the most recent pictures of every collection")
        }
        // Collections from keys dropped into the bucket keep their characters, so only the size is held.
        guard collection.utf8.count <= 1024 else {
            throw APIError.invalid("InvalidName", "collection is \(collection.utf8.count) bytes; S3 keys, and so collections, have at most 1024")
        }
        let limit = try self.limit(request)
        var startKey: Item?
        if let text = try single(request, "cursor") {
            let cursor = try PictureCursor.decode(text, key: config.cursorKey, collection: collection)
            startKey = ["collection": .s(cursor.collection), "name": .s(cursor.name)]
        }
        // Claims not yet uploaded, and in a private gallery other users' pictures, are left out; pages are
        // filled from further queries (up to `maxQueries`), so an empty or short page says nothing of
        // what was hidden, and a page cut short of `limit` ends at the last item looked at.
        var shown: [Item] = []
        var lastSeen = startKey?["name"]?.string, more = true, queries = 0
        while shown.count < limit, more, queries < Self.queryBudget(limit: limit) {
            let page = try db.query(table: config.picturesTable, keyCondition: .init(
                "#c = :c", names: ["#c": "collection"], values: [":c": .s(collection)]),
                startKey: lastSeen.map { ["collection": .s(collection), "name": .s($0)] }, limit: limit)
            queries += 1
            var stoppedInside = false
            for (index, item) in page.items.enumerated() {
                lastSeen = item["name"]?.string
                if item["version"] != nil && readable(item, caller) { shown.append(item) }
                if shown.count == limit { stoppedInside = index < page.items.count - 1; break }
            }
            more = stoppedInside || page.lastEvaluatedKey != nil
        }
        let items = try shown.map { item in
            "{" + (ItemJSON.members(item) + ["\"thumbnail\":" + (try thumbnail(item) ?? "null")]).joined(separator: ",") + "}"
        }
        let cursor = more ? lastSeen.map { jsonQuoted(PictureCursor(collection: collection, name: $0).encoded(key: config.cursorKey)) } : nil
        return Self.json(200, "{\"items\":[" + items.joined(separator: ",") + "],\"cursor\":" + (cursor ?? "null") + "}")
    }

    /// The smallest rendition, presigned, for a gallery tile.
    func thumbnail(_ item: Item) throws -> String? {
        guard item["status"]?.string == "ready", case let .m(renditions)? = item["renditions"] else { return nil }
        let smallest = renditions.compactMap { name, value -> (String, Int, Int, String)? in
            guard case let .m(fields) = value, let key = fields["key"]?.string else { return nil }
            return (name, fields["width"]?.int ?? 0, fields["height"]?.int ?? 0, key)
        }.min { (Double($0.1) * Double($0.2), $0.0) < (Double($1.1) * Double($1.2), $1.0) }
        guard let (_, width, height, key) = smallest else { return nil }
        let url = try download(bucket: config.renditionsBucket, key: key, name: item["name"]?.string ?? "")
        return "{\"url\":\(jsonQuoted(url)),\"width\":\(width),\"height\":\(height)}"
    }

    // MARK: - GET /pictures/{collection}/{name}

    func picture(collection: String, name: String, caller: String?) throws -> APIGatewayResponse {
        for (field, value) in [("collection", collection), ("name", name)] where value.isEmpty || value.utf8.count > 1024 {
            throw APIError.invalid("InvalidName", "\(field) must be 1 to 1024 bytes, got \(value.utf8.count)")
        }
        // Another user's picture is answered as one that does not exist: its name says nothing either.
        guard let item = try db.getItem(table: config.picturesTable, key: ["collection": .s(collection), "name": .s(name)]),
              item["version"] != nil, readable(item, caller) else {
            throw APIError.notFound("no picture \(jsonQuoted(name)) in collection \(jsonQuoted(collection)) (yet: a new upload shows up once it is processed)")
        }
        // Links only to a picture that was made: a refused upload (not a JPEG) is never handed out.
        var urls: [String] = []
        if item["status"]?.string == "ready", let key = item["key"]?.string {
            let bucket = item["bucket"]?.string ?? config.originalsBucket
            urls.append("\"original\":" + jsonQuoted(try download(bucket: bucket, key: key, name: name, version: item["versionId"]?.string)))
            if case let .m(renditions)? = item["renditions"] {
                for rendition in renditions.keys.sorted() {
                    guard case let .m(fields)? = renditions[rendition], let key = fields["key"]?.string else { continue }
                    urls.append(jsonQuoted(rendition) + ":" + jsonQuoted(try download(bucket: config.renditionsBucket, key: key, name: name)))
                }
            }
        }
        return Self.json(200, "{" + (ItemJSON.members(item) + ["\"urls\":{" + urls.joined(separator: ",") + "}"]).joined(separator: ",") + "}")
    }

    // MARK: - Helpers

    func readable(_ item: Item, _ caller: String?) -> Bool {
        Owner.canRead(item["owner"]?.string, caller: caller, gallery: config.gallery)
    }

    /// A presigned GET that tells the browser, signed, that it is a JPEG to show, named after the picture
    /// (whatever Content-Type or Content-Disposition the object was stored with).
    /// `version`: the object version that was processed, so a later upload at the key (refused, or not yet
    /// processed) is never what the picture's link serves.
    func download(bucket: String, key: String, name: String, version: String? = nil) throws -> String {
        var file = String(name.unicodeScalars.filter { scalar in
            scalar.isASCII && (("a"..."z").contains(scalar) || ("A"..."Z").contains(scalar) || ("0"..."9").contains(scalar) || "._-".unicodeScalars.contains(scalar))
        }.map(Character.init))
        if file.isEmpty || file.hasPrefix(".") { file = "picture" }
        return try presigner.getURL(bucket: bucket, key: key, expires: config.downloadURLSeconds, responseHeaders: [
            ("response-content-disposition", "inline; filename=\"\(file.prefix(100)).jpg\""),
            ("response-content-type", "image/jpeg"),
        ] + (version.map { [("versionId", $0)] } ?? []))
    }

    /// The `limit` query parameter: 1 to `maxLimit`, `defaultLimit` when absent.
    func limit(_ request: APIGatewayRequest) throws -> Int {
        guard let text = try single(request, "limit") else { return Self.defaultLimit }
        // Digits only: Int also reads a sign ("+5").
        guard text.utf8.allSatisfy({ (0x30...0x39).contains($0) }), let value = Int(text), (1...Self.maxLimit).contains(value) else {
            throw APIError.invalid("InvalidQuery", "query parameter `limit` must be a whole number from 1 to \(Self.maxLimit), got \(jsonQuoted(String(text.prefix(40))))")
        }
        return value
    }

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
