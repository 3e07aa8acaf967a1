import Foundation
import Testing
@testable import TesseraAWS
import TesseraHTTP
import TesseraLocal
import TesseraSupport

/// Retries, the retry quota and the invocation's deadline, against scripted servers on loopback.
struct AWSDeadlineTests {
    typealias Script = AWSClientTests.Script
    let tests = AWSClientTests()

    func elapsedMs(since start: Int) -> Int { UTCTime.nowMilliseconds() - start }

    @Test func aPassedDeadlineMakesNoAttempt() throws {
        let script = Script([AWSClientTests.json(200, "{}")])
        let (aws, server) = try tests.client(script)
        defer { server.stop() }
        let late = aws.scoped(CallScope(deadlineMilliseconds: UTCTime.nowMilliseconds() + 100))
        #expect(throws: AWSError.deadlineExceeded(service: .sqs, operation: "SendMessage", attempts: 0, lastError: nil)) {
            try SQSClient(aws: late).sendMessage(queueURL: "q", body: "b")
        }
        #expect(script.count == 0)
    }

    @Test func aRetryWhoseBackoffEndsPastTheDeadlineIsNotMade() throws {
        let script = Script([AWSClientTests.json(503, "")])
        // Without jitter the first backoff is the whole base delay: 20 s, past a deadline 10 s away.
        let (aws, server) = try tests.client(script, retry: RetryPolicy(baseDelay: 20, jitter: false))
        defer { server.stop() }
        let start = UTCTime.nowMilliseconds()
        let scoped = aws.scoped(CallScope(deadlineMilliseconds: start + 10_000))
        do {
            _ = try DynamoDBClient(aws: scoped).getItem(table: "t", key: ["pk": .s("x")])
            Issue.record("expected AWS.DeadlineExceeded")
        } catch let error as AWSError {
            guard case let .deadlineExceeded(service, operation, attempts, last?) = error else {
                Issue.record("unexpected \(error)")
                return
            }
            #expect(service == .dynamodb && operation == "GetItem" && attempts == 1)
            #expect(last.code == "HTTP503")
            #expect(error.errorType == "AWS.DeadlineExceeded")
            #expect(error.description.contains("dynamodb GetItem gave up before the invocation's deadline"))
        }
        #expect(script.count == 1)
        // One loopback exchange, however loaded the machine; sleeping (20 s) or waiting for the deadline (9.5 s
        // usable) would take longer.
        let elapsed = elapsedMs(since: start)
        #expect(elapsed < 5_000, "it must fail at once instead of sleeping towards the deadline; it took \(elapsed) ms")
    }

    @Test func aRetryThatFitsIsMade() throws {
        let script = Script([AWSClientTests.json(503, ""), AWSClientTests.json(200, #"{"MessageId":"m"}"#)])
        let (aws, server) = try tests.client(script, retry: RetryPolicy(baseDelay: 0.1, jitter: false))
        defer { server.stop() }
        let scoped = aws.scoped(CallScope(deadlineMilliseconds: UTCTime.nowMilliseconds() + 30_000))
        #expect(try SQSClient(aws: scoped).sendMessage(queueURL: "q", body: "b") == "m")
        #expect(script.count == 2)
    }

    @Test func anAttemptIsCutToTheTimeLeft() throws {
        // The server answers after 15 s; the client's own timeout is 30 s; the deadline is 6 s away, of which
        // a 3 s margin is kept back: the attempt gets 3 s.
        let server = try HTTPServer { _ in
            Thread.sleep(forTimeInterval: 15)
            return AWSClientTests.json(200, "{}")
        }
        defer { server.stop() }
        let config = AWSConfig(region: "us-east-1", credentials: Credentials(accessKeyId: "a", secretAccessKey: "b"),
                               endpoints: [.sqs: Endpoint("http://127.0.0.1:\(server.port)", isOverride: true)!])
        let start = UTCTime.nowMilliseconds()
        let aws = AWSClient(config: config).scoped(CallScope(deadlineMilliseconds: start + 6_000, marginMilliseconds: 3_000))
        do {
            try SQSClient(aws: aws).sendMessage(queueURL: "q", body: "b")
            Issue.record("expected AWS.DeadlineExceeded")
        } catch let AWSError.deadlineExceeded(_, operation, attempts, last?) {
            #expect(operation == "SendMessage" && attempts == 1)
            guard case let .transport(_, _, .timedOut(_, afterMs)) = last else {
                Issue.record("expected a timeout as the last error, got \(last)")
                return
            }
            // The attempt's timeout was the usable time left when it started: at most 3 s.
            #expect(afterMs <= 3_000 && afterMs > 0, "the attempt's timeout was \(afterMs) ms")
        }
        // A timeout never fires early: not before the usable 3 s. The 3 s margin is for reporting the failure
        // before the deadline; the give-up itself comes well within it, however loaded the machine.
        let elapsed = elapsedMs(since: start)
        #expect(elapsed >= 2_990 && elapsed < 5_000, "gave up after \(elapsed) ms; the usable time was 3000 ms, the deadline 6000 ms")
    }

    @Test func theRetryQuotaRunsOut() throws {
        let script = Script([AWSClientTests.json(503, "")])
        let (aws, server) = try tests.client(script, retry: RetryPolicy(baseDelay: 0, jitter: false))
        defer { server.stop() }
        let sqs = SQSClient(aws: aws)
        // 500 tokens, 5 a retry, 2 retries a call: 50 calls empty the quota.
        for _ in 0..<50 { _ = try? sqs.sendMessage(queueURL: "q", body: "b") }
        #expect(script.count == 150)
        #expect(throws: AWSError.service(ServiceError(service: .sqs, operation: "SendMessage", status: 503,
                                                      code: "HTTP503", message: "no error document",
                                                      requestId: "req-503"))) {
            try sqs.sendMessage(queueURL: "q", body: "b")
        }
        #expect(script.count == 151, "with the quota empty a failure is not retried")
    }

    @Test func successesRefillTheQuota() {
        let quota = RetryQuota()
        let timeout = AWSError.transport(service: .s3, operation: "GetObject",
                                         .timedOut(url: "http://x", afterMs: 1))
        #expect(quota.acquire(after: timeout) == 10)
        #expect(quota.available == 490)
        quota.release(nil)
        #expect(quota.available == 491)
        quota.release(10)
        #expect(quota.available == 500)
    }

    @Test func unprocessedItemsAreSentAgainUntilNoneRemain() throws {
        let left = #"{"UnprocessedItems":{"t":[{"PutRequest":{"Item":{"pk":{"S":"b"}}}},{"DeleteRequest":{"Key":{"pk":{"S":"c"}}}}]}}"#
        let script = Script([AWSClientTests.json(200, left), AWSClientTests.json(200, #"{"UnprocessedItems":{}}"#)])
        let (aws, server) = try tests.client(script, retry: RetryPolicy(baseDelay: 0, jitter: false))
        defer { server.stop() }
        try DynamoDBClient(aws: aws).batchWrite(table: "t", requests: [
            .put(["pk": .s("a")]), .put(["pk": .s("b")]), .delete(key: ["pk": .s("c")]),
        ])
        #expect(script.count == 2)
        struct Body: Decodable { let RequestItems: [String: [DynamoDBClient.WriteRequest]] }
        let second = try JSONDecoder().decode(Body.self, from: Data(script.requests[1].body))
        #expect(second.RequestItems["t"] == [.put(["pk": .s("b")]), .delete(key: ["pk": .s("c")])])
    }

    @Test func unprocessedItemsThatNeverGoThroughAreNamed() throws {
        let left = #"{"UnprocessedItems":{"t":[{"PutRequest":{"Item":{"pk":{"S":"a"}}}}]}}"#
        let script = Script([AWSClientTests.json(200, left)])
        let (aws, server) = try tests.client(script, retry: RetryPolicy(baseDelay: 0, jitter: false))
        defer { server.stop() }
        do {
            try DynamoDBClient(aws: aws).batchWrite(table: "t", requests: [.put(["pk": .s("a")])], maxRounds: 4)
            Issue.record("expected UnprocessedItems")
        } catch let AWSError.service(error) {
            #expect(error.code == "UnprocessedItems")
            #expect(error.message == "1 writes to t stayed unprocessed after 4 rounds")
        }
        #expect(script.count == 4)
    }

    @Test func batchRoundsStopAtTheDeadline() throws {
        let left = #"{"UnprocessedItems":{"t":[{"PutRequest":{"Item":{"pk":{"S":"a"}}}}]}}"#
        let script = Script([AWSClientTests.json(200, left)])
        // The wait before the second round (30 s) ends past a deadline 10 s away.
        let (aws, server) = try tests.client(script, retry: RetryPolicy(baseDelay: 30, jitter: false))
        defer { server.stop() }
        let start = UTCTime.nowMilliseconds()
        let scoped = aws.scoped(CallScope(deadlineMilliseconds: start + 10_000))
        #expect(throws: AWSError.deadlineExceeded(service: .dynamodb, operation: "BatchWriteItem", attempts: 1,
                                                  lastError: nil)) {
            try DynamoDBClient(aws: scoped).batchWrite(table: "t", requests: [.put(["pk": .s("a")])])
        }
        #expect(script.count == 1)
        let elapsed = elapsedMs(since: start)
        #expect(elapsed < 5_000, "it must stop at once instead of waiting towards the deadline; it took \(elapsed) ms")
    }
}
