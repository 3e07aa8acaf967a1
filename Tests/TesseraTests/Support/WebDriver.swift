import Foundation
import Glibc
import TesseraHTTP
import TesseraLocal

/// Why a WebDriver command failed; each case names the command.
enum WebDriverError: Error, CustomStringConvertible {
    /// chromedriver did not start, or did not become ready; `log` is what it wrote.
    case startFailed(String, log: String)
    /// No answer from chromedriver (it exited, or the request timed out).
    case transport(command: String, reason: String)
    /// WebDriver answered with an error (`error` is its code, e.g. "no such element").
    case failed(command: String, status: Int, error: String, message: String)
    /// The answer was not what the command returns.
    case unexpectedAnswer(command: String, answer: String)
    case noSuchElement(selector: String)
    case timedOut(waitingFor: String, seconds: Double)

    var description: String {
        switch self {
        case let .startFailed(reason, log): "chromedriver: \(reason)\n\(log.suffix(2_000))"
        case let .transport(command, reason): "WebDriver \(command): no answer: \(reason)"
        case let .failed(command, status, error, message): "WebDriver \(command): HTTP \(status) \(error): \(message)"
        case let .unexpectedAnswer(command, answer): "WebDriver \(command): unexpected answer \(answer.prefix(300))"
        case let .noSuchElement(selector): "no element matches the CSS selector \(selector)"
        case let .timedOut(what, seconds): "timed out after \(seconds) s waiting for \(what)"
        }
    }
}

/// A small W3C WebDriver client driving headless Chromium through chromedriver, for browser tests.
///
/// Not thread-safe (one HTTP client); `quit()` ends the session and chromedriver (deinit does too).
final class WebDriver {
    typealias Element = String
    static let elementKey = "element-6066-11e4-a52e-4f735466cecf"

    let sessionID: String
    let port: Int
    private let driver: ChildProcess
    private let client: HTTPClient
    private var isQuit = false

    /// Starts `chromedriver` on a port it picks, waits until it is ready, and opens a session.
    init(chromium: String = "/usr/bin/chromium", chromedriver: String = "chromedriver",
         windowSize: (width: Int, height: Int) = (1280, 900), startTimeout: Double = 30) throws {
        // chromedriver picks its port (--port=0) and binds it afterwards: two starting at once can pick the same
        // one, and the loser exits ("Address already in use"); it is started again then.
        var driver: ChildProcess
        var attempt = 0
        repeat {
            attempt += 1
            let log = FileManager.default.temporaryDirectory.appendingPathComponent("chromedriver-\(UUID().uuidString).log").path
            driver = try ChildProcess([chromedriver, "--port=0"], environment: ProcessInfo.processInfo.environment, logPath: log)
            let settled = Date().addingTimeInterval(startTimeout)
            while driver.isRunning, !driver.log.contains("started successfully"), !driver.log.contains("Address already in use"),
                  Date() < settled { usleep(20_000) }
            if driver.log.contains("Address already in use") { _ = driver.waitForExit(timeout: 5) }
        } while attempt < 5 && driver.log.contains("Address already in use") && !driver.isRunning
        let client = HTTPClient(options: .init(connectTimeoutMs: 2_000, timeoutMs: 60_000, usesProxyVariables: false))
        let deadline = Date().addingTimeInterval(startTimeout)
        func fail(_ reason: String) -> WebDriverError {
            driver.terminate()
            return .startFailed(reason, log: driver.log)
        }
        // It says "ChromeDriver was started successfully on port 36027."
        var port = 0
        while port == 0 {
            port = driver.log.components(separatedBy: "on port ").dropFirst().compactMap { Int($0.prefix { $0.isNumber }) }
                .first { $0 > 0 } ?? 0
            guard port > 0 || (driver.isRunning && Date() < deadline) else { throw fail("did not say which port it listens on") }
            if port == 0 { usleep(20_000) }
        }
        while (try? Self.send(client, "GET", "http://127.0.0.1:\(port)/status", nil, "status") as? [String: Any])?["ready"]
                as? Bool != true {
            guard driver.isRunning, Date() < deadline else { throw fail("not ready after \(startTimeout) s") }
            usleep(20_000)
        }
        let options: [String: Any] = [
            "binary": chromium,
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--window-size=\(windowSize.width),\(windowSize.height)"],
        ]
        let capabilities = ["alwaysMatch": ["goog:chromeOptions": options, "goog:loggingPrefs": ["browser": "ALL"]]]
        let session: Any
        do {
            session = try Self.send(client, "POST", "http://127.0.0.1:\(port)/session", ["capabilities": capabilities], "new session")
        } catch {
            throw fail("\(error)")
        }
        guard let id = (session as? [String: Any])?["sessionId"] as? String else { throw fail("new session answered \(session)") }
        self.driver = driver
        self.client = client
        self.port = port
        sessionID = id
    }

