import TesseraAWS
import TesseraEvents
import TesseraSupport

/// The listings read from the pictures table's `recent` index (status, processedAt): the page's landing.
extension PictureAPI {
    /// The index template.yaml declares on the pictures table; only its `ready` partition is read.
    static let recentIndex = "recent"
    /// Index items one collections query reads: a collection's pictures come one after another, so a
    /// page of distinct collections needs many of them.
    static let collectionsQueryLimit = 100
    /// Queries one collections page may make (300 pictures looked at): past that the page ends with a
    /// cursor, so one request stays cheap however many pictures each collection holds.
    static let collectionsMaxQueries = 3

    /// What a listing does with the next readable item.
    enum Step {
        /// Took it; the page wants more.
        case next
        /// Took it; the page is full.
        case stopAfter
        /// The page was full before it: the next page starts with it.
        case stopBefore
    }

    /// Reads the index after `start`, newest first, handing each item the caller may read to `take`
    /// until it says the page is full or `maxQueries` queries were made. `last`: the last item the page
    /// covers, shown or not (a short page says nothing of what was hidden); `more`: whether the index
    /// may hold further items.
    func readRecent(after start: IndexCursor?, caller: String?, queryLimit: Int, maxQueries: Int = PictureAPI.maxQueries,
                    projection: String? = nil, names: [String: String] = [:],
                    take: (Item) -> Step) throws -> (last: Item?, more: Bool) {
        var startKey = start?.startKey, last: Item?, more = true, queries = 0, full = false
        while !full, more, queries < PictureAPI.queryBudget(limit: queryLimit, maxQueries: maxQueries) {
            let page = try db.query(table: config.picturesTable, index: Self.recentIndex, keyCondition: .init(
                "#s = :ready", names: ["#s": "status"].merging(names) { a, _ in a }, values: [":ready": .s("ready")]),
                startKey: startKey, limit: queryLimit, projection: projection, descending: true)
            queries += 1
            var stoppedInside = false
            for (index, item) in page.items.enumerated() {
                let step = Self.isListed(item) && readable(item, caller) ? take(item) : .next
                if step == .stopBefore {
                    full = true
                    stoppedInside = true
                    break
                }
                last = item
                if step == .stopAfter {
                    full = true
                    stoppedInside = index < page.items.count - 1
                    break
                }
            }
            more = stoppedInside || page.lastEvaluatedKey != nil
            startKey = page.lastEvaluatedKey
        }
        return (last, more)
    }

    /// A picture the landing shows: processed, and notified. picture-processor records `ready` before it
    /// writes the renditions (a refused version never overwrites them) and sets `notified` after: between
    /// the two a thumbnail's URL names no object yet, and the page would keep that broken tile for minutes.
    static func isListed(_ item: Item) -> Bool {
        item["version"] != nil && item["notified"]?.boolValue != false
    }

    func cursorText(_ listing: IndexCursor.Listing, after last: Item?, more: Bool) -> String {
        guard more, let last, let processedAt = last["processedAt"]?.string, let collection = last["collection"]?.string,
              let name = last["name"]?.string else { return "null" }
        return jsonQuoted(IndexCursor(listing: listing, processedAt: processedAt, collection: collection, name: name)
            .encoded(key: config.cursorKey))
    }

    /// The query parameters of an index listing: limit and cursor, nothing else.
    func indexQuery(_ request: APIGatewayRequest, _ listing: IndexCursor.Listing) throws -> (limit: Int, start: IndexCursor?) {
        if let unknown = request.query.keys.sorted().first(where: { !["limit", "cursor"].contains($0) }) {
            throw APIError.invalid("InvalidQuery", "unknown query parameter \(jsonQuoted(unknown)); use limit and cursor"
                                   + (listing == .pictures ? ", or collection for one collection's pictures" : ""))
        }
        let limit = try self.limit(request)
        let start = try single(request, "cursor").map { text throws(APIError) in
            try IndexCursor.decode(text, key: config.cursorKey, listing: listing)
        }
        return (limit, start)
    }

    // MARK: - GET /pictures?limit=N&cursor=X (no collection)

    /// The most recent ready pictures of every collection the caller may read, newest first, each as a
    /// collection listing shows it.
    func recent(_ request: APIGatewayRequest, caller: String?) throws -> APIGatewayResponse {
        let (limit, start) = try indexQuery(request, .pictures)
        var shown: [Item] = []
        let (last, more) = try readRecent(after: start, caller: caller, queryLimit: limit) { item in
            shown.append(item)
            return shown.count < limit ? .next : .stopAfter
        }
        let items = try shown.map { item in
            "{" + (ItemJSON.members(item) + ["\"thumbnail\":" + (try thumbnail(item) ?? "null")]).joined(separator: ",") + "}"
        }
        return Self.json(200, "{\"items\":[" + items.joined(separator: ",") + "],\"cursor\":" + cursorText(.pictures, after: last, more: more) + "}")
    }

    // MARK: - GET /collections?limit=N&cursor=X

    /// The collections the caller may read, by their newest ready picture first: each with that
    /// picture's name, processedAt and thumbnail. A later page can name a collection again (its older
    /// pictures); a collection whose pictures all come after the pages read shows up on a later page.
    func collections(_ request: APIGatewayRequest, caller: String?) throws -> APIGatewayResponse {
        let (limit, start) = try indexQuery(request, .collections)
        var order: [String] = [], newest: [String: Item] = [:]
        let (last, more) = try readRecent(
            after: start, caller: caller, queryLimit: Self.collectionsQueryLimit, maxQueries: Self.collectionsMaxQueries,
            projection: "#c, #n, #s, processedAt, #o, renditions, #v, notified",
            names: ["#c": "collection", "#n": "name", "#o": "owner", "#v": "version"]
        ) { item in
            guard let collection = item["collection"]?.string, newest[collection] == nil else { return .next }
            guard order.count < limit else { return .stopBefore }
            order.append(collection)
            newest[collection] = item
            return .next
        }
        let items = try order.map { collection in
            let item = newest[collection]!
            return "{\"collection\":\(jsonQuoted(collection)),\"name\":\(ItemJSON.json(item["name"] ?? .null)),"
                + "\"processedAt\":\(ItemJSON.json(item["processedAt"] ?? .null)),\"thumbnail\":\(try thumbnail(item) ?? "null")}"
        }
        return Self.json(200, "{\"items\":[" + items.joined(separator: ",") + "],\"cursor\":" + cursorText(.collections, after: last, more: more) + "}")
    }
}
