import Foundation
import Testing
import TesseraAWS
import TesseraHTTP
import TesseraLocal
import TesseraSupport

/// Who may write and read what through picture-api (DESIGN.md "Who may do what"): tokens checked at the
/// local endpoint as API Gateway's JWT authorizer checks them, owners recorded and enforced by the
/// function, in each gallery mode. Real tokens from the emulator's user pool.
@Suite(.serialized)
final class PictureAPIAuthTests {
    let harness: PictureAPIHarness

    init() throws { harness = try PictureAPIHarness() }
    deinit { harness.stop() }

    static let uploadBody = #"{"collection":"bar","name":"one","contentType":"image/jpeg","bytes":1000}"#

    func presign(_ body: String = uploadBody, as user: String?, on harness: PictureAPIHarness? = nil) throws -> HTTPResponse {
        try (harness ?? self.harness).call("POST", "/uploads", body: body, headers: [("Content-Type", "application/json")], as: user)
    }

    func errorCode(_ response: HTTPResponse) -> String? {
        ((try? harness.json(response))?["error"] as? [String: String])?["code"]
    }

    @Test func withoutAValidTokenNothingButThePageAnswers() throws {
        #expect(try harness.call("GET", "/", as: nil).status == 200)
        for (method, target) in [("POST", "/uploads"), ("GET", "/pictures?collection=bar"), ("GET", "/pictures/bar/one"),
                                 ("GET", "/pictures"), ("GET", "/collections")] {
            let anonymous = try harness.call(method, target, body: method == "POST" ? Self.uploadBody : nil, as: nil)
            #expect(anonymous.status == 401 && anonymous.text == #"{"message":"Unauthorized"}"#, "\(method) \(target): \(anonymous.text)")
            for forged in ["Bearer not.a.token", "Bearer " + harness.tokens["ana"]!.token.dropLast(4) + "AAAA", "Basic YW5hOnB3"] {
                let refused = try harness.call(method, target, body: method == "POST" ? Self.uploadBody : nil,
                                               headers: [("Authorization", String(forged))], as: nil)
                #expect(refused.status == 401, "\(method) \(target) with \(forged.prefix(20)): \(refused.text)")
            }
        }
        // A real token of another user pool (another stack, or anyone's own) is not this API's.
        let cognito = CognitoClient(aws: try Emulator.client())
        let other = try cognito.createUserPool(name: Emulator.uniqueName("elsewhere"))
        let client = try cognito.createUserPoolClient(poolId: other, name: "page", authFlows: ["ALLOW_USER_PASSWORD_AUTH"])
        try cognito.createUser(poolId: other, username: "ana", password: "Password-of-ana-1")
        let foreign = try cognito.signIn(clientId: client, username: "ana", password: "Password-of-ana-1").IdToken
        let refused = try harness.call("POST", "/uploads", body: Self.uploadBody, headers: [("Authorization", "Bearer " + foreign)], as: nil)
        #expect(refused.status == 401, "\(refused.text)")
        // Nothing was claimed by any of them.
        #expect(try harness.db.getItem(table: harness.table, key: ["collection": .s("bar"), "name": .s("one")]) == nil)
    }

    @Test func anUploadNeverClaimsAnotherOwnersPicture() throws {
        let first = try presign(as: "ana")
        #expect(first.status == 201, "\(first.text)")
        let claim = try #require(try harness.db.getItem(table: harness.table, key: ["collection": .s("bar"), "name": .s("one")]))
        #expect(claim["owner"] == .s("user:" + harness.tokens["ana"]!.subject))
        // Another user: refused by name, and the claim is unchanged.
        let other = try presign(as: "ben")
        #expect(other.status == 403 && errorCode(other) == "NotOwner", "\(other.text)")
        #expect(other.text.contains("bar/one belongs to another owner"))
        #expect(try harness.db.getItem(table: harness.table, key: ["collection": .s("bar"), "name": .s("one")]) == claim)
        // The owner may replace it (a new upload id each time, so an older form is spent).
        let again = try presign(as: "ana")
        #expect(again.status == 201)
        let fields = try #require(try harness.json(again)["fields"] as? [String: String])
        let before = try #require(try harness.json(first)["fields"] as? [String: String])
        #expect(fields["x-amz-meta-upload"] != before["x-amz-meta-upload"])
        #expect(fields["x-amz-meta-owner"] == "user:" + harness.tokens["ana"]!.subject)
        // A device's picture and a picture dropped into the bucket are no user's to replace.
        try harness.putPicture(collection: "cam-1", name: "photo", owner: "device:cam-1")
        try harness.putPicture(collection: "-", name: "dropped", owner: "s3")
        for (collection, name) in [("cam-1", "photo"), ("-", "dropped")] {
            let body = #"{"collection":"\#(collection)","name":"\#(name)","contentType":"image/jpeg","bytes":1000}"#
            let refused = try presign(body, as: "ana")
            #expect(refused.status == 403 && errorCode(refused) == "NotOwner", "\(collection)/\(name): \(refused.text)")
        }
    }

