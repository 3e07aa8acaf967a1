import Foundation
import Testing
@testable import TesseraHTTP
import TesseraLocal
import TesseraRuntime

/// The Runtime API's headers read as bytes in libcurl's header callback (HeaderSelection), including
/// answers no real Runtime API sends: truncated lines, empty values, duplicates, absurd deadlines.
struct RuntimeHeaderTests {
    /// An HTTP server whose answer to every request carries `headers` as given. A value may hold "\r\n"
    /// to put raw lines (a field without a colon) into the head.
    func server(_ headers: [(String, String)], body: String = "{}") throws -> HTTPServer {
        try HTTPServer { _ in HTTPResponse(status: 200, headers: HTTPHeaders(headers), body: Array(body.utf8)) }
    }

    /// Servers are kept until the test ends: HTTPServer.stop closes its listener while its accept thread
    /// may still be on the way back to accept(2), which could then take the descriptor number a new
    /// server just got and answer with the old server's headers.
    final class Servers: @unchecked Sendable {
        var all: [HTTPServer] = []
        deinit { all.forEach { $0.stop() } }
    }

    func next(keeping servers: Servers, _ headers: [(String, String)]) throws -> RuntimeClient.Invocation {
        let api = try server(headers)
        servers.all.append(api)
        return try RuntimeClient(endpoint: "127.0.0.1:\(api.port)").next()
    }

    @Test func decimalsReadAsIntReadsThem() {
        for text in ["0", "7", "+7", "-7", "1732190000000", "9223372036854775807", "-9223372036854775808", "007"] {
            #expect(SelectedHeaders.decimal(Array(text.utf8)) == Int(text), "\(text)")
        }
        for text in ["", "-", "+", " 5", "5 ", "1e3", "12a", "0x10", "9223372036854775808", "-9223372036854775809",
                     "99999999999999999999999999", "١٢"] {
            #expect(SelectedHeaders.decimal(Array(text.utf8)) == nil, "\(text)")
            #expect(Int(text) == nil, "\(text)")
        }
    }

    @Test func aSelectionKeepsOnlyItsFieldsAsBytes() throws {
        let api = try server([("Lambda-Runtime-Aws-Request-Id", "  id-1 \t"), ("X-Other", "ignored"),
                              ("lambda-runtime-deadline-ms", "123"), ("Lambda-Runtime-Trace-Id", ""),
                              ("LAMBDA-RUNTIME-AWS-REQUEST-ID", "id-2")], body: "event body")
        defer { api.stop() }
        let selection = HeaderSelection(["Lambda-Runtime-Aws-Request-Id", "Lambda-Runtime-Deadline-Ms",
                                         "Lambda-Runtime-Trace-Id", "Lambda-Runtime-Invoked-Function-Arn"])
        let response = try HTTPClient().send(HTTPRequest(method: "GET", url: "http://127.0.0.1:\(api.port)/",
                                                         headerSelection: selection))
        #expect(response.body == Array("event body".utf8))  // Content-Length is still read
        #expect(response.headers.fields.isEmpty)
        let selected = try #require(response.selectedHeaders)
        #expect(selected.string(0) == "id-1")  // trimmed; the duplicate in other case is not taken
        #expect(selected.integer(1) == 123)
        #expect(selected.string(2) == "")  // sent empty: present and empty
        #expect(selected.string(3) == nil)  // not sent
    }

    @Test func withoutASelectionEveryFieldIsKeptAsBefore() throws {
        let api = try server([("X-One", " a b "), ("X-One", "second"), ("X-Empty", "")])
        defer { api.stop() }
        let response = try HTTPClient().send(HTTPRequest(method: "GET", url: "http://127.0.0.1:\(api.port)/"))
        #expect(response.selectedHeaders == nil)
        #expect(response.headers["x-one"] == "a b")
        #expect(response.headers.values("X-One") == ["a b", "second"])
        #expect(response.headers["x-empty"] == "")
    }

