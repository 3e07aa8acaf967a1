import Foundation
import Glibc
import Testing
import TesseraAWS
import TesseraHTTP
import TesseraLocal

/// What an attack on picture-api and its local endpoint found, kept found.
@Suite(.serialized)
final class PictureAPIHostileTests {
    let harness: PictureAPIHarness

    init() throws { harness = try PictureAPIHarness() }
    deinit { harness.stop() }

    /// Writes raw bytes to the local endpoint and reads until it closes (or 5 s pass).
    func raw(_ bytes: [UInt8]) -> String {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = harness.gateway.port.bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        _ = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        _ = bytes.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        var answer: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n <= 0 { break }
            answer += chunk[0..<n]
        }
        return String(decoding: answer, as: UTF8.self)
    }

    @Test func malformedFramingIsAnsweredAndTheEndpointLivesOn() throws {
        let cases: [(String, String)] = [
            ("POST /uploads HTTP/1.1\r\nContent-Length: 9223372036854775807\r\n\r\nabc", "HTTP/1.1 413 "),
            ("POST /uploads HTTP/1.1\r\nContent-Length: 99999999999999999999\r\n\r\n", "HTTP/1.1 400 "),
            ("POST /uploads HTTP/1.1\r\nContent-Length: -5\r\n\r\n", "HTTP/1.1 400 "),
            ("POST /uploads HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab", "HTTP/1.1 400 "),
            ("POST /uploads HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n", "HTTP/1.1 411 "),
            ("GET * HTTP/1.1\r\n\r\n", "HTTP/1.1 400 "),
            ("G-T / HTTP/1.1\r\n\r\n", "HTTP/1.1 400 "),
            ("GET http://evil/ HTTP/1.1\r\n\r\n", "HTTP/1.1 400 "),
            ("GET / HTTP/1.1\r\n" + String(repeating: "X-Pad: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n", count: 3000) + "\r\n", "HTTP/1.1 431 "),
        ]
        for (request, status) in cases {
            let answer = raw(Array(request.utf8))
            #expect(answer.hasPrefix(status), "\(request.prefix(60)) → \(answer.prefix(80))")
        }
        // HEAD gets the GET's headers and no body, so keep-alive framing holds.
        let head = raw(Array("HEAD / HTTP/1.1\r\nConnection: close\r\n\r\n".utf8))
        #expect(head.hasPrefix("HTTP/1.1 200 ") && head.hasSuffix("\r\n\r\n"))
        #expect(try harness.call("GET", "/pictures?collection=bar").status == 200)
    }

    @Test func renditionSizesThatWouldOverflowDoNotCrashTheListing() throws {
        try harness.putPicture(collection: "ovf", name: "big", renditions: ["a": (4_000_000_000, 5_000_000_000),
                                                                          "b": (Int.max, Int.max), "c": (10, 10)])
        let page = try harness.json(try harness.call("GET", "/pictures?collection=ovf"))
        let item = (page["items"] as! [[String: Any]])[0]
        #expect((item["thumbnail"] as! [String: Any])["width"] as? Int == 10)
        #expect(harness.function.isRunning)
    }

    @Test func aCursorIsBoundToTheCollectionsBytes() throws {
        // é as one scalar (NFC) and as e + combining accent (NFD): equal as Swift Strings, other DynamoDB keys.
        for name in ["a", "b"] { try harness.putPicture(collection: "caf\u{E9}", name: name) }
        let first = try harness.json(try harness.call("GET", "/pictures?collection=caf%C3%A9&limit=1"))
        let cursor = first["cursor"] as! String
        let response = try harness.call("GET", "/pictures?collection=cafe%CC%81&cursor=\(cursor)")
        #expect(response.status == 400)
        #expect(try harness.json(response)["error"].map { ($0 as! [String: String])["code"] } == "InvalidCursor")
    }

    @Test func gzipNamedOutrightWinsOverAWildcardRefusal() throws {
        let zipped = try harness.call("GET", "/", headers: [("Accept-Encoding", "*;q=0, gzip")])
        #expect(zipped.headers["content-encoding"] == "gzip")
        let refused = try harness.call("GET", "/", headers: [("Accept-Encoding", "identity, *;q=0")])
        #expect(refused.headers["content-encoding"] == nil)
    }

    @Test func anAWSFailureIsA500ThatNamesNoInternals() throws {
        // A port nothing listens on: the connection is refused, retried, and fails.
        let broken = try PictureAPIHarness(extra: ["AWS_ENDPOINT_URL_DYNAMODB": "http://127.0.0.1:9"])
        defer { broken.stop() }
        let response = try broken.call("GET", "/pictures?collection=bar")
        #expect(response.status == 500)
        let error = try broken.json(response)["error"] as! [String: String]
        #expect(error["code"] == "InternalError")
        #expect(error["message"]!.hasPrefix("the pictures service failed (AWS.TransportError); try again, and quote request id "))
        #expect(!error["message"]!.contains("127.0.0.1"))
    }
}