    @Test func aPrivateGalleryShowsEachUserTheirOwnAndTheDevices() throws {
        let ana = "user:" + harness.tokens["ana"]!.subject, ben = "user:" + harness.tokens["ben"]!.subject
        try harness.putPicture(collection: "trip", name: "anas", owner: ana)
        try harness.putPicture(collection: "trip", name: "bens", owner: ben)
        try harness.putPicture(collection: "trip", name: "camera", owner: "device:cam-2")
        try harness.putPicture(collection: "trip", name: "older")  // recorded before owners were: the account's
        #expect(try presign(#"{"collection":"trip","name":"pending","contentType":"image/jpeg","bytes":10}"#, as: "ana").status == 201)
        func names(_ user: String) throws -> [String] {
            let list = try harness.call("GET", "/pictures?collection=trip", as: user)
            #expect(list.status == 200, "\(list.text)")
            return (try harness.json(list)["items"] as? [[String: Any]] ?? []).compactMap { $0["name"] as? String }.sorted()
        }
        #expect(try names("ana") == ["anas", "camera", "older"])
        #expect(try names("ben") == ["bens", "camera", "older"])
        #expect(try harness.call("GET", "/pictures/trip/bens", as: "ana").status == 404)
        #expect(try harness.call("GET", "/pictures/trip/anas", as: "ben").status == 404)
        #expect(try harness.call("GET", "/pictures/trip/pending", as: "ana").status == 404, "a claim is no picture until processed")
        #expect(try harness.call("GET", "/pictures/trip/camera", as: "ben").status == 200)
    }

    /// Pages fill past what the caller may not see, and a cursor shows nothing of where it stopped.
    @Test func listingsLeakNoHiddenNameOrCount() throws {
        let ana = "user:" + harness.tokens["ana"]!.subject, ben = "user:" + harness.tokens["ben"]!.subject
        let secrets = ["alpha-secret", "bravo-secret", "charlie-secret"]
        for name in secrets { try harness.putPicture(collection: "shared", name: name, owner: ana) }
        #expect(try presign(#"{"collection":"shared","name":"delta-claim","contentType":"image/jpeg","bytes":10}"#, as: "ana").status == 201)
        try harness.putPicture(collection: "shared", name: "echo-bens", owner: ben)
        try harness.putPicture(collection: "shared", name: "foxtrot-bens", owner: ben)
        var seen: [String] = [], cursor: String?, pages = 0
        repeat {
            let target = "/pictures?collection=shared&limit=1" + (cursor.map { "&cursor=" + $0 } ?? "")
            let page = try harness.json(try harness.call("GET", target, as: "ben"))
            let names = (page["items"] as? [[String: Any]] ?? []).compactMap { $0["name"] as? String }
            #expect(names.count == 1 || (names.isEmpty && page["cursor"] is NSNull), "an empty page before the end: \(page)")
            seen += names
            cursor = page["cursor"] as? String
            if let cursor {
                let bytes = Base64URL.decode(cursor) ?? []
                for secret in secrets + ["delta-claim", "echo-bens", "foxtrot-bens"] {
                    #expect(!String(decoding: bytes, as: UTF8.self).contains(secret), "the cursor names \(secret)")
                }
            }
            pages += 1
        } while cursor != nil && pages < 10
        #expect(seen == ["echo-bens", "foxtrot-bens"])
    }

    @Test func downloadsSayTheyAreJPEGsAndFailedPicturesHaveNone() throws {
        try harness.putPicture(collection: "bar", name: "ok")
        let ready = try harness.json(try harness.call("GET", "/pictures/bar/ok"))
        let urls = try #require(ready["urls"] as? [String: String])
        #expect(Set(urls.keys) == ["original", "half", "thumb"])
        for (name, url) in urls {
            #expect(url.contains("response-content-type=image%2Fjpeg"), "\(name): \(url)")
            #expect(url.contains("response-content-disposition=inline%3B%20filename%3D%22ok.jpg%22"), "\(name): \(url)")
        }
        // S3 then answers with these headers whatever the object was stored as (the emulator ignores response-*
        // overrides, so only the signed URL is checked here; the signing of query parameters has its vectors).
        try harness.putPicture(collection: "bar", name: "refused", status: "failed")
        let failed = try harness.json(try harness.call("GET", "/pictures/bar/refused"))
        #expect((failed["urls"] as? [String: String])?.isEmpty == true, "\(failed)")
    }

    @Test func publicGalleriesOpenWhatTheirParameterSays() throws {
        let readOnly = try PictureAPIHarness(extra: ["GALLERY": "public-read"])
        defer { readOnly.stop() }
        try readOnly.putPicture(collection: "open", name: "view", owner: "user:someone")
        #expect(try readOnly.call("GET", "/pictures?collection=open", as: nil).status == 200)
        #expect(try readOnly.call("GET", "/pictures/open/view", as: nil).status == 200)
        // Everyone reads everything there: the landing's listings show another user's picture to anyone.
        let recent = try readOnly.json(try readOnly.call("GET", "/pictures", as: nil))["items"] as? [[String: Any]]
        #expect(recent?.compactMap { $0["name"] as? String } == ["view"])
        let collections = try readOnly.json(try readOnly.call("GET", "/collections", as: nil))["items"] as? [[String: Any]]
        #expect(collections?.compactMap { $0["collection"] as? String } == ["open"])
        #expect(try presign(as: nil, on: readOnly).status == 401)
        #expect(try presign(as: "ana", on: readOnly).status == 201)

        let open = try PictureAPIHarness(extra: ["GALLERY": "public"])
        defer { open.stop() }
        let anonymous = try presign(as: nil, on: open)
        #expect(anonymous.status == 201, "\(anonymous.text)")
        #expect((try open.json(anonymous)["fields"] as? [String: String])?["x-amz-meta-owner"] == "anonymous")
        // Open routes check no token (API Gateway runs no authorizer on them): a signed-in user uploads as anonymous too.
        let signedIn = try presign(as: "ana", on: open)
        let owner = (try open.json(signedIn)["fields"] as? [String: String])?["x-amz-meta-owner"]
        #expect(signedIn.status == 201 && owner == "anonymous", "\(signedIn.text)")
        try open.putPicture(collection: "bar", name: "anas", owner: "user:" + open.tokens["ana"]!.subject)
        #expect(try presign(#"{"collection":"bar","name":"anas","contentType":"image/jpeg","bytes":10}"#, as: nil, on: open).status == 403)
    }
}
