import Foundation
import Testing
import TesseraAWS
import TesseraEvents
import TesseraHTTP
import TesseraLocal
import TesseraPictures
import TesseraSupport

/// The landing's listings (GET /pictures without a collection, GET /collections) and the page that shows
/// them, attacked as a stranger would: what a private gallery's cursors say of other users' pictures,
/// parameters the doc says are refused, names that hold markup and URL-significant characters, and what
/// the page asks of the API while it sits on the landing.
@Suite(.serialized)
final class PictureAPILandingAttackTests {
    static func at(_ second: Int) -> String { String(format: "2026-12-01T10:%02d:%02d.000Z", second / 60, second % 60) }

    /// The cursor a private gallery's empty page hands out points at another user's picture (the last one
    /// looked at). It is encrypted, but its length was the length of that picture's collection and name:
    /// ana could tell ben's `x` from ben's `holiday-with-the-family` without seeing either.
    @Test func aCursorDoesNotTellHowLongAHiddenPicturesNamesAre() throws {
        let harness = try PictureAPIHarness()
        defer { harness.stop() }
        let ana = "user:" + harness.tokens["ana"]!.subject, ben = "user:" + harness.tokens["ben"]!.subject
        try harness.putPicture(collection: "c", name: "anas", owner: ana, processedAt: Self.at(1))
        // Two runs of ben's pictures, each longer than one page's 10 queries of `limit` (1): short names, then long.
        for second in 10..<22 { try harness.putPicture(collection: "b", name: "s\(second)", owner: ben, processedAt: Self.at(second)) }
        let long = String(repeating: "l", count: 120)
        for second in 30..<42 {
            try harness.putPicture(collection: long, name: "\(long)\(second)", owner: ben, processedAt: Self.at(second))
        }
        var cursors: [String] = [], cursor: String?, shown: [String] = []
        repeat {
            let response = try harness.call("GET", "/pictures?limit=1" + (cursor.map { "&cursor=\($0)" } ?? ""), as: "ana")
            let page = try harness.json(response)
            shown += (page["items"] as? [[String: Any]] ?? []).compactMap { $0["name"] as? String }
            cursor = page["cursor"] as? String
            if let cursor, (page["items"] as? [Any])?.isEmpty == true { cursors.append(cursor) }
        } while cursor != nil && cursors.count < 10
        #expect(shown == ["anas"])
        // Empty pages (ben's pictures only) stopped at ben's long-named and short-named pictures.
        #expect(cursors.count >= 2, "\(cursors.count) empty pages")
        #expect(Set(cursors.map(\.utf8.count)).count == 1, "cursor lengths \(cursors.map(\.utf8.count)) follow ben's names' lengths")
        // Padding does not cost the cursor its meaning: each still resumes where it stopped.
        for text in cursors {
            let decoded = try IndexCursor.decode(text, key: Array("a test secret of enough length".utf8), listing: .pictures)
            #expect(decoded.collection == "b" || decoded.collection == long)
            #expect(IndexCursor(listing: .pictures, processedAt: decoded.processedAt, collection: decoded.collection, name: decoded.name)
                == decoded)
        }
    }

    /// An IndexCursor's names round-trip at every length (empty, across a padding boundary, the largest
    /// keys), and padding changed by hand is refused like any other change.
    @Test func paddedCursorsRoundTripAndRefuseTampering() throws {
        let key = Array("a test secret of enough length".utf8)
        for (collection, name) in [("c", ""), ("c", "n"), (String(repeating: "é", count: 512), String(repeating: "z", count: 1024)),
                                   (String(repeating: "a", count: 233), "b"), (String(repeating: "a", count: 234), "b")] {
            let cursor = IndexCursor(listing: .collections, processedAt: Self.at(5), collection: collection, name: name)
            let text = cursor.encoded(key: key)
            #expect(text.utf8.count <= 4096)
            #expect(try IndexCursor.decode(text, key: key, listing: .collections) == cursor)
        }
        // The same collection and name lengths within a block give the same cursor length.
        let lengths = Set((1...200).map { IndexCursor(listing: .pictures, processedAt: Self.at(1), collection: "c", name: String(repeating: "n", count: $0))
            .encoded(key: key).utf8.count })
        #expect(lengths.count == 1, "\(lengths)")
    }

    /// picture-processor records a picture `ready` before its renditions are written and notes `notified`
    /// once they are and `picture.ready` went out: in between the landing listed it with a thumbnail URL
    /// that named no object yet (a broken tile the page keeps for minutes). It lists it once notified.
    @Test func theLandingWaitsForAPicturesRenditions() throws {
        let harness = try PictureAPIHarness(extra: ["GALLERY": "public-read"])
        defer { harness.stop() }
        try harness.putPicture(collection: "shown", name: "done", processedAt: Self.at(1))
        try harness.putPicture(collection: "midway", name: "rendering", processedAt: Self.at(2))
        try harness.db.updateItem(table: harness.table, key: ["collection": .s("midway"), "name": .s("rendering")],
                                  update: .init("SET notified = :no", values: [":no": .bool(false)]))
        func listed(_ path: String, _ field: String) throws -> [String] {
            let page = try harness.json(try harness.call("GET", path, as: nil))
            return (page["items"] as? [[String: Any]] ?? []).compactMap { $0[field] as? String }
        }
        #expect(try listed("/pictures", "name") == ["done"])
        #expect(try listed("/collections", "collection") == ["shown"])
        try harness.db.updateItem(table: harness.table, key: ["collection": .s("midway"), "name": .s("rendering")],
                                  update: .init("SET notified = :yes", values: [":yes": .bool(true)]))
        #expect(try listed("/pictures", "name") == ["rendering", "done"])
        #expect(try listed("/collections", "collection") == ["midway", "shown"])
    }

    /// `limit` is a whole number written in digits: the doc refuses anything else, `+5` included.
    @Test func aLimitWithASignIsRefused() throws {
        let harness = try PictureAPIHarness(extra: ["GALLERY": "public-read"])
        defer { harness.stop() }
        try harness.putPicture(collection: "c", name: "n")
        for path in ["/pictures", "/collections", "/pictures?collection=c"] {
            for limit in ["%2B5", "+5", "-5", "%205", "5%20", "%EF%BC%95", "0x5"] {
                let response = try harness.call("GET", path + (path.contains("?") ? "&" : "?") + "limit=\(limit)", as: nil)
                #expect(response.status == 400, "\(path) limit=\(limit): \(response.status) \(response.text)")
            }
            #expect(try harness.call("GET", path + (path.contains("?") ? "&" : "?") + "limit=05", as: nil).status == 200)
        }
    }
}
