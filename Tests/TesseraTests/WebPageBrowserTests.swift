import Foundation
import Testing
import TesseraAWS
import TesseraHTTP
import TesseraLocal
import TesseraSupport

/// The web page in headless Chromium against the local stack: a real photograph uploaded through the
/// form goes to the emulator's S3 with the presigned POST, picture-processor makes its renditions from
/// the bucket's notification, and the gallery and detail view show them. Any browser console error fails it.
@Suite(.serialized)
struct WebPageBrowserTests {
    /// Where the screenshots go (kept after the run, for people to look at).
    static let screenshots = Fixtures.directory.deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent(".local/screenshots")

    /// template.yaml's resources under a fresh stack name on the emulator without signature checking
    /// (browsers' POST uploads carry a policy signature it cannot check), and its functions wired as the
    /// template wires them: the page's API behind the local endpoint, the processor on its queues.
    /// The template's user pool has a user, `pat`, with this password.
    static let password = "Page-test-password-1"

    static func startStack() throws -> (stack: LocalStack, ids: [String: String]) {
        let template = try LocalTemplate.load(LocalTemplateTests.root.appendingPathComponent("template.yaml").path,
                                              stackName: Emulator.uniqueName("page"))
        let aws = try Emulator.openClient()
        let ids = try LocalResources.provision(template, aws: aws)
        let pool = try #require(ids["UserPool"], "template.yaml has no UserPool")
        try CognitoClient(aws: aws).createUser(poolId: pool, username: "pat", password: password)
        let logs = FileManager.default.temporaryDirectory.appendingPathComponent("page-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: logs, withIntermediateDirectories: true)
        let stack = try LocalStack(functions: try LocalFunction.all(in: template, ids: ids),
                                   code: .buildProducts(FunctionProcess.binDirectory.path), environment: Emulator.openVariables,
                                   apiAccess: try LocalResources.apiAccess(template, ids: ids, emulatorURL: Emulator.openVariables["AWS_ENDPOINT_URL"]!),
                                   logDirectory: logs, log: { _ in })
        return (stack, ids)
    }

    /// Signs in through the page's form, against the user pool's own API, as a person would.
    func signIn(_ browser: WebDriver) throws {
        try browser.sendKeys(try browser.waitFor("#username"), "pat")
        try browser.sendKeys(try browser.find("#password"), Self.password)
        try browser.click(try browser.find("#signin"))
        let who = try browser.find("#who")
        try browser.wait(until: "the page says who is signed in", timeout: 20) { try browser.text(who) == "pat" }
        // Signed in, the form is gone (an author style once kept it on screen despite `hidden`), and the
        // password is nowhere: not in the field, the URL or storage; the token is in this tab's session only.
        let state = try browser.executeScript("""
            return [getComputedStyle(document.querySelector('#signin-form')).display, document.querySelector('#password').value,
                    location.href, JSON.stringify(localStorage), sessionStorage.getItem('tessera.token') ? 'token' : 'none'];
            """, []) as? [Any]
        #expect(state?[0] as? String == "none" && state?[1] as? String == "", "\(state ?? [])")
        #expect(!(state?[2] as? String ?? "").contains(Self.password) && !(state?[3] as? String ?? "").contains(Self.password))
        #expect(state?[4] as? String == "token")
    }

    func save(_ png: [UInt8], _ name: String) throws -> String {
        try FileManager.default.createDirectory(at: Self.screenshots, withIntermediateDirectories: true)
        let url = Self.screenshots.appendingPathComponent(name)
        try Data(png).write(to: url)
        return url.path
    }

    /// Whether the image the selector finds has loaded (a broken or pending image has no natural width).
    func imageLoaded(_ browser: WebDriver, _ css: String) throws -> Bool {
        try browser.executeScript("const i = document.querySelector(arguments[0]); return !!i && i.complete && i.naturalWidth > 0;",
                                  [css]) as? Bool == true
    }

    @Test func aPhotoUploadedInThePageShowsUpInTheGalleryAndItsDetail() throws {
        let (stack, _) = try Self.startStack()
        defer { stack.stop() }
        let browser = try WebDriver()
        defer { browser.quit() }
        let collection = Emulator.uniqueName("trip")
        try browser.navigate(stack.gateway!.url)
        try signIn(browser)

        let field = try browser.waitFor("#collection")
        try browser.clear(field)
        try browser.sendKeys(field, collection)
        try browser.sendKeys(try browser.find("#file"), Fixtures.url("photos/fresh-flower.jpg").path)
        let name = try browser.find("#name")
        try browser.clear(name)
        try browser.sendKeys(name, "flower")
        try browser.click(try browser.find("#upload"))

        // The thumbnail appears once picture-processor has made it from the bucket's notification.
        let tile = "#gallery a.picture[data-name=\"flower\"] img"
        try browser.wait(until: "the uploaded photo's thumbnail is in the gallery", timeout: 90) { try imageLoaded(browser, tile) }
        let galleryShot = try save(try browser.screenshot(), "gallery.png")

        try browser.click(try browser.find("#gallery a.picture[data-name=\"flower\"]"))
        let detail = try browser.waitFor("#picture")
        try browser.wait(until: "the detail view is open", timeout: 10) { try browser.isDisplayed(detail) }
        try browser.wait(until: "every rendition in the detail view has loaded", timeout: 30) {
            try browser.executeScript("""
                const images = [...document.querySelectorAll('#picture img')];
                return images.length >= 2 && images.every(i => i.complete && i.naturalWidth > 0);
                """) as? Bool == true
        }
        let text = try browser.text(detail)
        for expected in ["half", "thumb", "1600 × 1203", "80,905 bytes", "upload", "ready"] {
            #expect(text.contains(expected), "detail view lacks \(expected): \(text)")
        }
        let detailShot = try save(try browser.screenshot(), "detail.png")

        // A phone-sized screen still shows the detail.
        try browser.setWindowSize(width: 390, height: 844)
        _ = try save(try browser.screenshot(), "detail-phone.png")
        // Back goes to the collection the picture was opened from.
        try browser.back()
        try browser.wait(until: "back shows the collection again", timeout: 5) {
            try !browser.isDisplayed(detail) && browser.isDisplayed(try browser.find("#gallery a.picture[data-name=\"flower\"]"))
        }

        // The landing's listings before signing in are refused (401, logged by Chromium); nothing else may be.
        let errors = try browser.browserLog().filter { ($0.level == "SEVERE" || $0.level == "WARNING") && !$0.message.contains("status of 401") }
        #expect(errors.isEmpty, "browser console: \(errors)")
        print("screenshots: \(galleryShot), \(detailShot)")
    }

    @Test func theAPIsErrorsAreShownToTheUser() throws {
        let (stack, _) = try Self.startStack()
        defer { stack.stop() }
        let browser = try WebDriver()
        defer { browser.quit() }
        try browser.navigate(stack.gateway!.url)
        try signIn(browser)
        // A collection that the page lets through only to have the API refuse it: the API's message shows.
        try browser.executeScript("document.querySelector('#search-collection').value = arguments[0];", [String(repeating: "x", count: 1100)])
        try browser.click(try browser.find("#search"))
        let status = try browser.find("#status")
        try browser.wait(until: "the API's error is shown", timeout: 10) {
            try browser.text(status).contains("S3 keys, and so collections, have at most 1024")
        }
        // A file that is not a JPEG (named .jpg, so the browser calls it image/jpeg) is refused in the page from
        // its first bytes, before any upload: the message names the file.
        let notJPEG = FileManager.default.temporaryDirectory.appendingPathComponent("not-a-photo-\(UUID().uuidString).jpg")
        try Data("GIF89a, not a JPEG".utf8).write(to: notJPEG)
        defer { try? FileManager.default.removeItem(at: notJPEG) }
        try browser.sendKeys(try browser.find("#file"), notJPEG.path)
        try browser.sendKeys(try browser.find("#collection"), "trip")
        try browser.click(try browser.find("#upload"))
        let refusal = "“\(notJPEG.lastPathComponent)” is not a JPEG file (it does not start with FF D8 FF)."
        try browser.wait(until: "the page refuses a file that is not a JPEG", timeout: 10) {
            try browser.text(status) == refusal
        }
        #expect(try browser.attribute(status, "data-kind") == "error")
        let errors = try browser.browserLog().filter { $0.level == "SEVERE" }
        // The API answered 400 on purpose (and 401 to the landing's listings before signing in); Chromium logs
        // failed fetches as console errors, so only those are allowed.
        #expect(errors.allSatisfy { $0.message.contains("400") || $0.message.contains("status of 401") }, "browser console: \(errors)")
    }

    /// A picture dropped straight into the bucket keeps its key's characters in its name (DESIGN.md): the page
    /// shows such a name as text, in the gallery and the detail view, and never parses it as HTML.
    @Test func aHostilePictureNameShowsAsText() throws {
        let (stack, ids) = try Self.startStack()
        defer { stack.stop() }
        let collection = Emulator.uniqueName("hostile")
        // No "/": the collection is the key up to its last one.
        let name = #"<img src=x onerror="window.pwned=1;document.title='pwned'"> &amp; <b>bold<b> "quoted" 'too'"#
        let photo = try Fixtures.bytes("photos/ladybird-420.jpg")
        try S3Client(aws: try Emulator.openClient()).putObject(
            bucket: try #require(ids["OriginalsBucket"]), key: "\(collection)/\(name).jpg", body: photo, contentType: "image/jpeg")

        let browser = try WebDriver()
        defer { browser.quit() }
        try browser.navigate(stack.gateway!.url)
        try signIn(browser)
        try browser.sendKeys(try browser.waitFor("#search-collection"), collection)
        try browser.click(try browser.find("#search"))
        // The tile of the processed picture, found by its name (an attribute, compared in script).
        let tile = "[...document.querySelectorAll('#gallery a.picture')].find((b) => b.dataset.name === arguments[0])"
        try browser.wait(until: "the picture's thumbnail is in the gallery", timeout: 90) {
            try browser.executeScript("const b = \(tile); const i = b?.querySelector('img');"
                + " return !!i && b.classList.contains('ready') && i.complete && i.naturalWidth > 0;", [name]) as? Bool == true
        }
        // The caption's first node is the name as one text node; the tile holds the thumbnail and no other element.
        #expect(try browser.executeScript("const c = \(tile).querySelector('.caption');"
            + " return c.firstChild.nodeType === Node.TEXT_NODE && c.firstChild.nodeValue === arguments[0];", [name]) as? Bool == true)
        #expect(try browser.executeScript("return [...\(tile).querySelectorAll('*')].map((e) => e.tagName).join(' ');", [name])
            as? String == "IMG SPAN SPAN")