    @Test func theContextComesFromTheFourHeaders() throws {
        let servers = Servers()
        let invocation = try next(keeping: servers, [("Lambda-Runtime-Aws-Request-Id", "8476a536-e9f4-11e8-9739-2dfe598c3fcd"),
                                   ("Lambda-Runtime-Deadline-Ms", "1542409706888"),
                                   ("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:us-east-2:123456789012:function:f"),
                                   ("Lambda-Runtime-Trace-Id", "Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700;Sampled=1"),
                                   ("Lambda-Runtime-Client-Context", #"{"client":{}}"#)])
        #expect(invocation.context.requestId == "8476a536-e9f4-11e8-9739-2dfe598c3fcd")
        #expect(invocation.context.deadlineMilliseconds == 1_542_409_706_888)
        #expect(invocation.context.invokedFunctionARN == "arn:aws:lambda:us-east-2:123456789012:function:f")
        #expect(invocation.context.traceId == "Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700;Sampled=1")
        #expect(invocation.context.clientContext == #"{"client":{}}"#)
        #expect(invocation.context.cognitoIdentity == nil)
        #expect(invocation.event == Array("{}".utf8))
    }

    @Test func aRequestIdWithNoValueIsAMalformedInvocation() throws {
        let servers = Servers()
        for headers in [[("Lambda-Runtime-Aws-Request-Id", "")], [("Lambda-Runtime-Aws-Request-Id", "   ")],
                        [("Lambda-Runtime-Aws-Request-Id ", "padded name")], [("Lambda-Runtime-Deadline-Ms", "5")]] {
            do {
                _ = try next(keeping: servers, headers)
                Issue.record("\(headers) was accepted")
            } catch let RuntimeClient.Failure.malformedInvocation(reason) {
                #expect(reason == "no Lambda-Runtime-Aws-Request-Id header")
            }
        }
    }

    /// A head line cut before its colon is libcurl's to refuse ("Header without colon"): the answer never
    /// reaches the header callback, and the runtime treats the API as broken, as for any unreadable answer.
    @Test func aHeaderLineCutBeforeItsColonIsAnUnreadableAnswer() throws {
        let servers = Servers()
        do {
            _ = try next(keeping: servers, [("Lambda-Runtime-Aws-Request-Id", "r\r\nLambda-Runtime-Deadline-Ms")])
            Issue.record("a head with a colon-less line was accepted")
        } catch let RuntimeClient.Failure.runtimeAPIUnavailable(reason) {
            #expect(reason.contains("without colon"), "\(reason)")
        }
    }

    @Test func truncatedDuplicatedAndAbsurdHeadersDoNotBreakTheContext() throws {
        let servers = Servers()
        let invocation = try next(keeping: servers, [
            ("Lambda-Runtime-Aws-Request-Id", "first"),
            // A field whose name runs into its value without a colon after the name: the name read is
            // everything before the first colon, which is none of the four.
            ("X-Filler", "x\r\nLambda-Runtime-Invoked-Function-Arn arn:aws:lambda:no-colon"),
            ("Lambda-Runtime-Aws-Request-Id", "second"),
            ("Lambda-Runtime-Deadline-Ms", "99999999999999999999999999999"),
            ("Lambda-Runtime-Trace-Id", ""),
        ])
        #expect(invocation.context.requestId == "first")
        #expect(invocation.context.deadlineMilliseconds == 0)  // beyond Int: no deadline known
        #expect(invocation.context.invokedFunctionARN == "")
        #expect(invocation.context.traceId == nil)
        for (deadline, expected) in [("-5", 0), ("12ms", 0), ("", 0), ("+42", 42)] {
            let context = try next(keeping: servers, [("Lambda-Runtime-Aws-Request-Id", "r"), ("Lambda-Runtime-Deadline-Ms", deadline)]).context
            #expect(context.deadlineMilliseconds == expected, "\(deadline)")
        }
    }
}
