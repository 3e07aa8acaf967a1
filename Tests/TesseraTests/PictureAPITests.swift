import Foundation
import Testing
import TesseraAWS
import TesseraHTTP
import TesseraLocal
import TesseraSupport

/// picture-api as a process, over HTTP through the local API endpoint, against the emulator.
@Suite(.serialized)
final class PictureAPITests {
    let harness: PictureAPIHarness

    init() throws { harness = try PictureAPIHarness() }
    deinit { harness.stop() }

    func upload(_ body: String) throws -> (Int, [String: Any]) {
        let response = try harness.call("POST", "/uploads", body: body, headers: [("Content-Type", "application/json")])
        return (response.status, try harness.json(response))
    }

    func errorOf(_ response: HTTPResponse) throws -> (Int, String, String) {
        let error = try harness.json(response)["error"] as! [String: String]
        return (response.status, error["code"]!, error["message"]!)
    }

    @Test func thePageIsServedAndGzippedWhenAccepted() throws {
        let plain = try harness.call("GET", "/")
        #expect(plain.status == 200)
        #expect(plain.headers["content-type"] == "text/html; charset=utf-8")
        #expect(plain.headers["content-encoding"] == nil)
        #expect(plain.text.contains("data-max-upload-bytes=\"5000000\""))
        // Only the page's own script and style run; images from the renditions bucket, uploads to the originals.
        let policy = plain.headers["content-security-policy"] ?? ""
        let s3 = Emulator.openVariables["AWS_ENDPOINT_URL"]!
        #expect(policy.hasPrefix("default-src 'none'; script-src 'sha256-"))
        #expect(policy.contains("img-src \(s3) data:; connect-src 'self' \(s3);"))
        // The hashes are those of the script and style the page holds (web/'s files, embedded at build time).
        for (tag, directive) in [("script", "script-src"), ("style", "style-src")] {
            let html = plain.text
            let open = try #require(html.range(of: "<\(tag)>")), close = try #require(html.range(of: "</\(tag)>"))
            let hash = Data(SHA256.hash(Array(html[open.upperBound..<close.lowerBound].utf8))).base64EncodedString()
            #expect(policy.contains("\(directive) 'sha256-\(hash)';"), "\(directive) in \(policy)")
            #expect(html.components(separatedBy: "<\(tag)").count == 2, "one <\(tag)> only")
        }
        #expect(!policy.contains("unsafe") && policy.contains("default-src 'none'") && policy.contains("base-uri 'none'"))
        let zipped = try harness.call("GET", "/", headers: [("Accept-Encoding", "br, gzip;q=0.8")])
        #expect(zipped.headers["content-encoding"] == "gzip")
        #expect(zipped.body.count < plain.body.count)
        #expect(gunzip(zipped.body) == plain.body)
        let refused = try harness.call("GET", "/", headers: [("Accept-Encoding", "gzip;q=0, br")])
        #expect(refused.headers["content-encoding"] == nil)
    }

