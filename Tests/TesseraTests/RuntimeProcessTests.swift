import Foundation
import Glibc
import Testing
import TesseraAWS
import TesseraLocal
import TesseraSupport

/// Function binaries as Lambda runs them, on the edges of the Runtime API contract: signals, proxies,
/// a closed log pipe, error posts, and an AWS endpoint that never answers.
struct RuntimeProcessTests {
    /// The variables a piece-storage process needs to start; AWS calls go to `endpoint`.
    static func pieceStorageEnvironment(api: LocalRuntimeAPI, endpoint: String = "http://127.0.0.1:1") -> [String: String] {
        ["AWS_LAMBDA_RUNTIME_API": api.endpoint, "PIECES_TABLE": "pieces",
         "REASSEMBLY_QUEUE_URL": "http://127.0.0.1:1/123456789012/reassembly", "AWS_REGION": "us-east-1",
         "AWS_ACCESS_KEY_ID": "AKID", "AWS_SECRET_ACCESS_KEY": "secret", "AWS_ENDPOINT_URL": endpoint,
         "AWS_LAMBDA_LOG_FORMAT": "JSON"]
    }

    static let validPiece = Array(#"{"thing":"cam-1","machine_id":"cam-1","label":"photo","count":1,"data":"/9j/4AAQ"}"#.utf8)

    /// When each event went out to the function (monotonic nanoseconds), as the Runtime API saw it.
    static func handOutTimes(_ api: LocalRuntimeAPI) -> Box<[UInt64]> {
        let times = Box<[UInt64]>([])
        api.onHandedOut { _ in
            let now = monotonicNanoseconds()
            times.with { $0.append(now) }
        }
        return times
    }

    /// Milliseconds from the first hand-out to `end`; -1 when either is missing.
    static func milliseconds(from handedOut: Box<[UInt64]>, to end: UInt64?) -> Int {
        guard let start = handedOut.current.first, let end, end >= start else { return -1 }
        return Int((end - start) / 1_000_000)
    }

    /// Waits until the function is blocked on its first `/next`.
    func waitForPoll(_ api: LocalRuntimeAPI) {
        for _ in 0..<500 where api.timeline.firstNext == nil { usleep(10_000) }
    }

    @Test func sigtermJustAfterAnEventIsHandedOutStillServesIt() throws {
        for round in 0..<10 {
            let api = try LocalRuntimeAPI()
            defer { api.stop() }
            let function = try FunctionProcess.start("noop-function", environment: ["AWS_LAMBDA_RUNTIME_API": api.endpoint])
            defer { function.terminate() }
            waitForPoll(api)
            // The signal lands while the event is on its way: in the socket, or being parsed.
            api.onHandedOut { _ in kill(function.pid, SIGTERM) }
            let id = api.enqueue(Array("{}".utf8))
            #expect(api.wait(for: id, timeout: 10) == .response(Array("{}".utf8)),
                    "round \(round): the handed-out invocation was lost\n\(function.log)")
            #expect(function.waitForExit(timeout: 10)?.status == 0, "round \(round)\n\(function.log)")
        }
    }

    /// No event is ever queued: only the signal can end the function. One that waited for an event, or for
    /// its poll of `/next` to end, would still be running after the 10 s (a process exits in milliseconds).
    @Test func sigtermWhileIdleEndsAtOnce() throws {
        let api = try LocalRuntimeAPI()
        defer { api.stop() }
        let function = try FunctionProcess.start("noop-function", environment: ["AWS_LAMBDA_RUNTIME_API": api.endpoint])
        defer { function.terminate() }
        waitForPoll(api)
        #expect(api.timeline.firstNext != nil, "the function never polled /next\n\(function.log)")
        kill(function.pid, SIGTERM)
        #expect(function.waitForExit(timeout: 10)?.status == 0, "still running 10 s after SIGTERM while idle\n\(function.log)")
        #expect(function.log.contains("SIGTERM: runtime stopping"), "\(function.log)")
        #expect(api.timeline.firstOutcome == nil)
    }

    @Test func proxyVariablesDoNotApplyToTheRuntimeAPI() throws {
        let api = try LocalRuntimeAPI()
        defer { api.stop() }
        var environment = ["AWS_LAMBDA_RUNTIME_API": api.endpoint]
        for name in ["http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"] {
            environment[name] = "http://127.0.0.1:1"  // nothing listens there
        }
        let function = try FunctionProcess.start("noop-function", environment: environment)
        defer { function.terminate() }
        #expect(api.invoke(Array("{}".utf8), timeout: 10) == .response(Array("{}".utf8)), "\(function.log)")
    }

    @Test func errorPostsUseLambdasErrorMediaType() throws {
        let api = try LocalRuntimeAPI()
        defer { api.stop() }
        let function = try FunctionProcess.start("piece-storage", environment: Self.pieceStorageEnvironment(api: api))
        defer { function.terminate() }
        let id = api.enqueue(Array("not json".utf8))
        guard case let .error(type, _, header)? = api.wait(for: id, timeout: 10) else {
            Issue.record("expected an error post\n\(function.log)")
            return
        }
        #expect(type == "Tessera.InvalidEvent" && header == "Tessera.InvalidEvent")
        #expect(api.contentType(of: id) == "application/vnd.aws.lambda.error+json")
    }