        try browser.executeScript("\(tile).click();", [name])
        let detail = try browser.waitFor("#picture")
        try browser.wait(until: "the detail view is open", timeout: 10) { try browser.isDisplayed(detail) }
        try browser.wait(until: "the detail view's renditions", timeout: 30) {
            try browser.executeScript("return document.querySelectorAll('#picture figure[data-rendition] img').length;") as? Int == 2
        }
        #expect(try browser.text(try browser.find("#detail-title")) == "\(collection) / \(name)")
        #expect(try browser.executeScript("return document.querySelector('#picture [data-field=\"name\"] dd').textContent;")
            as? String == name)
        #expect(try browser.executeScript("return [...document.querySelectorAll('#picture figure img')].map((i) => i.alt);")
            as? [String] == ["\(name), thumb rendition", "\(name), half rendition"])  // largest first: 256x160, 160x100

        // Nothing of the name ran or became an element anywhere.
        #expect(try browser.executeScript("return window.pwned === undefined && document.title !== 'pwned';") as? Bool == true)
        #expect(try browser.executeScript("return document.querySelectorAll('[onerror], b, img[src=\"x\"]').length;") as? Int == 0)
        let errors = try browser.browserLog().filter { $0.level == "SEVERE" && !$0.message.contains("status of 401") }
        #expect(errors.isEmpty, "browser console: \(errors)")
    }

    /// The page's optional bearer token, for a stack whose tokens come from another issuer (JwtIssuer: the
    /// page has no sign-in of its own): `#token=...` in the address is taken once, sent as
    /// `Authorization: Bearer ...` with every API call, kept for the tab's session (a reload without it still
    /// sends it), and removed from the address bar with the rest of the fragment kept. Without one, no header.
    /// Where the page signs in itself, a `#token=` is never taken (a link with someone else's token would
    /// sign the visitor in as them). (What the API does with the token is PictureAPI's and the local
    /// endpoint's to test: here it answers the page itself, RecordingAPI.)
    @Test func aTokenInTheFragmentIsSentRememberedAndRemovedFromTheAddress() throws {
        let (stack, _) = try Self.startStack()
        defer { stack.stop() }
        let page = try RecordingAPI(pageFrom: stack.gateway!.port, ownSignIn: false)
        defer { page.stop() }
        let signsIn = try RecordingAPI(pageFrom: stack.gateway!.port, ownSignIn: true)
        defer { signsIn.stop() }
        let browser = try WebDriver()
        defer { browser.quit() }
        // A JWT's shape (base64url parts: header, claims with an expiry far off, signature); the page reads no more than its claims.
        func part(_ json: String) -> String {
            Data(json.utf8).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
                .replacingOccurrences(of: "=", with: "")
        }
        let token = part(#"{"alg":"RS256","kid":"test"}"#) + "." + part(#"{"sub":"tessera-test","exp":4102444800}"#) + ".c2lnbmF0dXJl-_"

        /// Loads the page at `address` (from a blank page, so a fragment-only change loads it anew), which lists the
        /// recent pictures on landing, and returns the Authorization headers of the listing calls it made.
        func listing(_ address: String, on page: RecordingAPI = page) throws -> [String?] {
            try browser.navigate("about:blank")
            let before = page.requests.count
            try browser.navigate(address)
            try browser.wait(until: "the page lists the recent pictures", timeout: 10) {
                page.requests.dropFirst(before).contains { $0.target.hasPrefix("/pictures?") }
            }
            return page.requests.dropFirst(before).filter { $0.target.hasPrefix("/pictures?") }.map(\.authorization)
        }

        // The page that signs in itself takes no token from a link, and drops it from the address.
        let refused = try listing(signsIn.url + "#token=\(token)&view=grid", on: signsIn)
        #expect(!refused.isEmpty && refused.allSatisfy { $0 == nil }, "a linked token was taken: \(refused)")
        #expect(try browser.executeScript("return location.hash;") as? String == "#view=grid")

        let none = try listing(page.url + "#view=grid")
        #expect(!none.isEmpty && none.allSatisfy { $0 == nil }, "without a token: \(none)")

        let given = try listing(page.url + "#token=\(token)&view=grid")
        #expect(!given.isEmpty && given.allSatisfy { $0 == "Bearer \(token)" }, "with #token=: \(given)")
        #expect(try browser.executeScript("return location.hash;") as? String == "#view=grid")
        #expect(try browser.executeScript("return location.href;") as? String == page.url + "#view=grid")

        let reloaded = try listing(page.url)
        #expect(!reloaded.isEmpty && reloaded.allSatisfy { $0 == "Bearer \(token)" }, "after a reload: \(reloaded)")
        #expect(try browser.executeScript("return location.href;") as? String == page.url)
        #expect(!page.requests.contains { $0.target.contains(token) }, "the token went into a URL")
    }
}