    @Test func aPresignedPostUploadsTheOriginal() throws {
        let photo = try Fixtures.bytes("photos/fresh-flower.jpg")
        let (status, answer) = try upload(#"{"collection":"bar","name":"drink","contentType":"image/jpeg","bytes":\#(photo.count)}"#)
        #expect(status == 201)
        #expect(answer["key"] as? String == "bar/drink.jpg" && answer["method"] as? String == "POST")
        let fields = answer["fields"] as! [String: String]
        #expect(fields["key"] == "bar/drink.jpg" && fields["Content-Type"] == "image/jpeg" && fields["x-amz-meta-source"] == "upload")
        // The form as a browser posts it: the fields, the file last.
        let boundary = "tessera-test-boundary"
        var body: [UInt8] = []
        let order = ["key", "Content-Type", "x-amz-meta-source", "x-amz-algorithm", "x-amz-credential", "x-amz-date", "policy", "x-amz-signature"]
        for name in order {
            body += Array("--\(boundary)\r\nContent-Disposition: form-data; name=\"\(name)\"\r\n\r\n\(fields[name]!)\r\n".utf8)
        }
        body += Array("--\(boundary)\r\nContent-Disposition: form-data; name=\"file\"; filename=\"drink.jpg\"\r\nContent-Type: image/jpeg\r\n\r\n".utf8)
        body += photo + Array("\r\n--\(boundary)--\r\n".utf8)
        let posted = try harness.http.send(HTTPRequest(method: "POST", url: answer["url"] as! String, headers: HTTPHeaders([
            ("Content-Type", "multipart/form-data; boundary=\(boundary)")]), body: body))
        #expect(posted.status == 204, "\(posted.text)")
        let stored = try harness.openS3.getObject(bucket: harness.originals, key: "bar/drink.jpg", maxBytes: 1 << 24)
        #expect(stored.bytes == photo)
        #expect(stored.head.metadata["source"] == "upload")
    }

    @Test func aPresignedPutUploadsTheOriginal() throws {
        let photo = try Fixtures.bytes("photos/fresh-flower.jpg")
        let (status, answer) = try upload(#"{"collection":"bar","name":"put-1","contentType":"image/jpeg","bytes":\#(photo.count),"method":"PUT"}"#)
        #expect(status == 201)
        // The owner (the token's subject) and the one upload this URL may make, signed with it.
        let sent = try #require(answer["headers"] as? [String: String])
        let upload = try #require(sent["x-amz-meta-upload"])
        #expect(upload.count == 32 && upload.allSatisfy(\.isHexDigit), "\(sent)")
        #expect(sent == ["Content-Type": "image/jpeg", "Content-Length": String(photo.count), "x-amz-meta-source": "upload",
                         "x-amz-meta-owner": "user:" + harness.tokens["ana"]!.subject, "x-amz-meta-upload": upload])
        #expect((answer["url"] as! String).contains(
            "X-Amz-SignedHeaders=content-length%3Bcontent-type%3Bhost%3Bx-amz-meta-owner%3Bx-amz-meta-source%3Bx-amz-meta-upload&"))
        let headers = (answer["headers"] as! [String: String]).map { ($0.key, $0.value) }
        let put = try harness.http.send(HTTPRequest(method: "PUT", url: answer["url"] as! String, headers: HTTPHeaders(headers), body: photo))
        #expect(put.status == 200, "\(put.text)")
        #expect(try harness.openS3.getObject(bucket: harness.originals, key: "bar/put-1.jpg", maxBytes: 1 << 24).bytes == photo)
    }

    static let refusedUploads: [(String, Int, String, String)] = [
        ("", 400, "InvalidBody", "request body is empty; send JSON {\"collection\", \"name\", \"contentType\", \"bytes\"}"),
        ("[1]", 400, "InvalidBody", "request body must be a JSON object"),
        ("{\"collection\":\"bar\",\"name\":\"x\",\"contentType\":\"image/jpeg\",\"bytes\":1,\"x\":\"\u{FFFD}\"}", 400, "InvalidBody",
         "unknown field \"x\"; the fields are collection, name, contentType, bytes and method"),
        ("{", 400, "InvalidBody", "request body is not valid JSON: the end of the event where an object key (a string) should be at byte 1"),
        (#"{"collection":"bar","name":"x","contentType":"image/jpeg","bytes":1,"colour":"red"}"#, 400, "InvalidBody",
         "unknown field \"colour\"; the fields are collection, name, contentType, bytes and method"),
        (#"{"name":"x","contentType":"image/jpeg","bytes":1}"#, 400, "InvalidName", "field `collection` is missing"),
        (#"{"collection":7,"name":"x","contentType":"image/jpeg","bytes":1}"#, 400, "InvalidName", "field `collection` must be a string, got integer"),
        (#"{"collection":"bar/../x","name":"x","contentType":"image/jpeg","bytes":1}"#, 400, "InvalidName",
         "collection \"bar/../x\" must be 1 to 128 characters of A-Z a-z 0-9 . _ - and not starting with '.'"),
        (#"{"collection":"bar","name":".hidden","contentType":"image/jpeg","bytes":1}"#, 400, "InvalidName",
         "name \".hidden\" must be 1 to 128 characters of A-Z a-z 0-9 . _ - and not starting with '.'"),
        (#"{"collection":"bar","name":"","contentType":"image/jpeg","bytes":1}"#, 400, "InvalidName",
         "name \"\" must be 1 to 128 characters of A-Z a-z 0-9 . _ - and not starting with '.'"),
        (#"{"collection":"bar","name":"x","contentType":"image/png","bytes":1}"#, 415, "UnsupportedMediaType",
         "contentType \"image/png\" is not accepted; only JPEG photos (image/jpeg) can be uploaded"),
        (#"{"collection":"bar","name":"x","bytes":1}"#, 400, "InvalidBody", "field `contentType` is missing"),
        (#"{"collection":"bar","name":"x","contentType":"image/jpeg","bytes":5000001}"#, 413, "PayloadTooLarge",
         "the file is 5000001 bytes; uploads are limited to 5000000 bytes"),
        (#"{"collection":"bar","name":"x","contentType":"image/jpeg","bytes":0}"#, 400, "InvalidBody",
         "field `bytes` must be at least 1, got 0: the file is empty"),
        (#"{"collection":"bar","name":"x","contentType":"image/jpeg","bytes":"12"}"#, 400, "InvalidBody",
         "field `bytes` must be a whole number of bytes, got string"),
        (#"{"collection":"bar","name":"x","contentType":"image/jpeg","bytes":1.5}"#, 400, "InvalidBody",
         "field `bytes` must be a whole number of bytes, got number"),
        (#"{"collection":"bar","name":"x","contentType":"image/jpeg","bytes":1,"method":"GET"}"#, 400, "InvalidBody",
         "field `method` must be \"POST\" or \"PUT\", got \"GET\""),
        (#"{"collection":"bar","collection":"baz","name":"x","contentType":"image/jpeg","bytes":1}"#, 400, "InvalidBody",
         "request body has field `collection` more than once"),
    ]

    @Test func uploadRequestsAreCheckedWithClearErrors() throws {
        for (body, status, code, message) in Self.refusedUploads {
            let response = try harness.call("POST", "/uploads", body: body)
            let error = try errorOf(response)
            #expect(error.0 == status && error.1 == code, "\(body)")
            #expect(error.2 == message)
        }
        let huge = try harness.call("POST", "/uploads", body: String(repeating: " ", count: 20_000))
        #expect(try errorOf(huge).0 == 413)
    }

    @Test func routesAndMethods() throws {
        let unknown = try errorOf(try harness.call("GET", "/nope"))
        #expect(unknown.0 == 404 && unknown.1 == "NotFound")
        let wrong = try harness.call("DELETE", "/pictures/bar/drink")
        #expect(try errorOf(wrong).0 == 405)
        #expect(wrong.headers["allow"] == "GET, OPTIONS")
        #expect(try errorOf(try harness.call("GET", "/uploads")).1 == "MethodNotAllowed")
        #expect(try errorOf(try harness.call("GET", "/pictures/bar")).1 == "NotFound")
        let empty = try errorOf(try harness.call("GET", "/pictures?collection="))
        #expect(empty.0 == 400 && empty.2 == "query parameter `collection` is empty: name a collection, "
                + "or leave the parameter out for the most recent pictures of every collection")
        #expect(try errorOf(try harness.call("POST", "/collections")).0 == 405)
        #expect(try errorOf(try harness.call("GET", "/collections/bar")).1 == "NotFound")
        let twice = try errorOf(try harness.call("GET", "/pictures?collection=a&collection=b"))
        #expect(twice.2 == "query parameter `collection` is given 2 times; give it once")
        for limit in ["0", "101", "x", "-1", "1e2"] {
            #expect(try errorOf(try harness.call("GET", "/pictures?collection=a&limit=\(limit)")).1 == "InvalidQuery")
        }
        #expect(try errorOf(try harness.call("GET", "/pictures?collection=a&colour=x")).1 == "InvalidQuery")
    }

    @Test func listingsPageThroughACollectionWithAnOpaqueCursor() throws {
        let names = (0..<7).map { String(format: "p%02d", $0) }
        for name in names { try harness.putPicture(collection: "paged", name: name) }
        try harness.putPicture(collection: "other", name: "x")
        var seen: [String] = [], cursor: String?, pages = 0
        repeat {
            let target = "/pictures?collection=paged&limit=3" + (cursor.map { "&cursor=\($0)" } ?? "")
            let page = try harness.json(try harness.call("GET", target))
            let items = page["items"] as! [[String: Any]]
            seen += items.map { $0["name"] as! String }
            for item in items {
                #expect(item["version"] == nil && item["notified"] == nil)
                let thumbnail = item["thumbnail"] as! [String: Any]
                #expect(thumbnail["width"] as? Int == 256)
                #expect((thumbnail["url"] as! String).contains("/\(harness.renditions)/thumb/paged/"))
            }
            cursor = page["cursor"] as? String
            pages += 1
        } while cursor != nil && pages < 10
        #expect(seen == names)
        #expect(pages == 3)
    }

    @Test func forgedOrForeignCursorsAreRefused() throws {
        for name in ["a", "b", "c"] { try harness.putPicture(collection: "cur", name: name) }
        let first = try harness.json(try harness.call("GET", "/pictures?collection=cur&limit=1"))
        let cursor = first["cursor"] as! String
        var flipped = Array(cursor)
        flipped[flipped.count / 2] = flipped[flipped.count / 2] == "A" ? "B" : "A"
        for forged in [String(flipped), String(cursor.dropLast()), cursor + "A", "", "not a cursor!", "%00",
                       String(repeating: "A", count: 5000)] {
            let error = try errorOf(try harness.call("GET", "/pictures?collection=cur&cursor=\(forged.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!)"))
            #expect(error.0 == 400 && error.1 == "InvalidCursor", "\(forged.prefix(20))")
        }
        let foreign = try errorOf(try harness.call("GET", "/pictures?collection=other&cursor=\(cursor)"))
        #expect(foreign.2 == "cursor belongs to a listing of another collection, not \"other\"")
        // A cursor made under another secret (another deployment) is refused as forged.
        let stranger = try PictureAPIHarness(extra: ["CURSOR_SECRET": "a different secret for sure"])
        defer { stranger.stop() }
        #expect(try errorOf(try stranger.call("GET", "/pictures?collection=cur&cursor=\(cursor)")).1 == "InvalidCursor")
    }

    @Test func aPictureComesWithPresignedURLsThatWork() throws {
        try harness.putPicture(collection: "bar", name: "shown")
        try harness.openS3.putObject(bucket: harness.originals, key: "bar/shown.jpg", body: Array("original".utf8), contentType: "image/jpeg")
        try harness.openS3.putObject(bucket: harness.renditions, key: "thumb/bar/shown.jpg", body: Array("thumb".utf8), contentType: "image/jpeg")
        let picture = try harness.json(try harness.call("GET", "/pictures/bar/shown"))
        #expect(picture["status"] as? String == "ready" && picture["reductionPercent"] as? Double == 46.5)
        let urls = picture["urls"] as! [String: String]
        #expect(Set(urls.keys) == ["original", "thumb", "half"])
        #expect(try harness.http.send(HTTPRequest(method: "GET", url: urls["original"]!)).text == "original")
        #expect(try harness.http.send(HTTPRequest(method: "GET", url: urls["thumb"]!)).text == "thumb")
        #expect(urls["original"]!.contains("X-Amz-Expires=900&"))
        let missing = try errorOf(try harness.call("GET", "/pictures/bar/absent"))
        #expect(missing.0 == 404 && missing.2.hasPrefix("no picture \"absent\" in collection \"bar\""))
        // Names from keys dropped into the bucket keep their characters: they come back encoded once.
        try harness.putPicture(collection: "odd dir", name: "a+b é")
        #expect(try harness.call("GET", "/pictures/odd%20dir/a%2Bb%20%C3%A9").status == 200)
        // A collection is the key up to its last `/`, so it may hold slashes, sent plain or encoded.
        try harness.putPicture(collection: "2026/11//trip", name: "x")
        for path in ["/pictures/2026/11//trip/x", "/pictures/2026%2F11%2F%2Ftrip/x"] {
            let found = try harness.call("GET", path)
            #expect(found.status == 200, "\(path)")
            #expect(try harness.json(found)["collection"] as? String == "2026/11//trip")
        }
        #expect(try errorOf(try harness.call("GET", "/pictures/x/")).2 == "name must be 1 to 1024 bytes, got 0")
    }

    @Test func corsIsOnlyForAllowedOrigins() throws {
        let allowed = try harness.call("GET", "/pictures?collection=bar", headers: [("Origin", PictureAPIHarness.allowedOrigin)])
        #expect(allowed.headers["access-control-allow-origin"] == PictureAPIHarness.allowedOrigin)
        let preflight = try harness.call("OPTIONS", "/uploads", headers: [("Origin", "http://localhost:3000"),
                                                                           ("Access-Control-Request-Method", "POST")])
        #expect(preflight.status == 204)
        #expect(preflight.headers["access-control-allow-origin"] == "http://localhost:3000")
        #expect(preflight.headers["access-control-allow-methods"] == "GET, POST, OPTIONS")
        for origin in ["https://evil.example", "https://photos.example.evil.example", "null"] {
            let other = try harness.call("OPTIONS", "/uploads", headers: [("Origin", origin)])
            #expect(other.headers["access-control-allow-origin"] == nil, "\(origin)")
            let get = try harness.call("GET", "/", headers: [("Origin", origin)])
            #expect(get.headers["access-control-allow-origin"] == nil)
        }
    }

    @Test func aMissingOrMalformedVariableIsAnInitError() throws {
        for (variable, value, message) in [
            ("PICTURES_TABLE", "", "environment variable PICTURES_TABLE is not set"),
            ("MAX_UPLOAD_BYTES", "lots", "environment variable MAX_UPLOAD_BYTES must be a whole number, got \"lots\""),
            ("ALLOWED_ORIGINS", "https://ok.example,https://bad.example/path", "environment variable ALLOWED_ORIGINS must list origins like https://example.com (scheme, host, optional port, no path), got \"https://bad.example/path\""),
            ("CURSOR_SECRET", "short", "environment variable CURSOR_SECRET must be at least 16 characters long"),
            ("GALLERY", "open", "environment variable GALLERY must be one of private, public-read, public, got \"open\""),
            ("GALLERY", "Private", "environment variable GALLERY must be one of private, public-read, public, got \"Private\""),
            ("AUTH_CLIENT_ID", "\"><script>", "environment variable AUTH_CLIENT_ID must be a Cognito app client id (letters and digits)"),
            ("AUTH_ENDPOINT", "https://cognito.example/\"x", "environment variable AUTH_ENDPOINT must be an origin like https://cognito-idp.us-east-1.amazonaws.com/, got \"https://cognito.example/\"x\""),
        ] {
            let runtime = try LocalRuntimeAPI()
            defer { runtime.stop() }
            var env = Emulator.variables
            env.merge(["ORIGINALS_BUCKET": "o", "RENDITIONS_BUCKET": "r", "PICTURES_TABLE": "t",
                       "AWS_LAMBDA_RUNTIME_API": runtime.endpoint]) { _, new in new }
            env[variable] = value
            if variable == "AUTH_ENDPOINT" { env["AUTH_CLIENT_ID"] = "client1" }  // read only with a client
            let process = try FunctionProcess.start("picture-api", environment: env)
            defer { process.terminate() }
            #expect(runtime.waitForInitError(timeout: 10) == .error(type: "Runtime.ConfigurationError", message: message,
                                                                     headerType: "Runtime.ConfigurationError"))
        }
    }

    @Test func anEventThatIsNotFromAPIGatewayIsAnInvocationError() throws {
        let outcome = harness.runtime.invoke(Array(#"{"Records":[]}"#.utf8), timeout: 10)
        #expect(outcome == .error(type: "Tessera.InvalidEvent", message: "field `httpMethod` is missing", headerType: "Tessera.InvalidEvent"))
        // And the function still answers afterwards.
        #expect(try harness.call("GET", "/pictures?collection=bar").status == 200)
    }
}
