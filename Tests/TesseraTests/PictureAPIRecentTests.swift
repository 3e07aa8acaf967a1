import Foundation
import Testing
import TesseraAWS
import TesseraEvents
import TesseraHTTP
import TesseraLocal
import TesseraSupport

/// The landing's listings, read from the pictures table's `recent` index on the emulator: GET /pictures
/// without a collection (the most recent pictures of every collection) and GET /collections, with the
/// collection listing's rules: limit, opaque and encrypted cursors, owners in a private gallery.
@Suite(.serialized)
final class PictureAPIRecentTests {
    let harness: PictureAPIHarness

    init() throws { harness = try PictureAPIHarness() }
    deinit { harness.stop() }

    func errorOf(_ response: HTTPResponse) throws -> (Int, String, String) {
        let error = try harness.json(response)["error"] as! [String: String]
        return (response.status, error["code"]!, error["message"]!)
    }

    /// Every page of `path` (with `limit`), following the cursor: the items' `field`s, and the pages' count.
    func pages(_ path: String, limit: Int, field: String = "name", as user: String? = "ana") throws -> (seen: [String], pages: Int) {
        var seen: [String] = [], cursor: String?, pages = 0
        repeat {
            let target = "\(path)?limit=\(limit)" + (cursor.map { "&cursor=\($0)" } ?? "")
            let response = try harness.call("GET", target, as: user)
            #expect(response.status == 200, "\(target): \(response.text)")
            let page = try harness.json(response)
            seen += (page["items"] as? [[String: Any]] ?? []).compactMap { $0[field] as? String }
            cursor = page["cursor"] as? String
            if let cursor {
                // Nothing of where a page stopped is readable in its cursor.
                let text = String(decoding: Base64URL.decode(cursor) ?? [], as: UTF8.self)
                #expect(!text.contains("coll-") && !text.contains("2026-"), "the cursor shows \(text)")
            }
            pages += 1
        } while cursor != nil && pages < 20
        return (seen, pages)
    }

    static func at(_ second: Int) -> String { String(format: "2026-12-01T10:00:%02d.000Z", second) }

    @Test func recentPicturesComeNewestFirstAcrossCollectionsPageByPage() throws {
        for (second, collection, name) in [(1, "coll-a", "one"), (5, "coll-b", "two"), (3, "coll-a", "three"),
                                           (9, "coll-c", "four"), (7, "coll-b", "five"), (2, "coll-c", "six"), (8, "coll-a", "seven")] {
            try harness.putPicture(collection: collection, name: name, processedAt: Self.at(second))
        }
        // Two pictures at the same instant: both listed, once each, whatever page boundary falls between them.
        try harness.putPicture(collection: "coll-a", name: "twin-1", processedAt: Self.at(4))
        try harness.putPicture(collection: "coll-b", name: "twin-2", processedAt: Self.at(4))
        // A failed picture and a claim not yet uploaded are not on the landing.
        try harness.putPicture(collection: "coll-a", name: "broken", status: "failed", processedAt: Self.at(10))
        let claim = try harness.call("POST", "/uploads", body: #"{"collection":"coll-a","name":"pending","contentType":"image/jpeg","bytes":10}"#,
                                     headers: [("Content-Type", "application/json")])
        #expect(claim.status == 201)

        let first = try harness.json(try harness.call("GET", "/pictures?limit=3"))
        let items = try #require(first["items"] as? [[String: Any]])
        #expect(items.compactMap { $0["name"] as? String } == ["four", "seven", "five"])
        #expect(items.first?["collection"] as? String == "coll-c")
        for item in items {
            #expect(item["version"] == nil && item["notified"] == nil && item["status"] as? String == "ready")
            let thumbnail = try #require(item["thumbnail"] as? [String: Any])
            #expect((thumbnail["url"] as? String ?? "").contains("/\(harness.renditions)/thumb/coll-"))
        }
        for limit in [1, 2, 3, 100] {
            let (seen, count) = try pages("/pictures", limit: limit)
            #expect(Array(seen.prefix(4)) == ["four", "seven", "five", "two"], "limit \(limit): \(seen)")
            #expect(Set(seen.dropFirst(4).prefix(2)) == ["twin-1", "twin-2"], "limit \(limit): \(seen)")
            #expect(Array(seen.dropFirst(6)) == ["three", "six", "one"], "limit \(limit): \(seen)")
            #expect(count >= (9 + limit - 1) / limit, "limit \(limit): \(count) pages")
        }
        // The default page holds them all, and no cursor follows the last.
        let all = try harness.json(try harness.call("GET", "/pictures"))
        #expect((all["items"] as? [Any])?.count == 9 && all["cursor"] is NSNull)
    }

    @Test func collectionsComeByTheirNewestPictureEachOnce() throws {
        for (second, collection, name) in [(1, "coll-a", "one"), (5, "coll-b", "two"), (3, "coll-a", "three"),
                                           (9, "coll-c", "four"), (7, "coll-b", "five"), (2, "coll-d", "six")] {
            try harness.putPicture(collection: collection, name: name, processedAt: Self.at(second))
        }
        let answer = try harness.json(try harness.call("GET", "/collections"))
        let items = try #require(answer["items"] as? [[String: Any]])
        #expect(items.compactMap { $0["collection"] as? String } == ["coll-c", "coll-b", "coll-a", "coll-d"])
        #expect(items.first?["name"] as? String == "four" && items.first?["processedAt"] as? String == Self.at(9))
        #expect(((items.first?["thumbnail"] as? [String: Any])?["url"] as? String ?? "").contains("/thumb/coll-c/four.jpg"))
        #expect(answer["cursor"] is NSNull)
        // A page of one collection at a time: each comes, in the same order, none skipped; a later page may
        // name one again for its older pictures (coll-a's oldest comes after coll-d's), which a client skips.
        let (seen, _) = try pages("/collections", limit: 1, field: "collection")
        var firsts: [String] = []
        for collection in seen where !firsts.contains(collection) { firsts.append(collection) }
        #expect(firsts == ["coll-c", "coll-b", "coll-a", "coll-d"], "\(seen)")
        #expect(seen == ["coll-c", "coll-b", "coll-a", "coll-d", "coll-a"], "\(seen)")
    }