    @Test func aClosedLogPipeDoesNotKillTheFunction() throws {
        let api = try LocalRuntimeAPI()
        defer { api.stop() }
        let process = Process()
        process.executableURL = FunctionProcess.binDirectory.appendingPathComponent("piece-storage")
        process.environment = Self.pieceStorageEnvironment(api: api)
        let pipe = Pipe()
        process.standardError = pipe
        process.standardOutput = pipe
        try process.run()
        // Nobody reads the log any more: every write now fails with EPIPE (SIGPIPE unless ignored).
        try pipe.fileHandleForReading.close()
        defer { if process.isRunning { process.terminate() }; process.waitUntilExit() }
        for _ in 0..<3 {
            guard case let .error(type, _, _)? = api.invoke(Array("[]".utf8), timeout: 10) else {
                Issue.record("no error post: the function died writing its log (status \(process.isRunning ? -1 : process.terminationStatus))")
                return
            }
            #expect(type == "Tessera.InvalidEvent")
        }
        #expect(process.isRunning)
    }

    @Test func aHangingAWSEndpointIsReportedBeforeTheDeadline() throws {
        let hanging = try HangingListener()
        defer { hanging.close() }
        let timeoutMs = 3_000
        let api = try LocalRuntimeAPI(invocationTimeoutMs: timeoutMs)
        defer { api.stop() }
        let function = try FunctionProcess.start(
            "piece-storage", environment: Self.pieceStorageEnvironment(api: api, endpoint: "http://127.0.0.1:\(hanging.port)"))
        defer { function.terminate() }
        waitForPoll(api)
        let handedOut = Self.handOutTimes(api)
        let outcome = api.invoke(Self.validPiece, timeout: 10)
        guard case let .error(type, message, _)? = outcome else {
            Issue.record("expected an error post, got \(String(describing: outcome))\n\(function.log)")
            return
        }
        #expect(type == "AWS.DeadlineExceeded")
        // The one attempt had the time left before the deadline less the 500 ms margin (2.5 s), and timed out.
        let prefix = "dynamodb GetItem gave up before the invocation's deadline after 1 attempt(s); last error: dynamodb GetItem: "
            + "request to http://127.0.0.1:\(hanging.port)/ timed out after "
        #expect(message.hasPrefix(prefix) && message.hasSuffix(" ms"), "\(message)")
        let attemptMs = Int(message.dropFirst(prefix.count).dropLast(" ms".count)) ?? -1
        #expect(attemptMs > 1_500 && attemptMs <= timeoutMs - 500, "the attempt's timeout was \(attemptMs) ms: \(message)")
        // From the event's hand-out to the error post, as the Runtime API saw them: after the usable time
        // (a timeout never fires early) and before the deadline: the 500 ms margin is the function's own.
        let elapsed = Self.milliseconds(from: handedOut, to: api.timeline.firstOutcome)
        #expect(elapsed < timeoutMs, "the error came \(elapsed) ms after the hand-out, past the \(timeoutMs) ms deadline")
        #expect(elapsed > timeoutMs - 1_000, "it gave up after \(elapsed) ms, long before it had to")
        #expect(function.isRunning)
    }

    @Test func aSendThatHangsPastTheDeadlineGivesItsClaimBack() throws {
        let hanging = try HangingListener()
        defer { hanging.close() }
        let db = DynamoDBClient(aws: try Emulator.client())
        let table = Emulator.uniqueName("pieces")
        try db.createTable(.init(name: table, partitionKey: ("pictureId", "S"), sortKey: ("piece", "N")))
        let api = try LocalRuntimeAPI(invocationTimeoutMs: 3_000)
        defer { api.stop() }
        var environment = Emulator.variables
        environment.merge(["AWS_LAMBDA_RUNTIME_API": api.endpoint, "PIECES_TABLE": table,
                           "REASSEMBLY_QUEUE_URL": "http://127.0.0.1:\(hanging.port)/123456789012/q",
                           "AWS_ENDPOINT_URL_SQS": "http://127.0.0.1:\(hanging.port)"]) { _, new in new }
        let function = try FunctionProcess.start("piece-storage", environment: environment)
        defer { function.terminate() }
        waitForPoll(api)
        let handedOut = Self.handOutTimes(api)
        let end = #"{"thing":"cam-1","machine_id":"cam-1","label":"photo","count":3,"data":"END"}"#
        guard case let .error(type, message, _)? = api.invoke(Array(end.utf8), timeout: 10) else {
            Issue.record("expected an error post\n\(function.log)")
            return
        }
        let elapsed = Self.milliseconds(from: handedOut, to: api.timeline.firstOutcome)
        #expect(elapsed < 3_000, "the error came \(elapsed) ms after the hand-out, past the 3000 ms deadline")
        #expect(type == "AWS.DeadlineExceeded" && message.contains("sqs SendMessage"), "\(message)")
        let record = try #require(try db.getItem(table: table, key: ["pictureId": .s("cam-1/photo"), "piece": .number(0)],
                                                 consistentRead: true))
        #expect(record["claimToken"] == nil && record["claimedUntil"] == nil,
                "the claim must be given back so the retry can send at once: \(record)")
    }
}

/// A TCP port that accepts connections (the kernel completes them) and never answers a byte.
final class HangingListener {
    let fd: Int32
    let port: UInt16

    init() throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
        }
        guard bound == 0, listen(fd, 16) == 0 else { throw ServerError.socket("hanging listener: \(errno)") }
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        self.fd = fd
        port = UInt16(bigEndian: address.sin_port)
    }

    func close() { Glibc.close(fd) }
}
