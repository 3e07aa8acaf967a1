import Foundation
import Testing
import TesseraAWS
import TesseraLocal
import TesseraSupport

/// The page as a visitor finds it on a local stack that holds pictures: the landing shows them (newest
/// first) and the collections; a picture's link, loaded afresh, opens its detail; back and forward step
/// through what was viewed; and axe-core finds nothing in any view (sign-in, landing, collection, detail).
@Suite(.serialized)
struct WebPageNavigationTests {
    /// axe-core as axe-playwright-python in .venv ships it (scripts/setup installs it).
    static func axeSource() throws -> String {
        let venv = LocalTemplateTests.root.appendingPathComponent(".venv/lib")
        let files = FileManager.default.enumerator(at: venv, includingPropertiesForKeys: nil)
        while let url = files?.nextObject() as? URL {
            if url.lastPathComponent == "axe.min.js", url.path.contains("axe_playwright_python") {
                return try String(contentsOf: url, encoding: .utf8)
            }
        }
        throw WebDriverError.startFailed("no axe.min.js under \(venv.path): run scripts/setup (axe-playwright-python)", log: "")
    }

    /// axe-core's violations in the page as it is now (every rule axe runs by default, WCAG A and AA
    /// included), as "rule (impact): targets" lines.
    static func axeViolations(_ browser: WebDriver, axe: String) throws -> [String] {
        // Injected through WebDriver, which the page's Content-Security-Policy does not govern.
        if try browser.executeScript("return typeof window.axe;") as? String != "object" { try browser.executeScript(axe) }
        let answer = try browser.executeAsyncScript("""
            const done = arguments[arguments.length - 1];
            axe.run(document, { resultTypes: ["violations"] })
              .then((result) => done(result.violations.map((v) =>
                `${v.id} (${v.impact}): ${v.nodes.length} nodes, ${v.nodes.slice(0, 3).map((n) => n.target.join(" ")).join(", ")}`)))
              .catch((error) => done([`axe failed: ${error}`]));
            """)
        return answer as? [String] ?? ["axe answered \(answer)"]
    }

    /// Whether every image in the view that `css` finds has loaded (and there is one at least).
    static func imagesLoaded(_ browser: WebDriver, _ css: String, atLeast: Int = 1) throws -> Bool {
        try browser.executeScript("""
            const images = [...document.querySelectorAll(arguments[0])];
            return images.length >= arguments[1] && images.every((i) => i.complete && i.naturalWidth > 0);
            """, [css, atLeast]) as? Bool == true
    }

