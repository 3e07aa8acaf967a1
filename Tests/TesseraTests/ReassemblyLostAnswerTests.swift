import Foundation
import Testing
import TesseraAWS
import TesseraEvents
import TesseraHTTP
import TesseraLocal
import TesseraPictures
import TesseraSupport

/// What the soak found (docs/soak.md): the original's PutObject done by S3 but its answer lost (a reset, a
/// 500 after the write) was retried and wrote a second version of the same bytes, with an S3 event, a
/// resize and a notification of its own. Replayed through a proxy in front of the emulator that lets the
/// first PutObject of the original through and answers it with a 500, as a lost answer looks to the client.
struct ReassemblyLostAnswerTests {
    /// Forwards everything to the emulator; the first PUT whose path ends with `failAfterPut` reaches the
    /// emulator, and the client is told 500.
    final class LosingProxy: @unchecked Sendable {
        let server: HTTPServer
        private let counter: Counter

        /// How many answers were lost so far.
        final class Counter: @unchecked Sendable {
            private let lock = NSLock()
            private var value = 0
            /// True the first time only.
            func first() -> Bool { lock.withLock { defer { value += 1 }; return value == 0 } }
            var count: Int { lock.withLock { value } }
        }

        init(upstream: String, failAfterPut suffix: String) throws {
            let counter = Counter()
            self.counter = counter
            server = try HTTPServer { request in Self.forward(request, upstream: upstream, suffix: suffix, counter: counter) }
        }

        var lostAnswers: Int { counter.count }

        static func forward(_ request: HTTPServer.Request, upstream: String, suffix: String, counter: Counter) -> HTTPResponse {
            var headers = HTTPHeaders()
            for (name, value) in request.headers
            where !["host", "content-length", "connection", "expect", "transfer-encoding"].contains(name.lowercased()) {
                headers.add(name, value)
            }
            let answer: HTTPResponse
            do {
                answer = try HTTPClient().send(HTTPRequest(method: request.method, url: upstream + request.target,
                                                           headers: headers, body: request.body))
            } catch {
                return HTTPResponse(status: 502, body: Array("\(error)".utf8))
            }
            let lose = request.method == "PUT" && request.path.hasSuffix(suffix) && counter.first()
            if lose {
                return HTTPResponse(status: 500, body: Array(("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>InternalError"
                    + "</Code><Message>We encountered an internal error. Please try again.</Message></Error>").utf8))
            }
            var kept = HTTPHeaders()
            for (name, value) in answer.headers
            where !["content-length", "connection", "transfer-encoding"].contains(name.lowercased()) { kept.add(name, value) }
            return HTTPResponse(status: answer.status, headers: kept, body: request.method == "HEAD" ? [] : answer.body)
        }
    }

    @Test func anOriginalWhoseAnswerWasLostIsWrittenOnce() throws {
        let template = try LocalTemplate.load(LocalTemplateTests.root.appendingPathComponent("template.yaml").path,
                                              stackName: Emulator.uniqueName("lost"))
        let ids = try LocalResources.provision(template, aws: try Emulator.openClient())
        let table = try #require(ids["PiecesTable"]), bucket = try #require(ids["OriginalsBucket"])
        let photo = try #require(FileManager.default.contents(atPath: Fixtures.directory.appendingPathComponent("photos/ladybird-420.jpg").path))
        let bytes = [UInt8](photo), size = 4096
        let total = (bytes.count + size - 1) / size
        let db = DynamoDBClient(aws: try Emulator.openClient())
        let pictureId = PieceStore.pictureId(machineId: "cam-lost", label: "once")
        for index in 1...total {
            try db.putItem(table: table, item: ["pictureId": .s(pictureId), "piece": .number(index),
                                                "data": .b(Array(bytes[(index - 1) * size..<min(index * size, bytes.count)]))])
        }
        let digest = hexString(SHA256.hash(bytes))
        try db.putItem(table: table, item: ["pictureId": .s(pictureId), "piece": .number(0), "total": .number(total),
                                            "sha256": .s(digest)])

        let upstream = try #require(Emulator.openVariables["AWS_ENDPOINT_URL"])
        let proxy = try LosingProxy(upstream: upstream, failAfterPut: "/cam-lost/once.jpg")
        defer { proxy.server.stop() }
        var variables = Emulator.openVariables
        variables["AWS_ENDPOINT_URL"] = "http://127.0.0.1:\(proxy.server.port)"
        let throughProxy = AWSClient(config: try AWSConfig.fromEnvironment(Environment(variables)),
                                     retryPolicy: RetryPolicy(baseDelay: 0.05))
        let reassembler = Reassembler(piecesTable: table, originalsBucket: bucket, db: DynamoDBClient(aws: throughProxy),
                                      s3: S3Client(aws: throughProxy))
        let request = ReassemblyRequest(machineId: "cam-lost", label: "once", pieces: total, sha256: digest)
        let outcome = try reassembler.reassemble(request, maxBytes: 1 << 24)
        #expect(proxy.lostAnswers >= 1, "the proxy never lost the PutObject's answer")
        #expect(outcome == .stored(key: "cam-lost/once.jpg", bytes: bytes.count, sha256: digest, alreadyThere: true), "\(outcome)")

        // One version of the original, the bytes sent.
        let listing = try HTTPClient().send(HTTPRequest(method: "GET", url: "\(upstream)/\(bucket)?versions&prefix=cam-lost/once.jpg"))
        let versions = String(decoding: listing.body, as: UTF8.self).components(separatedBy: "<Version>").count - 1
        #expect(versions == 1, "\(String(decoding: listing.body, as: UTF8.self))")
    }
}
