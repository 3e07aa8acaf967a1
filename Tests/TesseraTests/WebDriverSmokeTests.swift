import Foundation
import Testing
import TesseraHTTP
import TesseraLocal

/// The browser tests' WebDriver client, driving headless Chromium against static pages.
struct WebDriverSmokeTests {
    static let quietPage = """
        <!doctype html><html lang="en"><head><meta charset="utf-8"><link rel="icon" href="data:,"><title>smoke</title></head>
        <body><button id="go" type="button">Press</button>
        <script>document.getElementById("go").addEventListener("click", (e) => { e.target.textContent = "Pressed"; });</script>
        </body></html>
        """
    static let noisyPage = """
        <!doctype html><html lang="en"><head><meta charset="utf-8"><link rel="icon" href="data:,"><title>noisy</title></head>
        <body><script>console.error("x");</script></body></html>
        """

    static func serve(_ page: String) throws -> HTTPServer {
        try HTTPServer { _ in
            HTTPResponse(status: 200, headers: HTTPHeaders([("Content-Type", "text/html; charset=utf-8")]), body: Array(page.utf8))
        }
    }

    @Test func clicksReadsAndFindsAQuietPage() throws {
        let server = try Self.serve(Self.quietPage)
        defer { server.stop() }
        let browser = try WebDriver()
        defer { browser.quit() }
        try browser.navigate("http://127.0.0.1:\(server.port)/")
        let button = try browser.waitFor("#go")
        #expect(try browser.text(button) == "Press")
        #expect(try browser.isDisplayed(button))
        #expect(try browser.attribute(button, "type") == "button")
        #expect(try browser.attribute(button, "data-missing") == nil)
        try browser.click(button)
        #expect(try browser.text(button) == "Pressed")
        let length = try browser.executeScript("return arguments[0].textContent.length + arguments[1];",
                                               [WebDriver.argument(button), 1])
        #expect(length as? Int == 8)
        #expect(try browser.screenshot().starts(with: [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]))
        try browser.setWindowSize(width: 390, height: 844)
        #expect((try browser.executeScript("return window.innerWidth;") as? Int).map { $0 <= 390 } == true)
        do {
            _ = try browser.find("#absent")
            Issue.record("found #absent")
        } catch {
            #expect("\(error)".contains("#absent"))
        }
        #expect(throws: WebDriverError.self) { try browser.waitFor("#absent", timeout: 0.3) }
        let log = try browser.browserLog()
        #expect(log.isEmpty, "\(log)")
    }

    @Test func aConsoleErrorShowsInTheBrowserLog() throws {
        let server = try Self.serve(Self.noisyPage)
        defer { server.stop() }
        let browser = try WebDriver()
        defer { browser.quit() }
        try browser.navigate("http://127.0.0.1:\(server.port)/")
        let log = try browser.browserLog()
        #expect(log.contains { $0.level == "SEVERE" && $0.message.contains("\"x\"") }, "\(log)")
        // Each entry is handed out once.
        #expect(try browser.browserLog().isEmpty)
    }
}
