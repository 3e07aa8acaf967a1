import Foundation
import TesseraHTTP
import TesseraLocal
import TesseraSupport

/// A loopback proxy in front of the emulator that passes every request through unchanged (the Host
/// header too, so the signature still matches) and notes its operation: "DynamoDB.PutItem",
/// "S3.GetObject", ... A function pointed at it (AWS_ENDPOINT_URL) shows every request it makes.
/// (The local HTTPServer answers HEAD with `Content-Length: 0`, so a HeadObject through it reads size 0:
/// no path counted here uses that size.)
final class CountingProxy: @unchecked Sendable {
    let server: HTTPServer
    private let lock = NSLock()
    private var operations: [String] = []

    var endpoint: String { "http://127.0.0.1:\(server.port)" }

    init(upstream: String) throws {
        let box = Box()
        server = try HTTPServer { request in box.proxy?.forward(request, to: upstream) ?? HTTPResponse(status: 503) }
        box.proxy = self
    }

    private final class Box: @unchecked Sendable { weak var proxy: CountingProxy? }

    func stop() { server.stop() }

    /// The operations seen since the last call, in order, and forgets them.
    func take() -> [String] {
        lock.lock()
        defer { lock.unlock() }
        let seen = operations
        operations = []
        return seen
    }

    /// The operations seen since the last call, counted, and forgets them.
    func counts() -> [String: Int] {
        take().reduce(into: [:]) { $0[$1, default: 0] += 1 }
    }

    private func forward(_ request: HTTPServer.Request, to upstream: String) -> HTTPResponse {
        lock.lock()
        operations.append(Self.operation(request))
        lock.unlock()
        var headers = HTTPHeaders()
        for field in request.headers where !["content-length", "connection", "transfer-encoding", "expect"].contains(field.name.lowercased()) {
            headers.add(field.name, field.value)
        }
        do {
            // One client a request: the server answers each connection on its own thread.
            var response = try HTTPClient().send(HTTPRequest(method: request.method, url: upstream + request.target,
                                                             headers: headers, body: request.body))
            response.headers.remove("transfer-encoding")
            response.headers.remove("connection")
            return response
        } catch {
            return HTTPResponse(status: 502, body: Array("\(error)".utf8))
        }
    }

    /// The AWS operation a request makes: the JSON services name it in X-Amz-Target, SNS in the form's
    /// Action, S3 by method and query (the only S3 calls the functions make).
    static func operation(_ request: HTTPServer.Request) -> String {
        if let target = request.headers["x-amz-target"], let dot = target.lastIndex(of: ".") {
            let service = target.hasPrefix("DynamoDB") ? "DynamoDB" : target.hasPrefix("AmazonSQS") ? "SQS" : String(target[..<dot])
            return service + "." + target[target.index(after: dot)...]
        }
        let scope = request.headers["authorization"].flatMap { auth -> String? in
            guard let range = auth.range(of: "Credential=") else { return nil }
            let parts = auth[range.upperBound...].prefix { $0 != "," }.split(separator: "/")
            return parts.count >= 4 ? String(parts[3]) : nil
        } ?? "?"
        if scope == "sns" {
            let body = String(decoding: request.body, as: UTF8.self)
            let action = body.split(separator: "&").first { $0.hasPrefix("Action=") }?.dropFirst("Action=".count)
            return "SNS." + (action.map(String.init) ?? "?")
        }
        if scope == "s3" {
            let query = request.target.contains("?") ? String(request.target.drop { $0 != "?" }) : ""
            switch request.method {
            case "GET": return "S3.GetObject"
            case "HEAD": return "S3.HeadObject"
            case "PUT": return "S3.PutObject"
            case "DELETE": return "S3.DeleteObject"
            case "POST" where query.contains("delete"): return "S3.DeleteObjects"
            default: return "S3.\(request.method)"
            }
        }
        return "\(scope).\(request.method)"
    }
}
