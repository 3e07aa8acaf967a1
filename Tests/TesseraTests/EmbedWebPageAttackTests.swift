import Foundation
import Testing
import TesseraLocal
import TesseraSupport

/// The build tool that inlines web/ into the function, run as the plugin runs it, on files an editor
/// could have saved: the CSP hash must be of the text the browser's parser makes, or the page is dead.
struct EmbedWebPageAttackTests {
    /// Runs the tool on index.html (the repository's) with this style and script; its output, or its log.
    static func embed(css: String, js: String) throws -> (status: Int32, output: String, log: String) {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("embed-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try FileManager.default.copyItem(at: LocalTemplateTests.root.appendingPathComponent("web/index.html"),
                                         to: dir.appendingPathComponent("index.html"))
        try Data(css.utf8).write(to: dir.appendingPathComponent("page.css"))
        try Data(js.utf8).write(to: dir.appendingPathComponent("page.js"))
        let output = dir.appendingPathComponent("WebPage.swift")
        let tool = try ChildProcess([FunctionProcess.binDirectory.appendingPathComponent("embed-web-page").path, dir.path, output.path],
                                    environment: [:], logPath: dir.appendingPathComponent("log").path)
        let status = tool.waitForExit(timeout: 30)?.status ?? -1
        return (status, (try? String(contentsOf: output, encoding: .utf8)) ?? "", tool.log)
    }

    static func hash(_ text: String) -> String { "'sha256-" + StrictBase64.encode(SHA256.hash(text.utf8)) + "'" }

    /// A lone CR (an old editor's line end) is a line feed to the browser's parser before it hashes the
    /// script (HTML "normalize newlines"); the tool hashed the CR, and the CSP then refused the page's script.
    @Test func aLoneCarriageReturnIsHashedAsTheBrowserSeesIt() throws {
        let (status, output, log) = try Self.embed(css: "a { color: red; }\r\nb { color: blue; }\r", js: "\"use strict\";\rlet a = 1;\r\nlet b = 2;\n")
        #expect(status == 0, "\(log)")
        #expect(output.contains("static let scriptHash = \"\(Self.hash("\n\"use strict\";\nlet a = 1;\nlet b = 2;\n"))\""), "\(output.suffix(400))")
        #expect(output.contains("static let styleHash = \"\(Self.hash("\na { color: red; }\nb { color: blue; }\n"))\""), "\(output.suffix(400))")
    }

    /// A NUL becomes U+FFFD in the browser's parser (and the hash with it): refused, naming the file.
    @Test func aNulIsRefused() throws {
        let (status, _, log) = try Self.embed(css: "a {}", js: "let a = '\u{0}';")
        #expect(status != 0 && log.contains("page.js holds a NUL"), "\(status): \(log)")
    }
}
