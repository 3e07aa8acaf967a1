import Foundation
import Testing
import TesseraAWS
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

    static func startStack() throws -> LocalStack {
        let template = try LocalTemplate.load(LocalTemplateTests.root.appendingPathComponent("template.yaml").path,
                                              stackName: Emulator.uniqueName("page"))
        let aws = try Emulator.openClient()
        let ids = try LocalResources.provision(template, aws: aws)
        let pool = try #require(ids["UserPool"], "template.yaml has no UserPool")
        try CognitoClient(aws: aws).createUser(poolId: pool, username: "pat", password: password)
        let logs = FileManager.default.temporaryDirectory.appendingPathComponent("page-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: logs, withIntermediateDirectories: true)
        return try LocalStack(functions: try LocalFunction.all(in: template, ids: ids),
                              code: .buildProducts(FunctionProcess.binDirectory.path), environment: Emulator.openVariables,
                              apiAccess: try LocalResources.apiAccess(template, ids: ids, emulatorURL: Emulator.openVariables["AWS_ENDPOINT_URL"]!),
                              logDirectory: logs, log: { _ in })
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
        let stack = try Self.startStack()
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
        let tile = "#gallery button.picture[data-name=\"flower\"] img"
        try browser.wait(until: "the uploaded photo's thumbnail is in the gallery", timeout: 90) { try imageLoaded(browser, tile) }
        let galleryShot = try save(try browser.screenshot(), "gallery.png")

        try browser.click(try browser.find("#gallery button.picture[data-name=\"flower\"]"))
        let detail = try browser.waitFor("#detail")
        try browser.wait(until: "the detail view is open", timeout: 10) { try browser.isDisplayed(detail) }
        try browser.wait(until: "every rendition in the detail view has loaded", timeout: 30) {
            try browser.executeScript("""
                const images = [...document.querySelectorAll('#detail img')];
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
        try browser.pressKeys("\u{E00C}")  // Escape closes the detail
        try browser.wait(until: "Escape closes the detail view", timeout: 5) { try !browser.isDisplayed(detail) }

        let errors = try browser.browserLog().filter { $0.level == "SEVERE" || $0.level == "WARNING" }
        #expect(errors.isEmpty, "browser console: \(errors)")
        print("screenshots: \(galleryShot), \(detailShot)")
    }

    @Test func theAPIsErrorsAreShownToTheUser() throws {
        let stack = try Self.startStack()
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
        // A file that is not a JPEG is refused in the page, before any upload.
        let notJPEG = FileManager.default.temporaryDirectory.appendingPathComponent("not-a-photo-\(UUID().uuidString).jpg")
        try Data("GIF89a, not a JPEG".utf8).write(to: notJPEG)
        defer { try? FileManager.default.removeItem(at: notJPEG) }
        try browser.sendKeys(try browser.find("#file"), notJPEG.path)
        try browser.click(try browser.find("#upload"))
        try browser.wait(until: "the page refuses a file that is not a JPEG", timeout: 10) {
            try browser.text(status).lowercased().contains("jpeg")
        }
        let errors = try browser.browserLog().filter { $0.level == "SEVERE" }
        // The API answered 400 on purpose; Chromium logs failed fetches as console errors, so only those are allowed.
        #expect(errors.allSatisfy { $0.message.contains("400") }, "browser console: \(errors)")
    }
}
