import Foundation
import Testing
import TesseraAWS
import TesseraLocal
import TesseraSupport

/// The page on a gallery whose names are hostile, and on one with more collections than a page lists,
/// in headless Chromium against the real picture-api binary (PictureAPIHarness, a public-read gallery).
@Suite(.serialized)
struct WebPageLandingAttackTests {
    static func at(_ second: Int) -> String { String(format: "2026-12-01T10:%02d:%02d.000Z", second / 60, second % 60) }

    /// Names from keys dropped into the bucket keep their characters: markup, quotes and every character
    /// a URL gives a meaning to. They are shown as text, their links hold them exactly (a fresh load, back
    /// and forward included), and a crafted address runs nothing.
    @Test func hostileNamesStayTextAndRoundTripThroughTheAddress() throws {
        let harness = try PictureAPIHarness(extra: ["GALLERY": "public-read"])
        defer { harness.stop() }
        let collection = #"<img src=x onerror="document.title='pwned'">&name=x?y#z%41+ "'/sub"#
        // A name is a key's last segment: anything but `/`.
        let name = #"<img src=x onerror="document.title='pwned'">&%2F?#+ 'q\"#
        try harness.putPicture(collection: collection, name: name, processedAt: Self.at(2))
        try harness.putPicture(collection: "plain", name: "other", processedAt: Self.at(1))
        let browser = try WebDriver(windowSize: (1280, 800))
        defer { browser.quit() }
        try browser.navigate(harness.gateway.url)
        let tile = "#gallery a.picture"
        try browser.wait(until: "the landing shows both pictures", timeout: 30) {
            try browser.executeScript("return document.querySelectorAll(arguments[0]).length;", [tile]) as? Int == 2
        }
        let landing = try browser.currentURL()
        let names = try browser.executeScript("""
            const a = document.querySelector('#gallery a.picture');
            return [a.dataset.collection, a.dataset.name, a.querySelector('.caption').firstChild.textContent];
            """) as? [String]
        #expect(names == [collection, name, name])
        try browser.click(try browser.find(tile))
        try browser.wait(until: "the detail of the hostile picture", timeout: 30) {
            try browser.isDisplayed(try browser.find("#picture"))
                && browser.executeScript("return document.querySelector('#picture [data-field=\"name\"] dd')?.textContent;") as? String == name
        }
        let shared = try browser.currentURL()
        #expect(try browser.text(try browser.find("#detail-title")) == "\(collection) / \(name)")
        // Fresh, from the shared address.
        try browser.navigate("about:blank")
        try browser.navigate(shared)
        try browser.wait(until: "the shared address opens the same picture", timeout: 30) {
            try browser.executeScript("return document.querySelector('#picture [data-field=\"collection\"] dd')?.textContent;") as? String == collection
        }
        // Back: the blank page, the picture as opened from its tile, the landing.
        try browser.back()
        try browser.back()
        try browser.wait(until: "back to the picture opened from its tile", timeout: 10) { try browser.currentURL() == shared }
        try browser.back()
        try browser.wait(until: "back to the landing", timeout: 10) {
            try browser.currentURL() == landing && browser.text(try browser.find("#gallery-title")) == "Recent pictures"
        }
        try browser.forward()
        try browser.wait(until: "forward to the picture", timeout: 10) {
            try browser.currentURL() == shared && browser.isDisplayed(try browser.find("#picture"))
        }
        // The breadcrumb's collection link holds the collection exactly.
        try browser.click(try browser.find("#crumbs li:nth-child(2) a"))
        try browser.wait(until: "the hostile collection", timeout: 10) {
            try browser.text(try browser.find("#gallery-title")) == "Pictures in “\(collection)”"
        }
        // Crafted addresses: markup and a javascript: URL as a collection do nothing but name a collection.
        for crafted in ["?collection=%3Cscript%3Edocument.title%3D'pwned'%3C%2Fscript%3E",
                        "?collection=javascript:document.title='pwned'&name=%3Cimg%20src%3Dx%20onerror%3Dalert(1)%3E"] {
            try browser.navigate(landing + crafted)
            try browser.wait(until: "the crafted address's view", timeout: 10) {
                try browser.executeScript("return document.querySelector('#status').textContent.length > 0 || document.querySelectorAll('#gallery-empty:not([hidden])').length > 0;") as? Bool == true
            }
        }
        let state = try browser.executeScript("""
            return { title: document.title, scripts: document.scripts.length, imgs: [...document.images].filter((i) => i.getAttribute('src') === 'x').length,
                     hrefs: [...document.querySelectorAll('a[href]')].map((a) => a.getAttribute('href')).filter((h) => /^\\s*javascript:/i.test(h)).length };
            """) as? [String: Any]
        #expect(state?["title"] as? String != "pwned" && state?["scripts"] as? Int == 1 && state?["imgs"] as? Int == 0 && state?["hrefs"] as? Int == 0,
                "\(String(describing: state))")
    }

    /// With more collections than one page lists, paging the recent pictures ("More") put pictures of
    /// unlisted collections on screen, and every 3-second poll then reloaded the collections from their
    /// first page (up to 5 requests of 300 index items each, undoing "More collections") for as long as the
    /// tab stayed open.
    @Test func theLandingDoesNotReloadTheCollectionsOnEveryPoll() throws {
        let harness = try PictureAPIHarness(extra: ["GALLERY": "public-read"])
        defer { harness.stop() }
        for index in 0..<40 { try harness.putPicture(collection: String(format: "c%02d", index), name: "p", processedAt: Self.at(index)) }
        let browser = try WebDriver(windowSize: (1280, 800))
        defer { browser.quit() }
        try browser.navigate(harness.gateway.url)
        let count = "return [document.querySelectorAll('#gallery a.picture').length, document.querySelectorAll('#collections li').length];"
        try browser.wait(until: "a page of pictures and of collections", timeout: 30) {
            try browser.executeScript(count) as? [Int] == [24, 24]
        }
        try browser.click(try browser.find("#more"))
        try browser.wait(until: "all 40 pictures", timeout: 30) {
            (try browser.executeScript(count) as? [Int])?.first == 40
        }
        Thread.sleep(forTimeInterval: 1)
        let asked = "return performance.getEntriesByType('resource').filter((e) => e.name.includes('/collections?')).length;"
        let before = try browser.executeScript(asked) as? Int ?? 0
        // Three polls' time.
        Thread.sleep(forTimeInterval: 10)
        let after = try browser.executeScript(asked) as? Int ?? 0
        #expect(try browser.executeScript(count) as? [Int] == [40, 24])
        #expect(try browser.isDisplayed(try browser.find("#more-collections")))
        #expect(after == before, "/collections was asked \(after - before) more times while the landing sat still")
    }
}