    @Test func malformedQueriesAndCursorsAreRefused() throws {
        for name in ["a", "b", "c"] { try harness.putPicture(collection: "coll-m", name: name) }
        for path in ["/pictures", "/collections"] {
            for limit in ["0", "101", "x", "-1", "1e2", "1.5", "true", "%20", "", "99999999999999999999"] {
                let error = try errorOf(try harness.call("GET", "\(path)?limit=\(limit)"))
                #expect(error.0 == 400 && error.1 == "InvalidQuery", "\(path) limit \(limit): \(error)")
            }
            #expect(try errorOf(try harness.call("GET", "\(path)?limit=1&limit=2")).2 == "query parameter `limit` is given 2 times; give it once")
            #expect(try errorOf(try harness.call("GET", "\(path)?colour=red")).1 == "InvalidQuery")
            for forged in ["", "not a cursor!", "%00", "AAAA", String(repeating: "A", count: 5000)] {
                let error = try errorOf(try harness.call("GET", "\(path)?cursor=\(forged.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!)"))
                #expect(error.0 == 400 && error.1 == "InvalidCursor", "\(path) cursor \(forged.prefix(20)): \(error)")
            }
        }
        let recent = try #require(try harness.json(try harness.call("GET", "/pictures?limit=1"))["cursor"] as? String)
        let collection = try #require(try harness.json(try harness.call("GET", "/pictures?collection=coll-m&limit=1"))["cursor"] as? String)
        var flipped = Array(recent)
        flipped[flipped.count / 2] = flipped[flipped.count / 2] == "A" ? "B" : "A"
        for changed in [String(flipped), String(recent.dropLast()), recent + "A"] {
            #expect(try errorOf(try harness.call("GET", "/pictures?cursor=\(changed)")).1 == "InvalidCursor")
        }
        // A cursor works only with the listing that handed it out.
        let crossed = [("/collections?cursor=\(recent)", "cursor belongs to another listing (another route's); use it with the request that handed it out"),
                       ("/pictures?cursor=\(collection)", "cursor belongs to another listing (a collection's); use it with the request that handed it out"),
                       ("/pictures?collection=coll-m&cursor=\(recent)",
                        "cursor belongs to another listing (recent pictures or collections), not \"coll-m\"'s")]
        for (target, message) in crossed {
            let error = try errorOf(try harness.call("GET", target))
            #expect(error.0 == 400 && error.1 == "InvalidCursor" && error.2 == message, "\(target): \(error)")
        }
        // One made under another secret (another deployment) is forged.
        let stranger = try PictureAPIHarness(extra: ["CURSOR_SECRET": "a different secret for sure"])
        defer { stranger.stop() }
        #expect(try errorOf(try stranger.call("GET", "/pictures?cursor=\(recent)")).1 == "InvalidCursor")
    }

    /// A private gallery: the landing shows each user their own pictures, the devices' and the account's,
    /// never another user's, not even the name of a collection that holds only theirs.
    @Test func aPrivateGallerysLandingShowsNoOtherUsersPictures() throws {
        let ana = "user:" + harness.tokens["ana"]!.subject, ben = "user:" + harness.tokens["ben"]!.subject
        try harness.putPicture(collection: "coll-shared", name: "anas", owner: ana, processedAt: Self.at(1))
        for second in 2...6 { try harness.putPicture(collection: "coll-bens", name: "secret-\(second)", owner: ben, processedAt: Self.at(second)) }
        try harness.putPicture(collection: "coll-shared", name: "camera", owner: "device:cam-2", processedAt: Self.at(7))
        try harness.putPicture(collection: "coll-shared", name: "dropped", owner: Owner.bucket, processedAt: Self.at(8))
        try harness.putPicture(collection: "coll-anon", name: "anonymous", owner: Owner.anonymous, processedAt: Self.at(9))

        for limit in [1, 2, 24] {
            #expect(try pages("/pictures", limit: limit, as: "ana").seen == ["dropped", "camera", "anas"], "limit \(limit)")
            #expect(try pages("/collections", limit: limit, field: "collection", as: "ana").seen == ["coll-shared"], "limit \(limit)")
        }
        #expect(try pages("/pictures", limit: 2, as: "ben").seen == ["dropped", "camera", "secret-6", "secret-5", "secret-4", "secret-3", "secret-2"])
        #expect(try pages("/collections", limit: 1, field: "collection", as: "ben").seen == ["coll-shared", "coll-bens"])
        // Pages that hid ben's pictures say nothing of them, in items or cursor (checked by `pages`), or text.
        let page = try harness.call("GET", "/pictures?limit=1", as: "ana")
        #expect(!page.text.contains("secret-") && !page.text.contains("coll-bens"))
    }
}
