import Foundation
import Synchronization
import Testing
import TesseraHTTP
import TesseraLocal

/// The libcurl client against a real HTTP server on loopback.
struct HTTPClientTests {
    @Test func roundTripsALargeBodyOverOneKeptAliveConnection() throws {
        let server = try HTTPServer { request in
            var headers = HTTPHeaders([("X-Echo-Method", request.method), ("X-MIXED-Case", "yes")])
            headers.add("X-Saw-Expect", request.headers["expect"] ?? "none")
            headers.add("X-Saw-Length", request.headers["content-length"] ?? "none")
            return HTTPResponse(status: 200, headers: headers, body: request.body)
        }
        defer { server.stop() }
        let client = HTTPClient()
        let body = (0..<(5 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 131) }
        for method in ["POST", "PUT", "POST"] {
            let response = try client.send(HTTPRequest(method: method, url: "http://127.0.0.1:\(server.port)/echo",
                                                       body: body))
            #expect(response.status == 200)
            #expect(response.body == body)
            #expect(response.headers["x-echo-method"] == method)
            #expect(response.headers["x-mixed-case"] == "yes")
            #expect(response.headers["X-SAW-EXPECT"] == "none")
            #expect(response.headers["x-saw-length"] == String(body.count))
        }
        #expect(server.connectionCount == 1)
    }

    /// A stopped server must never answer another server's connections: its listener's descriptor
    /// number is reused at once, and a server stopped before its accept thread ran used to take it.
    @Test func aStoppedServerNeverAnswersForAnotherOne() throws {
        let wrong = Mutex(0)
        DispatchQueue.concurrentPerform(iterations: 4) { lane in
            let client = HTTPClient()
            for round in 0..<100 {
                let id = "\(lane)-\(round)"
                guard let server = try? HTTPServer(handler: { _ in HTTPResponse(status: 200, body: Array(id.utf8)) })
                else { continue }
                if lane % 2 == 0 {
                    // Never asked: stopped at once, maybe before its thread accepted anything.
                    server.stop()
                    continue
                }
                let answer = try? client.send(HTTPRequest(method: "GET", url: "http://127.0.0.1:\(server.port)/"))
                if answer.map({ String(decoding: $0.body, as: UTF8.self) }) != id { wrong.withLock { $0 += 1 } }
                server.stop()
            }
        }
        #expect(wrong.withLock { $0 } == 0)
    }

    @Test func emptyBodiesAndGet() throws {
        let server = try HTTPServer { request in
            HTTPResponse(status: request.method == "GET" ? 204 : 201,
                         headers: HTTPHeaders([("X-Length", request.headers["content-length"] ?? "none")]))
        }
        defer { server.stop() }
        let client = HTTPClient()
        let get = try client.send(HTTPRequest(method: "GET", url: "http://127.0.0.1:\(server.port)/"))
        #expect(get.status == 204)
        #expect(get.body.isEmpty)
        let post = try client.send(HTTPRequest(method: "POST", url: "http://127.0.0.1:\(server.port)/"))
        #expect(post.status == 201)
        #expect(post.headers["x-length"] == "0")
    }

    @Test func aBodyWithoutAContentTypeIsNotLabelledAsAForm() throws {
        let server = try HTTPServer { request in
            HTTPResponse(status: 200, body: Array((request.headers["content-type"] ?? "none").utf8))
        }
        defer { server.stop() }
        let client = HTTPClient()
        let url = "http://127.0.0.1:\(server.port)/"
        for method in ["POST", "PUT"] {
            let bare = try client.send(HTTPRequest(method: method, url: url, body: Array("a=b".utf8)))
            #expect(bare.text == "none", "\(method) went out as \(bare.text)")
        }
        let typed = try client.send(HTTPRequest(method: "POST", url: url,
                                                headers: HTTPHeaders([("Content-Type", "application/json")]), body: [1]))
        #expect(typed.text == "application/json")
    }

    @Test func aSuccessBodyOverTheCapStopsTheTransferButAnErrorDocumentIsReadWhole() throws {
        let server = try HTTPServer { request in
            HTTPResponse(status: request.path == "/error" ? 404 : 200, body: [UInt8](repeating: 7, count: 100_000))
        }
        defer { server.stop() }
        let client = HTTPClient()
        let url = "http://127.0.0.1:\(server.port)/big"
        #expect(throws: HTTPError.responseTooLarge(url: url, limit: 99_999)) {
            try client.send(HTTPRequest(method: "GET", url: url, maxResponseBytes: 99_999))
        }
        #expect(try client.send(HTTPRequest(method: "GET", url: url, maxResponseBytes: 100_000)).body.count == 100_000)
        let error = try client.send(HTTPRequest(method: "GET", url: "http://127.0.0.1:\(server.port)/error",
                                                maxResponseBytes: 10))
        #expect(error.status == 404 && error.body.count == 100_000)
    }

    @Test func timeoutNamesTheURL() throws {
        let server = try HTTPServer { _ in
            Thread.sleep(forTimeInterval: 1.5)
            return HTTPResponse(status: 200)
        }
        defer { server.stop() }
        let url = "http://127.0.0.1:\(server.port)/slow"
        let client = HTTPClient(options: .init(timeoutMs: 200))
        #expect(throws: HTTPError.timedOut(url: url, afterMs: 200)) {
            try client.send(HTTPRequest(method: "GET", url: url))
        }
    }

    @Test func refusedConnectionIsCouldNotConnect() throws {
        // Port 1 on loopback: nothing listens there.
        let url = "http://127.0.0.1:1/"
        do {
            _ = try HTTPClient().send(HTTPRequest(method: "GET", url: url))
            Issue.record("expected a connection failure")
        } catch let error as HTTPError {
            guard case let .couldNotConnect(failedURL, _) = error else {
                Issue.record("unexpected \(error)")
                return
            }
            #expect(failedURL == url)
            #expect(error.isTransient)
            #expect(error.description.contains(url))
        }
    }

    @Test func malformedURLIsInvalidRequest() {
        do {
            _ = try HTTPClient().send(HTTPRequest(method: "GET", url: "notascheme://x"))
            Issue.record("expected an error")
        } catch let error as HTTPError {
            #expect(!error.isTransient)
            #expect(error.description.contains("notascheme://x"))
        } catch {
            Issue.record("unexpected \(error)")
        }
    }
}
