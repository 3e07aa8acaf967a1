// Build tool (run by the EmbedWebPage plugin, never shipped): turns web/index.html, web/page.css and
// web/page.js into one Swift source for TesseraPictures holding the page as served, with the style and
// the script inlined, and the Content-Security-Policy hashes of exactly those inlined bytes.
//
// index.html links its files the way a browser opening it from disk would, and those two tags are what
// is replaced: `<link rel="stylesheet" href="page.css">` and `<script src="page.js"></script>`.
//
// Usage: embed-web-page WEB_DIRECTORY OUTPUT.swift
import Glibc
import TesseraSupport

func fail(_ message: String) -> Never {
    let line = Array("embed-web-page: error: \(message)\n".utf8)
    _ = Glibc.write(2, line, line.count)
    exit(1)
}

func read(_ path: String) -> String {
    guard let file = fopen(path, "rb") else { fail("cannot open \(path): \(String(cString: strerror(errno)))") }
    defer { fclose(file) }
    var bytes: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 65_536)
    while true {
        let count = fread(&buffer, 1, buffer.count, file)
        if count == 0 { break }
        bytes += buffer[0..<count]
    }
    guard let text = String(validating: bytes, as: UTF8.self) else { fail("\(path) is not UTF-8") }
    // Line ends as the browser's parser makes them before it hashes (HTML "normalize newlines": CR LF, then
    // a lone CR, become LF), whatever the editor saved; a NUL it would turn into U+FFFD, so none is taken.
    if text.utf8.contains(0) { fail("\(path) holds a NUL character (the browser would change it, and the hash with it)") }
    return text.replacingAll("\r\n", with: "\n").replacingAll("\r", with: "\n")
}

/// Writes `text` unless the file holds it already: left untouched, the file keeps its time, so the
/// module is not compiled again (SwiftPM relinks this tool on some builds, which runs the plugin again,
/// and a recompiled module is not always the same bytes: the deployment zips must be).
func write(_ text: String, to path: String) {
    if let old = fopen(path, "rb") {
        fclose(old)
        if read(path) == text { return }
    }
    guard let file = fopen(path, "wb") else { fail("cannot write \(path): \(String(cString: strerror(errno)))") }
    let bytes = Array(text.utf8)
    guard fwrite(bytes, 1, bytes.count, file) == bytes.count, fclose(file) == 0 else { fail("cannot write \(path)") }
}

/// A Swift string literal holding `text` exactly.
func literal(_ text: String) -> String {
    var out = "\""
    for scalar in text.unicodeScalars {
        switch scalar {
        case "\\": out += "\\\\"
        case "\"": out += "\\\""
        case "\n": out += "\\n"
        case "\t": out += "\\t"
        case _ where scalar.value < 0x20 || scalar.value == 0x7F: out += "\\u{\(String(scalar.value, radix: 16))}"
        default: out.unicodeScalars.append(scalar)
        }
    }
    return out + "\""
}

/// The CSP source for inline content: 'sha256-<base64 of its SHA-256>'.
func cspHash(_ text: String) -> String { "'sha256-" + StrictBase64.encode(SHA256.hash(text.utf8)) + "'" }

let arguments = CommandLine.arguments
guard arguments.count == 3 else { fail("usage: embed-web-page WEB_DIRECTORY OUTPUT.swift") }
let web = arguments[1]
var html = read(web + "/index.html")
let css = read(web + "/page.css"), js = read(web + "/page.js")
// Inlined text may not end its own element early (the browser would run the rest as markup).
if css.lowercased().contains("</style") { fail("web/page.css contains \"</style\"; it is inlined into a <style> element") }
if js.lowercased().contains("</script") { fail("web/page.js contains \"</script\"; it is inlined into a <script> element") }
// The configuration is filled into index.html's attributes when served; in the hashed files it would break the hash.
for (name, text) in [("page.css", css), ("page.js", js)] {
    for placeholder in ["__MAX_UPLOAD_BYTES__", "__AUTH_ENDPOINT__", "__AUTH_CLIENT__"] where text.rangeOfFirst(placeholder) != nil {
        fail("web/\(name) contains \(placeholder); only web/index.html's attributes are filled in when the page is served")
    }
}
for (tag, file, replacement) in [("<link rel=\"stylesheet\" href=\"page.css\">", "page.css", "<style>\n\(css)</style>"),
                                 ("<script src=\"page.js\"></script>", "page.js", "<script>\n\(js)</script>")] {
    guard let range = html.rangeOfFirst(tag) else {
        fail("web/index.html must link \(file) with exactly \(tag) (that tag is replaced by the file's content)")
    }
    html.replaceSubrange(range, with: replacement)
    if html.rangeOfFirst(tag) != nil { fail("web/index.html links \(file) twice") }
}
// Only the inlined elements may hold style or script: anything else inline would be refused by the CSP.
func occurrences(of needle: String, in text: String) -> Int {
    var count = 0, rest = Substring(text)
    while let range = rest.rangeOfFirst(needle) { count += 1; rest = rest[range.upperBound...] }
    return count
}
for extra in ["<style", "<script"] where occurrences(of: extra, in: html.lowercased()) != 1 {
    fail("web/index.html holds a \(extra)> of its own; put it in web/\(extra == "<style" ? "page.css" : "page.js")")
}

write("""
    // Generated at build time by embed-web-page from web/index.html, web/page.css and web/page.js; do not edit.

    /// The web page picture-api serves at GET /: web/index.html with web/page.css and web/page.js inlined.
    enum WebPage {
        /// The document, with `__MAX_UPLOAD_BYTES__`, `__AUTH_ENDPOINT__` and `__AUTH_CLIENT__` for the
        /// configuration (attributes only: the hashed style and script never change).
        static let template: String = \(literal(html))
        /// The CSP source of the inlined script (`'sha256-...'`), computed from its bytes at build time.
        static let scriptHash = \(literal(cspHash("\n" + js)))
        /// The CSP source of the inlined style sheet.
        static let styleHash = \(literal(cspHash("\n" + css)))
    }

    """, to: arguments[2])