/// The page's server for the token test: GET / (the page) comes from the local API endpoint `upstream`;
/// every other request, the page's API calls, is recorded with its Authorization header and answered here
/// with an empty listing, so what the page sends is seen whatever the API's own access rules.
final class RecordingAPI {
    struct Request: Sendable {
        let method: String
        let target: String
        let authorization: String?
    }

    private let server: HTTPServer
    private let recorded = Box<[Request]>([])

    /// `ownSignIn` false: the page as a stack with JwtIssuer serves it, with no user pool client of its own.
    init(pageFrom upstream: UInt16, ownSignIn: Bool) throws {
        let recorded = recorded
        server = try HTTPServer { request in
            recorded.with { $0.append(Request(method: request.method, target: request.target,
                                              authorization: request.headers["authorization"])) }
            guard request.path == "/" else {
                return HTTPResponse(status: 200, headers: HTTPHeaders([("Content-Type", "application/json")]),
                                    body: Array(#"{"items":[],"cursor":null}"#.utf8))
            }
            guard let page = try? HTTPClient().send(HTTPRequest(method: "GET", url: "http://127.0.0.1:\(upstream)/")) else {
                return HTTPResponse(status: 502)
            }
            var body = page.text
            if !ownSignIn, let start = body.range(of: "data-auth-client=\""),
               let end = body[start.upperBound...].firstIndex(of: "\"") {
                body.replaceSubrange(start.upperBound..<end, with: "")
            }
            return HTTPResponse(status: page.status, headers: HTTPHeaders([("Content-Type", page.headers["content-type"] ?? "text/html")]),
                                body: Array(body.utf8))
        }
    }

    var url: String { "http://127.0.0.1:\(server.port)/" }
    var requests: [Request] { recorded.current }
    func stop() { server.stop() }
}