    deinit { quit() }

    /// Ends the session (closing the browser) and chromedriver; safe to call twice.
    func quit() {
        guard !isQuit else { return }
        isQuit = true
        _ = try? command("DELETE", "", name: "delete session")
        driver.terminate()
    }

    // MARK: - Commands

    func navigate(_ url: String) throws { try command("POST", "/url", ["url": url], name: "navigate to \(url)") }

    /// The first element matching the CSS selector.
    func find(_ css: String) throws -> Element {
        do {
            return try elementID(command("POST", "/element", ["using": "css selector", "value": css], name: "find \(css)"))
        } catch WebDriverError.failed(_, _, "no such element", _) {
            throw WebDriverError.noSuchElement(selector: css)
        }
    }

    /// Every element matching the CSS selector, in document order.
    func findAll(_ css: String) throws -> [Element] {
        let answer = try command("POST", "/elements", ["using": "css selector", "value": css], name: "find all \(css)")
        guard let list = answer as? [Any] else { throw WebDriverError.unexpectedAnswer(command: "find all \(css)", answer: "\(answer)") }
        return try list.map(elementID)
    }

    /// Polls until an element matches (every 100 ms).
    func waitFor(_ css: String, timeout: Double = 10) throws -> Element {
        var element: Element?
        try wait(until: css, timeout: timeout) {
            element = try? find(css)
            return element != nil
        }
        return element!
    }

    /// Polls `condition` until it holds; errors it throws end the wait.
    func wait(until what: String, timeout: Double = 10, _ condition: () throws -> Bool) throws {
        let deadline = Date().addingTimeInterval(timeout)
        while try !condition() {
            guard Date() < deadline else { throw WebDriverError.timedOut(waitingFor: what, seconds: timeout) }
            usleep(100_000)
        }
    }

    func click(_ element: Element) throws { try command("POST", "/element/\(element)/click", name: "click") }
    func clear(_ element: Element) throws { try command("POST", "/element/\(element)/clear", name: "clear") }

    /// Types into the element; a file input takes a file's path.
    func sendKeys(_ element: Element, _ text: String) throws {
        try command("POST", "/element/\(element)/value", ["text": text], name: "send keys")
    }

    /// Presses keys on whatever has the focus (e.g. "\u{E00C}" is Escape, "\u{E004}" Tab).
    func pressKeys(_ keys: String) throws {
        let strokes = keys.map { String($0) }.flatMap { [["type": "keyDown", "value": $0], ["type": "keyUp", "value": $0]] }
        try command("POST", "/actions", ["actions": [["type": "key", "id": "keyboard", "actions": strokes]]], name: "press keys")
        try command("DELETE", "/actions", name: "release keys")
    }

    func text(_ element: Element) throws -> String {
        try string(command("GET", "/element/\(element)/text", name: "text"), "text")
    }

    /// The attribute's value, nil when the element has none.
    func attribute(_ element: Element, _ name: String) throws -> String? {
        try command("GET", "/element/\(element)/attribute/\(name)", name: "attribute \(name)") as? String
    }

    func isDisplayed(_ element: Element) throws -> Bool {
        let answer = try command("GET", "/element/\(element)/displayed", name: "is displayed")
        guard let shown = answer as? Bool else { throw WebDriverError.unexpectedAnswer(command: "is displayed", answer: "\(answer)") }
        return shown
    }