    /// Pictures dropped into the originals bucket (the account's own: every signed-in user sees them),
    /// processed by picture-processor from the bucket's notifications.
    static func putPictures(_ ids: [String: String], _ pictures: [(String, String)]) throws {
        let s3 = S3Client(aws: try Emulator.openClient())
        for (key, photo) in pictures {
            try s3.putObject(bucket: try #require(ids["OriginalsBucket"]), key: key, body: try Fixtures.bytes(photo), contentType: "image/jpeg")
        }
    }

    @Test func theLandingShowsPicturesAndLinksHoldTheView() throws {
        let (stack, ids) = try WebPageBrowserTests.startStack()
        defer { stack.stop() }
        let trip = Emulator.uniqueName("trip"), garden = Emulator.uniqueName("garden")
        try Self.putPictures(ids, [("\(trip)/flower.jpg", "photos/fresh-flower.jpg"), ("\(garden)/ladybird.jpg", "photos/ladybird-420.jpg")])
        let browser = try WebDriver(windowSize: (1280, 800))
        defer { browser.quit() }
        let axe = try Self.axeSource()
        try browser.navigate(stack.gateway!.url)

        // Signed out, the landing is the sign-in view.
        _ = try browser.waitFor("#username")
        try browser.wait(until: "the page says to sign in", timeout: 10) {
            try browser.text(try browser.find("#gallery-empty")).contains("Sign in")
        }
        var violations: [String: [String]] = ["sign-in": try Self.axeViolations(browser, axe: axe)]
        try WebPageBrowserTests().signIn(browser)

        // The landing: both pictures, newest first, each saying its collection, and both collections.
        let tiles = "#gallery a.picture img"
        try browser.wait(until: "the landing shows both pictures' thumbnails", timeout: 120) {
            try browser.executeScript("return document.querySelectorAll(arguments[0]).length;", [tiles]) as? Int == 2
                && Self.imagesLoaded(browser, tiles, atLeast: 2)
        }
        #expect(try browser.text(try browser.find("#gallery-title")) == "Recent pictures")
        let shown = try browser.executeScript("""
            return [...document.querySelectorAll('#gallery a.picture')].map((a) => `${a.dataset.collection}/${a.dataset.name}`);
            """) as? [String] ?? []
        #expect(Set(shown) == ["\(trip)/flower", "\(garden)/ladybird"], "\(shown)")
        try browser.wait(until: "the landing lists both collections", timeout: 10) {
            Set(try browser.executeScript("return [...document.querySelectorAll('#collections li')].map((li) => li.dataset.collection);")
                as? [String] ?? []) == [trip, garden]
        }
        violations["landing"] = try Self.axeViolations(browser, axe: axe)
        let landing = try browser.currentURL()

        // A collection, from its link: its own address.
        try browser.click(try browser.find("#collections li[data-collection=\"\(trip)\"] a"))
        try browser.wait(until: "the collection view", timeout: 10) {
            try browser.text(try browser.find("#gallery-title")) == "Pictures in “\(trip)”" && Self.imagesLoaded(browser, tiles)
        }
        let collectionURL = try browser.currentURL()
        #expect(collectionURL == landing + "?collection=\(trip)")
        violations["collection"] = try Self.axeViolations(browser, axe: axe)

        // A picture, from its tile: its own address, and its detail.
        try browser.click(try browser.find("#gallery a.picture[data-name=\"flower\"]"))
        let detail = try browser.find("#picture")
        try browser.wait(until: "the detail view with its renditions", timeout: 30) {
            try browser.isDisplayed(detail) && Self.imagesLoaded(browser, "#picture figure img", atLeast: 2)
        }
        let shared = try browser.currentURL()
        #expect(shared == landing + "?collection=\(trip)&name=flower")
        violations["detail"] = try Self.axeViolations(browser, axe: axe)

        // The link shared: loaded afresh (from a blank page), it opens the same picture.
        try browser.navigate("about:blank")
        try browser.navigate(shared)
        try browser.wait(until: "a fresh load of the shared link shows the picture", timeout: 30) {
            try browser.isDisplayed(try browser.find("#picture")) && Self.imagesLoaded(browser, "#picture figure img", atLeast: 2)
        }
        #expect(try browser.text(try browser.find("#detail-title")) == "\(trip) / flower")
        #expect(try browser.executeScript("return document.querySelector('#picture [data-field=\"status\"] dd').textContent;") as? String == "ready")

        // Back: the blank page, then the picture again (as first opened), the collection, the landing; and forward again.
        try browser.back()
        try browser.back()
        try browser.wait(until: "back reaches the picture opened from its tile", timeout: 10) { try browser.currentURL() == shared }
        try browser.back()
        try browser.wait(until: "back shows the collection", timeout: 10) {
            try browser.currentURL() == collectionURL && browser.isDisplayed(try browser.find("#pictures"))
                && !browser.isDisplayed(try browser.find("#picture"))
                && browser.text(try browser.find("#gallery-title")) == "Pictures in “\(trip)”"
        }
        try browser.back()
        try browser.wait(until: "back shows the landing", timeout: 10) {
            try browser.currentURL() == landing && browser.text(try browser.find("#gallery-title")) == "Recent pictures"
                && browser.executeScript("return document.querySelectorAll('#gallery a.picture').length;") as? Int == 2
        }
        try browser.forward()
        try browser.wait(until: "forward shows the collection", timeout: 10) {
            try browser.currentURL() == collectionURL && browser.text(try browser.find("#gallery-title")) == "Pictures in “\(trip)”"
        }
        try browser.forward()
        try browser.wait(until: "forward shows the picture", timeout: 30) {
            try browser.currentURL() == shared && browser.isDisplayed(try browser.find("#picture"))
                && browser.text(try browser.find("#detail-title")) == "\(trip) / flower"
        }
        // The breadcrumb's collection link leads to the collection.
        try browser.click(try browser.find("#crumbs a[href=\"?collection=\(trip)\"]"))
        try browser.wait(until: "the breadcrumb opens the collection", timeout: 10) { try browser.currentURL() == collectionURL }

        for (view, found) in violations.sorted(by: { $0.key < $1.key }) {
            #expect(found.isEmpty, "axe-core in the \(view) view: \(found)")
        }
        // The check can fail: an image without a text alternative and a list item out of its list are found.
        try browser.executeScript("document.querySelector('main').append(Object.assign(document.createElement('img'), { src: 'data:,' }), document.createElement('dd'));")
        let planted = try Self.axeViolations(browser, axe: axe)
        #expect(planted.contains { $0.hasPrefix("image-alt (critical)") } && planted.contains { $0.hasPrefix("dlitem") }, "\(planted)")
        let errors = try browser.browserLog().filter { $0.level == "SEVERE" && !$0.message.contains("status of 401") }
        #expect(errors.isEmpty, "browser console: \(errors)")
    }
}
