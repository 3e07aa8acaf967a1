import Foundation
import Testing
@testable import TesseraAWS
import TesseraHTTP
import TesseraSupport
import TesseraLocal

/// The shared request path against a scripted HTTP server on loopback: retries, errors, headers.
struct AWSClientTests {
    final class Script: @unchecked Sendable {
        private let lock = NSLock()
        private var responses: [HTTPResponse]
        private(set) var requests: [HTTPServer.Request] = []
        init(_ responses: [HTTPResponse]) { self.responses = responses }
        func next(_ request: HTTPServer.Request) -> HTTPResponse {
            lock.withLock {
                requests.append(request)
                return responses.count > 1 ? responses.removeFirst() : responses[0]
            }
        }
        var count: Int { lock.withLock { requests.count } }
    }

    func client(_ script: Script, retry: RetryPolicy = RetryPolicy(baseDelay: 0.01)) throws -> (AWSClient, HTTPServer) {
        let server = try HTTPServer { script.next($0) }
        let config = try AWSConfig.fromEnvironment(Environment([
            "AWS_REGION": "eu-west-1", "AWS_ACCESS_KEY_ID": "AKID", "AWS_SECRET_ACCESS_KEY": "secret",
            "AWS_SESSION_TOKEN": "token", "AWS_ENDPOINT_URL": "http://127.0.0.1:\(server.port)",
        ]))
        return (AWSClient(config: config, retryPolicy: retry), server)
    }

    static func json(_ status: Int, _ body: String) -> HTTPResponse {
        HTTPResponse(status: status, headers: HTTPHeaders([("x-amzn-RequestId", "req-\(status)")]), body: Array(body.utf8))
    }

