import Foundation
import Testing
@testable import TesseraRuntime
import TesseraHTTP
import TesseraSupport
import TesseraLocal

/// The invocation loop in this process against the local Runtime API over loopback HTTP.
struct RuntimeLoopTests {
    struct Boom: LambdaReportableError {
        let errorType = "Test.Boom"
        var description: String { "the handler failed on purpose" }
    }

    /// Runs the loop on a thread; returns a function that waits for its exit.
    func start(endpoint: String, _ handler: some LambdaHandler & Sendable) -> @Sendable () -> RuntimeLoop.Exit? {
        let done = DispatchSemaphore(value: 0)
        let box = ExitBox()
        Thread.detachNewThread {
            let loop = RuntimeLoop(client: RuntimeClient(endpoint: endpoint), logger: LambdaLogger(minimumLevel: .fatal))
            box.set(loop.run(handler))
            done.signal()
        }
        return {
            guard done.wait(timeout: .now() + 10) == .success else { return nil }
            return box.get()
        }
    }

    @Test func servesResponsesErrorsAndOversizedResponsesThenStopsOn500() throws {
        let api = try LocalRuntimeAPI(maxResponseBytes: 1_000)
        defer { api.stop() }
        let handler = ClosureHandler { event, context in
            let text = String(decoding: event, as: UTF8.self)
            switch text {
            case "fail": throw Boom()
            case "big": return [UInt8](repeating: 65, count: 5_000)
            case "context":
                let trace = context.traceId ?? "none"
                return Array("\(context.requestId)|\(context.invokedFunctionARN)|\(trace)|\(context.remainingMilliseconds > 0)".utf8)
            default: return Array(text.reversed().map(\.asciiValue!))
            }
        }
        let waitExit = start(endpoint: api.endpoint, handler)

        #expect(api.invoke(Array("abc".utf8)) == .response(Array("cba".utf8)))
        #expect(api.invoke(Array("fail".utf8))
            == .error(type: "Test.Boom", message: "the handler failed on purpose", headerType: "Test.Boom"))
        let big = api.invoke(Array("big".utf8))
        guard case let .error(type, message, _) = big else {
            Issue.record("expected an error for the oversized response, got \(String(describing: big))")
            return
        }
        #expect(type == "Runtime.ResponseTooLarge")
        #expect(message.contains("5000 bytes"))

        let id = api.enqueue(Array("context".utf8), traceId: "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1")
        #expect(api.wait(for: id) == .response(Array(
            "\(id)|\(api.functionARN)|Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1|true".utf8)))
        // Without a trace header the previous invocation's trace must not leak.
        let second = api.enqueue(Array("context".utf8))
        #expect(api.wait(for: second).map { "\($0)".contains("|none|") } == true)

        #expect(api.invoke(Array("still alive".utf8)) == .response(Array("evila llits".utf8)))
        api.failNextPolls(with: [500])
        guard case let .runtimeAPIFailed(reason)? = waitExit() else {
            Issue.record("the loop did not end on a 500")
            return
        }
        #expect(reason.contains("500"))
    }

    @Test func unreachableRuntimeAPIEndsTheLoop() throws {
        // Port 1 on loopback: nothing listens there, and no other test's server can take it.
        let waitExit = start(endpoint: "127.0.0.1:1", ClosureHandler { event, _ in event })
        guard case .runtimeAPIFailed? = waitExit() else {
            Issue.record("the loop did not end when the Runtime API was unreachable")
            return
        }
    }

    @Test func invocationWithoutRequestIdEndsTheLoopInsteadOfSpinning() throws {
        let server = try HTTPServer { _ in HTTPResponse(status: 200, body: Array("{}".utf8)) }
        defer { server.stop() }
        let waitExit = start(endpoint: "127.0.0.1:\(server.port)", ClosureHandler { event, _ in event })
        guard case let .runtimeAPIFailed(reason)? = waitExit() else {
            Issue.record("the loop did not end on an invocation without a request id")
            return
        }
        #expect(reason.contains("Lambda-Runtime-Aws-Request-Id"))
    }
}

final class ExitBox: @unchecked Sendable {
    private let lock = NSLock()
    private var value: RuntimeLoop.Exit?
    func set(_ exit: RuntimeLoop.Exit) { lock.withLock { value = exit } }
    func get() -> RuntimeLoop.Exit? { lock.withLock { value } }
}

struct LoggerTests {
    @Test func jsonLinesCarryTimestampLevelRequestIdAndMessage() throws {
        let logger = LambdaLogger(format: .json, minimumLevel: .info, requestId: "req-1")
        let line = logger.render(.warn, "quote \" and\nnewline", timestamp: "2026-11-21T05:58:24.934Z")
        let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: String]
        #expect(object == ["timestamp": "2026-11-21T05:58:24.934Z", "level": "WARN", "requestId": "req-1",
                           "message": "quote \" and\nnewline"])
        #expect(!line.contains("\n"))
    }

    @Test func textLinesStayOneLine() {
        let line = LambdaLogger(format: .text).render(.error, "a\nb", timestamp: "T")
        #expect(line == "T\t-\tERROR\ta\\nb")
    }

    @Test func levelNames() {
        #expect(LogLevel(name: "debug") == .debug)
        #expect(LogLevel(name: "WARN") == .warn)
        #expect(LogLevel(name: "verbose") == nil)
        #expect(LogLevel.error > .info)
    }
}