    /// Runs `js` as a function body (`arguments[0]`...) and returns its JSON result; pass elements as `argument(element)`.
    @discardableResult
    func executeScript(_ js: String, _ arguments: [Any] = []) throws -> Any {
        try command("POST", "/execute/sync", ["script": js, "args": arguments], name: "execute script")
    }

    /// Runs `js` as an asynchronous function body: it ends by calling `arguments[arguments.length - 1]`
    /// with its JSON result.
    @discardableResult
    func executeAsyncScript(_ js: String, _ arguments: [Any] = []) throws -> Any {
        try command("POST", "/execute/async", ["script": js, "args": arguments], name: "execute async script")
    }

    /// The browser's back and forward buttons.
    func back() throws { try command("POST", "/back", name: "back") }
    func forward() throws { try command("POST", "/forward", name: "forward") }

    /// The address the browser shows.
    func currentURL() throws -> String { try string(command("GET", "/url", name: "current URL"), "current URL") }

    static func argument(_ element: Element) -> [String: String] { [elementKey: element] }

    /// The viewport as PNG bytes.
    func screenshot() throws -> [UInt8] {
        let encoded = try string(command("GET", "/screenshot", name: "screenshot"), "screenshot")
        guard let data = Data(base64Encoded: encoded) else {
            throw WebDriverError.unexpectedAnswer(command: "screenshot", answer: String(encoded.prefix(80)))
        }
        return Array(data)
    }

    /// The browser's console and network messages since the last call (chromedriver hands each out once).
    func browserLog() throws -> [(level: String, message: String)] {
        let answer = try command("POST", "/se/log", ["type": "browser"], name: "browser log")
        guard let entries = answer as? [[String: Any]] else {
            throw WebDriverError.unexpectedAnswer(command: "browser log", answer: "\(answer)")
        }
        return entries.map { (level: $0["level"] as? String ?? "", message: $0["message"] as? String ?? "") }
    }

    func setWindowSize(width: Int, height: Int) throws {
        try command("POST", "/window/rect", ["width": width, "height": height], name: "set window size")
    }

    // MARK: - Wire

    @discardableResult
    private func command(_ method: String, _ path: String, _ body: [String: Any]? = nil, name: String) throws -> Any {
        try Self.send(client, method, "http://127.0.0.1:\(port)/session/\(sessionID)\(path)", body ?? (method == "POST" ? [:] : nil), name)
    }

    private static func send(_ client: HTTPClient, _ method: String, _ url: String, _ body: [String: Any]?,
                             _ name: String) throws -> Any {
        var request = HTTPRequest(method: method, url: url)
        if let body {
            request.headers.add("Content-Type", "application/json; charset=utf-8")
            request.body = Array(try JSONSerialization.data(withJSONObject: body))
        }
        let response: HTTPResponse
        do { response = try client.send(request) } catch { throw WebDriverError.transport(command: name, reason: "\(error)") }
        let json = try? JSONSerialization.jsonObject(with: Data(response.body), options: [.fragmentsAllowed])
        let value = (json as? [String: Any])?["value"] ?? NSNull()
        guard (200..<300).contains(response.status) else {
            let info = value as? [String: Any]
            // The message's first line; chromedriver appends session details and a stack trace.
            let message = (info?["message"] as? String ?? response.text).split(separator: "\n").first.map(String.init) ?? ""
            throw WebDriverError.failed(command: name, status: response.status, error: info?["error"] as? String ?? "unknown error",
                                        message: message)
        }
        return value
    }

    private func elementID(_ answer: Any) throws -> Element {
        guard let id = (answer as? [String: Any])?[Self.elementKey] as? String else {
            throw WebDriverError.unexpectedAnswer(command: "find", answer: "\(answer)")
        }
        return id
    }

    private func string(_ answer: Any, _ name: String) throws -> String {
        guard let text = answer as? String else { throw WebDriverError.unexpectedAnswer(command: name, answer: "\(answer)") }
        return text
    }
}