    @Test func retriesServerErrorsThenSucceeds() throws {
        let script = Script([Self.json(503, ""), Self.json(500, #"{"__type":"InternalServerError"}"#),
                             Self.json(200, #"{"Item":{"pk":{"S":"x"}}}"#)])
        let (aws, server) = try client(script)
        defer { server.stop() }
        let item = try DynamoDBClient(aws: aws).getItem(table: "t", key: ["pk": .s("x")])
        #expect(item == ["pk": .s("x")])
        #expect(script.count == 3)
    }

    @Test func throttlingIsRetriedAtMostThreeTimes() throws {
        let script = Script([Self.json(400, #"{"__type":"com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException","message":"slow down"}"#)])
        let (aws, server) = try client(script)
        defer { server.stop() }
        #expect(throws: AWSError.service(ServiceError(
            service: .dynamodb, operation: "GetItem", status: 400, code: "ProvisionedThroughputExceededException",
            message: "slow down", requestId: "req-400"))) {
            try DynamoDBClient(aws: aws).getItem(table: "t", key: ["pk": .s("x")])
        }
        #expect(script.count == 3)
    }

    @Test func validationErrorsAreNeverRetried() throws {
        let script = Script([Self.json(400, #"{"__type":"com.amazon.coral.validate#ValidationException","message":"bad key"}"#)])
        let (aws, server) = try client(script)
        defer { server.stop() }
        do {
            _ = try DynamoDBClient(aws: aws).getItem(table: "t", key: [:])
            Issue.record("expected ValidationException")
        } catch let AWSError.service(error) {
            #expect(error == ServiceError(service: .dynamodb, operation: "GetItem", status: 400,
                                          code: "ValidationException", message: "bad key", requestId: "req-400"))
        }
        #expect(script.count == 1)
    }

    @Test func connectionFailuresAreRetriedThenReported() throws {
        let port = 1  // nothing listens on loopback port 1
        let config = AWSConfig(region: "us-east-1", credentials: Credentials(accessKeyId: "a", secretAccessKey: "b"),
                               endpoints: [.sqs: Endpoint("http://127.0.0.1:\(port)", isOverride: true)!])
        let sqs = SQSClient(aws: AWSClient(config: config, retryPolicy: RetryPolicy(baseDelay: 0.01)))
        do {
            try sqs.sendMessage(queueURL: "http://x/1/q", body: "b")
            Issue.record("expected a transport error")
        } catch let error as AWSError {
            guard case let .transport(service, operation, .couldNotConnect(url, _)) = error else {
                Issue.record("unexpected \(error)")
                return
            }
            #expect(service == .sqs && operation == "SendMessage" && url.contains("127.0.0.1:\(port)"))
        }
    }

    @Test func signsForwardsTraceIdAndSessionToken() throws {
        let script = Script([Self.json(200, #"{"MessageId":"m-1"}"#)])
        let (aws, server) = try client(script)
        defer { server.stop() }
        let scoped = aws.scoped(CallScope(traceId: "Root=1-00000000-000000000000000000000001;Sampled=0"))
        #expect(try SQSClient(aws: scoped).sendMessage(queueURL: "q", body: "hello") == "m-1")
        let request = try #require(script.requests.first)
        #expect(request.headers["x-amzn-trace-id"] == "Root=1-00000000-000000000000000000000001;Sampled=0")
        #expect(request.headers["x-amz-security-token"] == "token")
        #expect(request.headers["x-amz-target"] == "AmazonSQS.SendMessage")
        let authorization = try #require(request.headers["authorization"])
        #expect(authorization.contains("/eu-west-1/sqs/aws4_request"))
        #expect(authorization.contains("SignedHeaders=content-type;host;x-amz-date;x-amz-security-token;x-amz-target,"))
    }

    @Test func undecodableSuccessIsInvalidResponse() throws {
        let script = Script([Self.json(200, "not json")])
        let (aws, server) = try client(script)
        defer { server.stop() }
        do {
            try SQSClient(aws: aws).sendMessage(queueURL: "q", body: "x")
            Issue.record("expected AWS.InvalidResponse")
        } catch let AWSError.invalidResponse(service, operation, _) {
            #expect(service == .sqs && operation == "SendMessage")
        }
        #expect(script.count == 1)
    }
}

struct ServiceErrorDecodingTests {
    @Test func xmlAuthErrorOfAJSONService() {
        // What the emulator (and AWS's auth layer) answers even for JSON services.
        let body = #"<?xml version="1.0" encoding="utf-8"?><ErrorResponse><Errors><Error><Code>SignatureDoesNotMatch</Code><Message>The request signature we calculated does not match &amp; more</Message><Type>Sender</Type></Error></Errors></ErrorResponse>"#
        let error = ServiceError.decode(HTTPResponse(status: 403, body: Array(body.utf8)), service: .dynamodb, operation: "PutItem")
        #expect(error.code == "SignatureDoesNotMatch")
        #expect(error.message == "The request signature we calculated does not match & more")
    }

    @Test func s3XmlError() {
        let body = "<Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message><RequestId>4442587FB7D0A2F9</RequestId></Error>"
        let error = ServiceError.decode(HTTPResponse(status: 404, body: Array(body.utf8)), service: .s3, operation: "GetObject")
        #expect(error.code == "NoSuchKey")
        #expect(error.requestId == "4442587FB7D0A2F9")
    }

    @Test func emptyBodyFallsBackToStatus() {
        let error = ServiceError.decode(HTTPResponse(status: 404), service: .s3, operation: "HeadObject")
        #expect(error.code == "HTTP404")
        #expect(error.description.contains("HeadObject"))
    }
}

struct AWSConfigTests {
    let base = ["AWS_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "a", "AWS_SECRET_ACCESS_KEY": "b"]

    @Test(arguments: ["AWS_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"])
    func missingVariableIsNamed(_ variable: String) {
        var values = base
        values[variable] = nil
        #expect(throws: ConfigurationError(variable: variable, problem: "is not set")) {
            try AWSConfig.fromEnvironment(Environment(values))
        }
    }

    @Test func perServiceEndpointWinsOverTheGlobalOne() throws {
        var values = base
        values["AWS_ENDPOINT_URL"] = "http://127.0.0.1:4566"
        values["AWS_ENDPOINT_URL_S3"] = "https://s3.local:9000/base/"
        let config = try AWSConfig.fromEnvironment(Environment(values))
        #expect(config.endpoint(for: .s3) == Endpoint("https://s3.local:9000/base", isOverride: true))
        #expect(config.endpoint(for: .s3).basePath == "/base")
        #expect(config.endpoint(for: .sqs).host == "127.0.0.1:4566")
        let plain = try AWSConfig.fromEnvironment(Environment(base))
        #expect(plain.endpoint(for: .dynamodb).host == "dynamodb.us-east-1.amazonaws.com")
        #expect(!plain.endpoint(for: .dynamodb).isOverride)
    }

    @Test(arguments: ["localhost:4566", "ftp://x", "http://", "http://user@host"])
    func malformedEndpointIsNamed(_ url: String) {
        var values = base
        values["AWS_ENDPOINT_URL_SQS"] = url
        #expect(throws: ConfigurationError.self) { try AWSConfig.fromEnvironment(Environment(values)) }
        do { _ = try AWSConfig.fromEnvironment(Environment(values)) } catch {
            #expect("\(error)".contains("AWS_ENDPOINT_URL_SQS"))
        }
    }
}
