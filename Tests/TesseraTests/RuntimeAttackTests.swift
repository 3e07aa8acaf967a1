import Foundation
import Glibc
import Synchronization
import Testing
import TesseraAWS
import TesseraEvents
@testable import TesseraHTTP
@testable import TesseraLocal
@testable import TesseraRuntime
import TesseraSupport

// Hostile input against the Foundation-free JSON coder, strict base64, the byte-wise Runtime API
// headers, the byte-wise logger and HTTPServer's stop. Each test states the expected behaviour; a
// failing expectation is a finding (see the report).

// MARK: - Helpers

private func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

private func parseError(_ input: [UInt8]) -> String? {
    do {
        _ = try StrictJSON.parse(input)
        return nil
    } catch {
        return error.description
    }
}

private func seconds(_ body: () throws -> Void) rethrows -> Double {
    let start = monotonicNanoseconds()
    try body()
    return Double(monotonicNanoseconds() - start) / 1e9
}

/// How the cost of `parse` grows from `small` to `large`: large / small, each the fastest of three
/// alternating runs (a burst of load slows one run, not all three). Linear work grows by about the size
/// ratio, quadratic work by its square, whatever the build, the machine's speed or its load.
private func growth(_ small: [UInt8], _ large: [UInt8], _ parse: ([UInt8]) -> Void) -> (ratio: Double, small: Double, large: Double) {
    var best = (small: Double.infinity, large: Double.infinity)
    for _ in 0..<3 {
        best.small = min(best.small, seconds { parse(small) })
        best.large = min(best.large, seconds { parse(large) })
    }
    return (best.large / max(best.small, 1e-4), best.small, best.large)
}

/// A value shared with escaping closures (Mutex and Atomic cannot be captured by them).
final class Box<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value
    init(_ value: Value) { self.value = value }
    func with<R>(_ body: (inout Value) throws -> R) rethrows -> R {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }
    var current: Value { with { $0 } }
}

private func threadCount() -> Int {
    (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task").count) ?? -1
}

private func openDescriptorCount() -> Int {
    (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").count) ?? -1
}

/// A TCP server on 127.0.0.1 that answers with bytes written as given (interim responses, folded
/// fields, NULs, trailers): what no well-behaved server sends.
final class RawServer: @unchecked Sendable {
    let port: UInt16
    private let listener: Int32
    private let state = Mutex<(requests: [(head: String, body: [UInt8])], stopped: Bool)>(([], false))
    /// The reply to a request (its head); nil keeps the connection open without an answer.
    private let respond: @Sendable (_ head: String, _ index: Int) -> [UInt8]?

    init(respond: @escaping @Sendable (_ head: String, _ index: Int) -> [UInt8]?) throws {
        self.respond = respond
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        var yes: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(fd, 64) == 0 else { throw ServerError.socket("raw server") }
        var actual = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &actual) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        port = UInt16(bigEndian: actual.sin_port)
        listener = fd
        Thread.detachNewThread { [self] in acceptLoop() }
    }

    var endpoint: String { "127.0.0.1:\(port)" }
    var requests: [(head: String, body: [UInt8])] { state.withLock { $0.requests } }
    var posts: [String] {
        requests.compactMap { request in
            let line = request.head.split(separator: "\r\n").first.map(String.init) ?? ""
            return line.hasPrefix("POST ") ? line.split(separator: " ")[1].description : nil
        }
    }

    func stop() {
        state.withLock { $0.stopped = true }
        shutdown(listener, Int32(SHUT_RDWR))
    }

    private func acceptLoop() {
        while true {
            let connection = accept(listener, nil, nil)
            if connection < 0 {
                if errno == EINTR { continue }
                close(listener)
                return
            }
            Thread.detachNewThread { [self] in serve(connection) }
        }
    }

    private func serve(_ fd: Int32) {
        defer { close(fd) }
        var buffer: [UInt8] = []
        func readMore() -> Bool {
            var chunk = [UInt8](repeating: 0, count: 65_536)
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            guard n > 0 else { return false }
            buffer += chunk[0..<n]
            return true
        }
        while true {
            var headEnd: Int?
            while headEnd == nil {
                if buffer.count >= 4 {
                    for i in 0...(buffer.count - 4) where buffer[i] == 13 && buffer[i + 1] == 10 && buffer[i + 2] == 13 && buffer[i + 3] == 10 {
                        headEnd = i
                        break
                    }
                }
                if headEnd == nil, !readMore() { return }
            }
            let head = String(decoding: buffer[0..<headEnd!], as: UTF8.self)
            var length = 0
            for line in head.split(separator: "\r\n") where line.lowercased().hasPrefix("content-length:") {
                length = Int(line.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces)) ?? 0
            }
            let bodyStart = headEnd! + 4
            while buffer.count < bodyStart + length { guard readMore() else { return } }
            let body = Array(buffer[bodyStart..<(bodyStart + length)])
            buffer.removeFirst(bodyStart + length)
            let index = state.withLock { state -> Int in
                state.requests.append((head, body))
                return state.requests.count - 1
            }
            guard let reply = respond(head, index) else {
                while !state.withLock({ $0.stopped }) { usleep(10_000) }
                return
            }
            guard writeAll(fd, reply) else { return }
        }
    }
}

/// A Runtime API whose first `/next` is answered with `next` (raw bytes), later ones never; posts get 202.
private func runtimeAPI(next: [UInt8]) throws -> RawServer {
    let handedOut = Box(false)
    return try RawServer { head, _ in
        if head.hasPrefix("GET ") {
            return handedOut.with { done in defer { done = true }; return done ? nil : next }
        }
        return bytes("HTTP/1.1 202 Accepted\r\nContent-Length: 2\r\n\r\n{}")
    }
}

/// A `/next` answer with `fields` as given (raw lines, without CRLF) and `body`.
private func nextAnswer(_ fields: [String], body: String = "{}", status: String = "HTTP/1.1 200 OK") -> [UInt8] {
    bytes(status + "\r\n" + fields.map { $0 + "\r\n" }.joined() + "Content-Length: \(body.utf8.count)\r\n\r\n" + body)
}

private let echo = ClosureHandler { event, _ in event }

// MARK: - JSON

struct AttackJSONTests {
    func nested(_ depth: Int, open: String, close: String, closed: Bool = true) -> [UInt8] {
        bytes(String(repeating: open, count: depth) + "1" + (closed ? String(repeating: close, count: depth) : ""))
    }

    @Test func depthLimitHoldsForArraysObjectsAndHostileDepths() throws {
        for (open, close) in [("[", "]"), (#"{"a":"#, "}")] {
            #expect(parseError(nested(64, open: open, close: close)) == nil, "64 levels of \(open)")
            let over = try #require(parseError(nested(65, open: open, close: close)))
            #expect(over.contains("deeper than 64"), "\(over)")
            for depth in [100_000, 1_000_000] {
                var message: String?
                let input = nested(depth, open: open, close: close)
                let time = seconds { message = parseError(input) }
                #expect(message?.contains("deeper than 64") == true)
                // Refused at level 65 whatever follows: microseconds. The bound, a million times that, is for
                // work per level over the whole input (10^12 steps here), not for a slow or busy machine.
                #expect(time < 5, "\(depth) levels took \(time) s")
                #expect(parseError(nested(depth, open: open, close: close, closed: false))?.contains("deeper than 64") == true)
            }
        }
        // Mixed, at exactly the limit, with whitespace between every token.
        let mixed = String(repeating: "[ {\"k\" :\t", count: 32) + "null" + String(repeating: "}\n]", count: 32)
        #expect(parseError(bytes(mixed)) == nil)
    }

    @Test func numbersFollowTheGrammar() throws {
        let refused = ["01", "-01", "+1", "-", "1.", ".5", "1e", "1e+", "0x10", "NaN", "Infinity", "-Infinity",
                       "1e400", "-1e400", "1_000", "1 5", "00", "- 1", "1.e5", "１"]
        for text in refused {
            let message = parseError(bytes("[\(text)]"))
            #expect(message != nil, "\(text) was accepted")
            #expect((try? JSONDecoder().decode([Double].self, from: Data("[\(text)]".utf8))) == nil,
                    "Foundation accepts \(text)")
        }
        let cases: [(String, JSONValue)] = [
            ("0", .integer(0)), ("-0", .integer(0)), ("1.0", .integer(1)), ("1e2", .integer(100)), ("1E+2", .integer(100)),
            ("1.5e1", .integer(15)), ("100e-2", .integer(1)), ("1.5", .number(1.5)), ("1e-400", .number(0)),
            ("9223372036854775807", .integer(.max)), ("-9223372036854775808", .integer(.min)),
            ("-9223372036854775808.0", .integer(.min)), ("9223372036854775808", .number(9_223_372_036_854_775_808)),
            ("0e999999999999999999999", .number(0)), ("1e-999999999999999999", .number(0)),
        ]
        for (text, expected) in cases {
            #expect(try StrictJSON.parse(bytes(text)) == expected, "\(text)")
        }
    }

    /// An exponent past a million places is not worked out exactly (it saturates); such a literal goes
    /// to Double's correctly rounded parser instead of being read as a wrong integer (it was 10).
    @Test func aWholeNumberWithAMillionDigitMantissaReadsExactly() throws {
        let one = "1" + String(repeating: "0", count: 1_000_001) + "e-1000001"
        #expect(try StrictJSON.parse(bytes(one)) == .number(1), "the literal is exactly 1")
        let alsoOne = "0." + String(repeating: "0", count: 1_000_000) + "1e1000001"
        #expect(try StrictJSON.parse(bytes(alsoOne)) == .number(1), "the literal is exactly 1")
        // As an IoT-style field: `count` of a 1 MB event still decodes as the integer 1.
        struct Count: Decodable { let count: Int }
        #expect(try JSONDecoding.decode(Count.self, from: bytes(#"{"count":"# + one + "}")).count == 1)
    }

    @Test func longNumbersCostLinearTime() throws {
        // Up to 4 MB of digits in each part: a slow strtod or quadratic path would show here. 16 times the
        // digits cost about 16 times the time when linear, 256 times when quadratic (from 256 KB up: below,
        // the caches make the small case cheaper than linear).
        let cases: [(String, (Int) -> String)] = [
            ("integer", { "1" + String(repeating: "7", count: $0) }),
            ("fraction", { "0." + String(repeating: "3", count: $0) }),
            ("exponent", { "1." + String(repeating: "0", count: $0) + "e" + String(repeating: "9", count: $0) }),
        ]
        for (name, text) in cases {
            var result: Result<JSONValue, Error>?
            let cost = growth(bytes(text(1 << 18)), bytes(text(1 << 22))) { input in result = Result { try StrictJSON.parse(input) } }
            #expect(cost.ratio < 64, "\(name): 16 times the digits took \(cost.ratio) times as long (\(cost.small) s, \(cost.large) s)")
            #expect(cost.large < 30, "\(name): \(cost.large) s, \(String(describing: result))")
        }
    }

    /// Foundation reads every UInt64 exactly; here integers past Int.max go through Double, so they
    /// are refused with the number named (never read as a neighbouring value). Up to Int.max both agree.
    @Test func unsignedSixtyFourBitValuesMatchFoundation() throws {
        for text in ["18446744073709551615", "18446744073709551614", "12345678901234567890", "9223372036854775809",
                     "9223372036854775808", "1e19", "18446744073709551615.0"] {
            #expect(throws: DecodingError.self, "\(text)") { try JSONDecoding.decode([UInt64].self, from: bytes("[\(text)]")) }
        }
        for text in ["0", "9223372036854775807", "18446744073709551616", "-1", "4294967296"] {
            let foundation = try? JSONDecoder().decode([UInt64].self, from: Data("[\(text)]".utf8))
            let ours = try? JSONDecoding.decode([UInt64].self, from: bytes("[\(text)]"))
            #expect(ours == foundation, "\(text): ours \(String(describing: ours)), Foundation \(String(describing: foundation))")
        }
    }

    @Test func otherNumericTypesMatchFoundation() throws {
        func compare<T: Decodable & Equatable>(_ type: T.Type, _ text: String) {
            let foundation = try? JSONDecoder().decode([T].self, from: Data("[\(text)]".utf8))
            let ours = try? JSONDecoding.decode([T].self, from: bytes("[\(text)]"))
            #expect(ours == foundation, "\(T.self) \(text): ours \(String(describing: ours)), Foundation \(String(describing: foundation))")
        }
        for text in ["1.0", "1e2", "1.5", "-1", "128", "2147483648", "9223372036854775807", "9223372036854775808", "-0", "1e-2"] {
            compare(Int.self, text)
            compare(Int8.self, text)
            compare(Int32.self, text)
            compare(UInt8.self, text)
        }
        for text in ["1e300", "-1e300", "3.5e38", "1e-50", "0.1", "16777217"] {
            compare(Float.self, text)
        }
        for text in ["-0.0", "1e308", "5e-324", "123456789012345678901234567890"] {
            compare(Double.self, text)
        }
        // The one difference kept: "-0" is the integer 0, so a Double from it is +0 (Foundation: -0).
        #expect(try JSONDecoding.decode([Double].self, from: bytes("[-0]")) == [0])
    }

    @Test func messagesForNumbersThatDoNotFitNameTheNumber() throws {
        do {
            _ = try JSONDecoding.decode([String: Int].self, from: bytes(#"{"Count":1.5}"#))
            Issue.record("1.5 fits Int?")
        } catch let DecodingError.dataCorrupted(context) {
            // Foundation: "Parsed JSON number <1.5> does not fit in Int."
            #expect(context.debugDescription == "Parsed JSON number <1.5> does not fit in Int.", "\(context.debugDescription)")
        }
    }

    @Test func stringsMustBeUTF8AndEscapesComplete() throws {
        let invalid: [[UInt8]] = [
            [0x22, 0xFF, 0x22], [0x22, 0xC0, 0xAF, 0x22], [0x22, 0xE0, 0x80, 0xAF, 0x22], [0x22, 0xED, 0xA0, 0x80, 0x22],
            [0x22, 0xF4, 0x90, 0x80, 0x80, 0x22], [0x22, 0xF5, 0x80, 0x80, 0x80, 0x22], [0x22, 0x80, 0x22], [0x22, 0xC3],
            [0x22, 0xE2, 0x82, 0x22], [0x22, 0xF0, 0x9F, 0x98, 0x22],
        ]
        for input in invalid {
            let message = try #require(parseError(input), "\(input) was accepted")
            #expect(message.contains("not valid UTF-8 at byte"), "\(message)")
        }
        for (text, needle) in [(#""\ud800""#, "high surrogate"), (#""\udc00""#, "low surrogate"), (#""\ud800\u0041""#, "high surrogate"),
                               (#""\ud800\""#, "high surrogate"), (#""\u12""#, "four hex digits"), (#""\"#, "ends inside an escape"),
                               (#""abc\"#, "ends inside an escape"), (#""\x41""#, "invalid escape"), ("\"a\u{01}b\"", "control character"),
                               ("\"abc", "not closed"), (#""\u00"#, "four hex digits"), (#""\uD83D\uDE0"#, "four hex digits")] {
            let message = try #require(parseError(bytes(text)), "\(text) was accepted")
            #expect(message.contains(needle), "\(text): \(message)")
        }
        #expect(try StrictJSON.parse(bytes(#""\u0000\uD83D\uDE00\/""#)) == .string("\u{0}😀/"))
        #expect(try StrictJSON.parse(bytes(#"{"\u0000":1}"#)) == .object(["\u{0}": .integer(1)]))
    }

    @Test func truncationAtEveryOffsetIsAnErrorNeverACrash() throws {
        let events = [
            #"{"machine_id":"cam-1","label":"photo","count":12,"data":"/9j/4AAQ","sha256":null,"x":[1.5e3,-0,true,false,"\u00e9\ud83d\ude00\n"]}"#,
            #"{"Records":[{"eventSource":"aws:sqs","messageId":"m","body":"{\"machine_id\":\"a\",\"label\":\"b\",\"pieces\":2}","attributes":{"ApproximateReceiveCount":"1"}}]}"#,
        ]
        for event in events {
            let whole = bytes(event)
            #expect(parseError(whole) == nil)
            for cut in 0..<whole.count {
                let message = parseError(Array(whole[0..<cut]))
                #expect(message != nil, "prefix of \(cut) bytes accepted")
                #expect(message?.isEmpty == false)
                _ = try? ProcessorEvent.parse(Array(whole[0..<cut]))
                _ = try? IoTPieceMessage.parse(Array(whole[0..<cut]), limits: .init(maxPieces: 10, maxPieceBytes: 1000))
            }
        }
    }

    @Test func duplicateKeysAreNamedWithTheirPath() throws {
        #expect(parseError(bytes(#"{"a":{"b":[0,{"c":1,"c":2}]}}"#)) == "field `a.b[1].c` appears more than once")
        #expect(parseError(bytes(#"{"a":1,"\u0061":2}"#)) == "field `a` appears more than once")
        // Keys are Swift Strings: two spellings of one key in Unicode's eyes are one key, so a second is
        // refused as a duplicate (stricter than JSON's code-point comparison; no AWS document has such keys).
        let composed = bytes("{\"caf\u{E9}\":1,\"cafe\u{301}\":2}")
        #expect(parseError(composed) == "field `café` appears more than once")
    }

    @Test func bomTrailingGarbageAndWhitespaceVariants() throws {
        let bom = [UInt8]([0xEF, 0xBB, 0xBF]) + bytes("{}")
        let message = try #require(parseError(bom))
        #expect(message.contains("0xEF"), "\(message)")
        for text in ["{} x", "{}{}", "{},", "{}\u{0}", "\u{0C}{}", "{}\u{0B}", "\u{A0}{}", "{}\u{2028}", "[1,]", "{\"a\":1,}", "[,1]"] {
            #expect(parseError(bytes(text)) != nil, "\(text.debugDescription) accepted")
        }
        for text in [" \t\r\n{}\r\n\t ", "[\n1\r,\t2 ]"] {
            #expect(parseError(bytes(text)) == nil, "\(text.debugDescription) refused")
        }
        #expect(parseError([])?.contains("empty") == true)
        #expect(parseError(bytes("   "))?.contains("ends where a value should be") == true)
    }

    @Test func aFiftyMegabyteStringAndSixMegabytesOfEscapes() throws {
        var big = bytes("[\"")
        big += [UInt8](repeating: UInt8(ascii: "a"), count: 50 << 20)
        big += bytes("\"]")
        var parsed: JSONValue?
        let plain = seconds { parsed = try? StrictJSON.parse(big) }
        if case let .array(elements)? = parsed, case let .string(text)? = elements.first {
            #expect(text.utf8.count == 50 << 20)
        } else {
            Issue.record("50 MB string not read")
        }
        // About 2.5 s in a debug build, 4.5 s with both cores busy: the bound is for a quadratic path (hours
        // over 50 MB), not for the machine's load.
        #expect(plain < 60, "50 MB string: \(plain) s")
        // 6 MB (Lambda's payload limit) of \u escapes, against 16 times fewer: linear, not quadratic. (A copy of
        // the text so far at each escape costs some 30 s here: a bound in seconds either misses that or fails
        // on a loaded machine.)
        let escapes = { (count: Int) in bytes("\"" + String(repeating: #"\u00e9"#, count: count) + "\"") }
        var decoded: JSONValue?
        let cost = growth(escapes(1 << 16), escapes(1 << 20)) { decoded = try? StrictJSON.parse($0) }
        #expect(decoded == .string(String(repeating: "\u{E9}", count: 1 << 20)))
        #expect(cost.ratio < 64, "16 times the escapes took \(cost.ratio) times as long (\(cost.small) s, \(cost.large) s)")
    }

    @Test func encoderMatchesFoundationOnEdgeValues() throws {
        let values: [Double] = [-0.0, 1e15, 1e16, 123456789012345.5, Double.leastNonzeroMagnitude, 1.7976931348623157e308, 0.1, -2]
        for value in values {
            let ours = String(decoding: try JSONEncoding.encode([value]), as: UTF8.self)
            let back = try JSONDecoder().decode([Double].self, from: Data(ours.utf8))
            #expect(back == [value] && back[0].sign == value.sign, "\(value) encoded as \(ours)")
        }
        // Strings with every control character, quotes, backslashes, NUL, and non-BMP text round-trip.
        let text = String((0..<0x20).map { Character(Unicode.Scalar($0)!) }) + "\"\\/\u{7F}\u{2028}😀"
        let encoded = try JSONEncoding.encode(["k\u{0}": text])
        #expect(try JSONDecoder().decode([String: String].self, from: Data(encoded)) == ["k\u{0}": text])
        #expect(try JSONDecoding.decode([String: String].self, from: encoded) == ["k\u{0}": text])
    }
}

// MARK: - Base64

struct AttackBase64Tests {
    @Test func onlyTheCanonicalFormIsRead() throws {
        let accepted: [(String, [UInt8])] = [("", []), ("AA==", [0]), ("AAA=", [0, 0]), ("AAAA", [0, 0, 0]), ("/w==", [255]),
                                             ("+/+/", [0xFB, 0xFF, 0xBF])]
        for (text, expected) in accepted {
            #expect(try StrictBase64.decode(text.utf8) == expected, "\(text)")
        }
        let refused: [(String, String)] = [
            ("====", "not padding"), ("A===", "not padding"), ("AA=A", "not padding"), ("AAAA====", "not padding"),
            ("AA", "multiple of 4"), ("AAA", "multiple of 4"), ("AAAAA", "multiple of 4"), ("AA= ", "a space"),
            ("AB==", "unused bits"), ("AAB=", "unused bits"), ("-_==", "URL-safe"), ("AA\n==", "whitespace"),
            (" AA=", "a space"), ("AA==\r\n", "whitespace"), ("=AAA", "not padding"), ("AA=\u{0}", "byte 0x00"),
            ("QUJD\u{FF}", "byte 0xC3"), ("A=A=", "not padding"), ("AAAAAA=A", "not padding"), ("AAAAA=AA", "not padding"),
        ]
        for (text, needle) in refused {
            do {
                let decoded = try StrictBase64.decode(text.utf8)
                Issue.record("\(text.debugDescription) decoded to \(decoded)")
            } catch {
                #expect(error.description.contains(needle), "\(text.debugDescription): \(error.description)")
            }
        }
        // Every byte string of length 0...3 over a sample of values round-trips, and no other text of
        // length 4 decodes to the same bytes.
        for length in 0...3 {
            for seed in 0..<200 {
                let data = (0..<length).map { UInt8(truncatingIfNeeded: seed &* 37 &+ $0 &* 101) }
                #expect(try StrictBase64.decode(StrictBase64.encode(data).utf8) == data)
            }
        }
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=".utf8)
        var seen: [[UInt8]: String] = [:]
        for a in alphabet { for b in alphabet { for c in alphabet { for d in [UInt8(ascii: "="), UInt8(ascii: "A"), UInt8(ascii: "Q")] {
            let text = [a, b, c, d]
            guard let decoded = try? StrictBase64.decode(text) else { continue }
            let string = String(decoding: text, as: UTF8.self)
            #expect(seen[decoded] == nil, "\(string) and \(seen[decoded] ?? "") both decode to \(decoded)")
            seen[decoded] = string
            #expect(StrictBase64.encode(decoded) == string)
        } } } }
    }

    @Test func attributeValueBinariesAreStrict() throws {
        for text in ["AA=A", "AB==", "AA", "-w==", "AA==\n"] {
            do {
                _ = try JSONDecoding.decode(AttributeValue.self, from: bytes(#"{"B":"\#(text.replacingOccurrences(of: "\n", with: "\\n"))"}"#))
                Issue.record("\(text) accepted as B")
            } catch let DecodingError.dataCorrupted(context) {
                #expect(context.debugDescription.contains("not valid Base64"), "\(context.debugDescription)")
                #expect(context.codingPath.map(\.stringValue) == ["B"])
            }
        }
        do {
            _ = try JSONDecoding.decode(AttributeValue.self, from: bytes(#"{"BS":["AA==","AB=="]}"#))
            Issue.record("BS with a non-canonical element accepted")
        } catch let DecodingError.dataCorrupted(context) {
            // The failing element's index belongs in the path (Foundation's would be BS, Index 1).
            #expect(context.codingPath.map(\.stringValue) == ["BS", "Index 1"], "path \(context.codingPath.map(\.stringValue))")
        }
    }
}

// MARK: - Runtime API headers

struct AttackRuntimeHeaderTests {
    /// One invocation through the loop, the answer to `/next` given raw; what was posted.
    func serve(_ answer: [UInt8], handler: some LambdaHandler = echo) throws -> (posts: [String], error: Error?, api: RawServer) {
        let api = try runtimeAPI(next: answer)
        let loop = RuntimeLoop(client: RuntimeClient(endpoint: api.endpoint), logger: LambdaLogger(minimumLevel: .fatal))
        var failure: Error?
        do { try loop.serveOne(handler) } catch { failure = error }
        api.stop()
        return (api.posts, failure, api)
    }

    @Test func anInterimResponseBeforeTheAnswerLeavesOnlyTheFinalFields() throws {
        let answer = bytes("HTTP/1.1 100 Continue\r\nLambda-Runtime-Aws-Request-Id: interim\r\nLambda-Runtime-Deadline-Ms: 5\r\n\r\n")
            + nextAnswer(["Lambda-Runtime-Aws-Request-Id: final", "Lambda-Runtime-Deadline-Ms: 4102444800000"])
        let api = try runtimeAPI(next: answer)
        defer { api.stop() }
        let invocation = try RuntimeClient(endpoint: api.endpoint).next()
        #expect(invocation.context.requestId == "final")
        #expect(invocation.context.deadlineMilliseconds == 4_102_444_800_000)
        #expect(invocation.event == bytes("{}"))
    }

    @Test func anInterimResponseOnlyIsNotAnInvocation() throws {
        // 100 Continue carrying the only request id, then a 200 without one.
        let answer = bytes("HTTP/1.1 100 Continue\r\nLambda-Runtime-Aws-Request-Id: interim\r\n\r\n") + nextAnswer([])
        let result = try serve(answer)
        #expect(result.posts.isEmpty)
        #expect("\(String(describing: result.error))".contains("no Lambda-Runtime-Aws-Request-Id"))
    }

    @Test func namesInAnyCaseAndDuplicatesKeepTheFirst() throws {
        let result = try serve(nextAnswer(["lAMBDA-rUNTIME-aWS-rEQUEST-iD: one", "Lambda-Runtime-Aws-Request-Id: two"]))
        #expect(result.posts == ["/2018-06-01/runtime/invocation/one/response"])
    }

    /// libcurl refuses any answer with a NUL in a field: the loop ends, the handed-out invocation is never answered.
    @Test func aNULInAnyFieldEndsTheRuntime() throws {
        let result = try serve(nextAnswer(["Lambda-Runtime-Aws-Request-Id: r", "Lambda-Runtime-Deadline-Ms: 7\u{0}"]))
        #expect(result.posts.isEmpty)
        #expect("\(String(describing: result.error))".contains("Nul byte in header"))
    }

    /// The request id is no exception: nothing is posted (no id cut at the NUL, or sent on), and the loop ends
    /// with libcurl's refusal of the answer, named.
    @Test func aNULInTheRequestIdEndsTheRuntimeToo() throws {
        let result = try serve(nextAnswer(["Lambda-Runtime-Aws-Request-Id: a\u{0}b"]))
        #expect(result.posts.isEmpty, "posted \(result.posts)")
        guard case let .runtimeAPIUnavailable(reason)? = result.error as? RuntimeClient.Failure else {
            Issue.record("expected the Runtime API's answer refused, got \(String(describing: result.error))")
            return
        }
        #expect(reason == "invalid HTTP request to http://\(result.api.endpoint)/2018-06-01/runtime/invocation/next: Nul byte in header")
    }

    @Test func aMegabyteHeaderIsRefusedWithAMessage() throws {
        let huge = String(repeating: "x", count: 1 << 20)
        let result = try serve(nextAnswer(["Lambda-Runtime-Aws-Request-Id: \(huge)"]))
        #expect(result.posts.isEmpty)
        let message = "\(String(describing: result.error))"
        #expect(message.contains("Runtime API unavailable"), "\(message.prefix(300))")
        #expect(message.lowercased().contains("header"), "\(message.prefix(300))")
        // 90 KB: under libcurl's limit, served and posted back whole.
        let large = String(repeating: "y", count: 90_000)
        let served = try serve(nextAnswer(["Lambda-Runtime-Aws-Request-Id: \(large)"]))
        #expect(served.posts == ["/2018-06-01/runtime/invocation/\(large)/response"], "\(String(describing: served.error).prefix(300))")
    }

    @Test func deadlinesOutsideReasonAreNoDeadline() throws {
        let cases: [(String, Int)] = [("", 0), ("-1", 0), ("99999999999999999999", 0), ("12abc", 0), ("+5", 5), (" 7 ", 7),
                                      ("0x10", 0), ("1e3", 0), ("-9223372036854775808", 0)]
        for (text, expected) in cases {
            let api = try runtimeAPI(next: nextAnswer(["Lambda-Runtime-Aws-Request-Id: r", "Lambda-Runtime-Deadline-Ms: \(text)"]))
            defer { api.stop() }
            let context = try RuntimeClient(endpoint: api.endpoint).next().context
            #expect(context.deadlineMilliseconds == expected, "\(text.debugDescription)")
        }
    }

    /// Any deadline within `now` of Int.min makes `remainingMilliseconds` overflow: the process traps.
    @Test func remainingTimeOfAMinimalDeadlineDoesNotTrap() async throws {
        await #expect(processExitsWith: .success) {
            let context = LambdaContext(requestId: "r", deadlineMilliseconds: Int.min, invokedFunctionARN: "", traceId: nil,
                                        clientContext: nil, cognitoIdentity: nil, logger: LambdaLogger())
            _ = context.remainingMilliseconds
        }
    }

    /// picture-processor computes `remainingMilliseconds / 4` for every SQS batch, deadline or not.
    @Test func pictureProcessorSurvivesADeadlineOfIntMin() throws {
        let event = #"{"Records":[{"eventSource":"aws:sqs","messageId":"m-1","body":"{\"machine_id\":\"cam\",\"label\":\"p\",\"pieces\":1}","attributes":{"ApproximateReceiveCount":"1"}}]}"#
        let api = try runtimeAPI(next: nextAnswer(["Lambda-Runtime-Aws-Request-Id: inv-1",
                                                   "Lambda-Runtime-Deadline-Ms: -9223372036854775808"], body: event))
        defer { api.stop() }
        let environment = [
            "AWS_LAMBDA_RUNTIME_API": api.endpoint, "PIECES_TABLE": "pieces", "ORIGINALS_BUCKET": "o", "RENDITIONS_BUCKET": "r",
            "PICTURES_TABLE": "pictures", "NOTIFY_TOPIC_ARN": "arn:aws:sns:us-east-1:123456789012:t", "AWS_REGION": "us-east-1",
            "AWS_ACCESS_KEY_ID": "AKID", "AWS_SECRET_ACCESS_KEY": "secret", "AWS_ENDPOINT_URL": "http://127.0.0.1:1",
        ]
        let function = try FunctionProcess.start("picture-processor", environment: environment)
        defer { function.terminate() }
        for _ in 0..<1000 where api.posts.isEmpty && function.isRunning { usleep(10_000) }
        let trace = function.log.split(separator: "\n").filter { $0.contains("Fatal error") || $0.contains("/Sources/Tessera") }.prefix(6)
        #expect(api.posts.count == 1, "no outcome posted for inv-1; exit \(String(describing: function.waitForExit(timeout: 0.1)))\n\(trace.joined(separator: "\n"))")
        #expect(function.isRunning)
    }

    @Test func aHeaderLineStartingWithHTTPSlashInTheHeadDoesNotResetTheFields() throws {
        let result = try serve(nextAnswer(["Lambda-Runtime-Aws-Request-Id: one", "HTTP/x: y"]))
        #expect(result.posts == ["/2018-06-01/runtime/invocation/one/response"], "error: \(String(describing: result.error))")
    }

    @Test func aTrailerIsNotARequestId() throws {
        let answer = bytes("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: Lambda-Runtime-Aws-Request-Id\r\n\r\n"
            + "2\r\n{}\r\n0\r\nLambda-Runtime-Aws-Request-Id: from-trailer\r\n\r\n")
        let result = try serve(answer)
        #expect(result.posts.isEmpty, "a trailer made the request id: \(result.posts)")
    }

    @Test func aSecondInvocationDoesNotSeeTheFirstsFields() throws {
        let served = Box(0)
        let api = try RawServer { head, _ in
            guard head.hasPrefix("GET ") else { return bytes("HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n") }
            switch served.with({ count in defer { count += 1 }; return count }) {
            case 0: return nextAnswer(["Lambda-Runtime-Aws-Request-Id: one", "Lambda-Runtime-Trace-Id: t1",
                                       "Lambda-Runtime-Deadline-Ms: 4102444800000", "Lambda-Runtime-Client-Context: c"])
            case 1: return nextAnswer(["Lambda-Runtime-Aws-Request-Id: two"])
            default: return nil
            }
        }
        defer { api.stop() }
        let client = RuntimeClient(endpoint: api.endpoint)
        _ = try client.next()
        let second = try client.next().context
        #expect(second.requestId == "two" && second.traceId == nil && second.deadlineMilliseconds == 0 && second.clientContext == nil)
    }
}

// MARK: - Logger

struct AttackLoggerTests {
    @Test func aTextEntryIsOneLineWhateverTheMessage() {
        let logger = LambdaLogger(format: .text, minimumLevel: .trace, requestId: "r")
        for message in ["a\r\nb", "a\nb", "a\rb", "\r\n", "a\u{85}b", "x\r\n2030-01-01T00:00:00.000Z\tforged\tINFO\tok"] {
            let line = logger.renderBytes(.error, message, timestamp: "T")
            #expect(!line.contains(0x0A), "\(message.debugDescription) rendered as \(String(decoding: line, as: UTF8.self).debugDescription)")
        }
    }

    @Test func aJSONEntryIsOneParsableLine() throws {
        let logger = LambdaLogger(format: .json, minimumLevel: .trace, requestId: "r\"\n\u{0}")
        for message in ["a\r\nb", "\u{0}\u{1F}\"\\", "😀\u{2028}"] {
            let line = logger.renderBytes(.error, message, timestamp: "T")
            #expect(!line.contains(0x0A))
            let object = try JSONDecoder().decode([String: String].self, from: Data(line))
            #expect(object["message"] == message && object["requestId"] == "r\"\n\u{0}")
        }
    }

    /// End to end: a device's machine_id with CRLF forges a whole log line of piece-storage (Text
    /// format, Lambda's default), in the shape the runtime writes its own.
    @Test func aHostileEventCannotForgeALogLine() throws {
        let api = try LocalRuntimeAPI()
        defer { api.stop() }
        let environment = ["AWS_LAMBDA_RUNTIME_API": api.endpoint, "PIECES_TABLE": "pieces",
                           "REASSEMBLY_QUEUE_URL": "http://127.0.0.1:1/123456789012/reassembly", "AWS_REGION": "us-east-1",
                           "AWS_ACCESS_KEY_ID": "AKID", "AWS_SECRET_ACCESS_KEY": "secret", "AWS_ENDPOINT_URL": "http://127.0.0.1:1"]
        let function = try FunctionProcess.start("piece-storage", environment: environment)
        defer { function.terminate() }
        // In machine_id (echoed by the identifier rule's error), and in thing (echoed by the mismatch's).
        for event in [#"{"thing":"cam-1","machine_id":"cam\r\n2030-01-01T00:00:00.000Z\tforged-request\tINFO\tpiece 1 of cam-1/photo stored","label":"photo","count":1,"data":"/9j/4AAQ"}"#,
                      #"{"thing":"cam\r\n2030-01-01T00:00:00.000Z\tforged-request\tINFO\tpiece 1 of cam-1/photo stored","machine_id":"cam-1","label":"photo","count":1,"data":"/9j/4AAQ"}"#] {
            let outcome = api.invoke(bytes(event), timeout: 10)
            guard case let .error(type, message, _)? = outcome else {
                Issue.record("expected an error post, got \(String(describing: outcome))")
                return
            }
            #expect(type == "Tessera.InvalidEvent")
            #expect(message.contains("forged-request"), "the value is named in the error: \(message)")
        }
        usleep(200_000)
        // Lines as Lambda splits stderr: at every LF byte.
        let lines = Array(function.log.utf8).split(separator: 0x0A).map { String(decoding: $0, as: UTF8.self) }
        let forged = lines.filter { $0.hasPrefix("2030-01-01T00:00:00.000Z\tforged-request") }
        #expect(forged.isEmpty, "forged line in the log: \(forged)")
    }
}

// MARK: - HTTPServer

struct AttackHTTPServerTests {
    @Test func stopWhileARequestIsInFlight() throws {
        let server = try HTTPServer { _ in
            usleep(300_000)
            return HTTPResponse(status: 200, body: bytes("done"))
        }
        let port = server.port
        let result = Box<Result<HTTPResponse, Error>?>(nil)
        let thread = Thread {
            let response = Result { try HTTPClient().send(HTTPRequest(method: "GET", url: "http://127.0.0.1:\(port)/")) }
            result.with { $0 = response }
        }
        thread.start()
        usleep(100_000)
        server.stop()
        server.stop()
        for _ in 0..<300 where result.current == nil { usleep(10_000) }
        let response = try #require(try result.current?.get())
        #expect(response.status == 200 && response.body == bytes("done"))
        // No new connection after stop.
        #expect(throws: HTTPError.self) { try HTTPClient().send(HTTPRequest(method: "GET", url: "http://127.0.0.1:\(port)/", timeoutMs: 2_000)) }
    }

    /// Descriptor and thread counts are the process's: other suites run in parallel in the test process,
    /// so they are measured in a child process (an exit test) where nothing else runs. What went wrong
    /// is written to standard error as `PROBLEM:` lines, read back here.
    static func problems(_ result: ExitTest.Result?) -> [String] {
        guard let result else { return ["the child process did not exit normally"] }
        return String(decoding: result.standardErrorContent, as: UTF8.self).split(separator: "\n")
            .filter { $0.hasPrefix("PROBLEM: ") }.map { String($0.dropFirst("PROBLEM: ".count)) }
    }

    @Test func manyServersStartedAndStoppedConcurrentlyAnswerOnlyForThemselvesAndLeakNothing() async throws {
        let result = await #expect(processExitsWith: .success, observing: [\.standardErrorContent]) {
            // libcurl's global state stays once made: make it before counting. The lanes are plain threads,
            // which end when done (Dispatch keeps its worker threads).
            if let server = try? HTTPServer(handler: { _ in HTTPResponse(status: 200) }) {
                _ = try? HTTPClient().send(HTTPRequest(method: "GET", url: "http://127.0.0.1:\(server.port)/", timeoutMs: 10_000))
                server.stop()
            }
            // Then wait for the warm-up's threads and descriptors to go: until the counts hold still.
            var threadsBefore = threadCount(), before = openDescriptorCount()
            for _ in 0..<100 {
                usleep(50_000)
                let now = (threadCount(), openDescriptorCount())
                if now == (threadsBefore, before) { break }
                (threadsBefore, before) = now
            }
            let wrong = Mutex<[String]>([])
            let lanesDone = DispatchSemaphore(value: 0)
            for lane in 0..<8 { Thread.detachNewThread {
                defer { lanesDone.signal() }
                for round in 0..<60 {
                    let id = "\(lane)-\(round)"
                    guard let server = try? HTTPServer(handler: { _ in HTTPResponse(status: 200, body: Array(id.utf8)) }) else {
                        wrong.withLock { $0.append("\(id): could not start") }
                        continue
                    }
                    if round % 3 == 0 { server.stop() }  // stopped before its accept thread may have run
                    let answer = try? HTTPClient().send(HTTPRequest(method: "GET", url: "http://127.0.0.1:\(server.port)/", timeoutMs: 10_000))
                    if let answer, answer.body != Array(id.utf8) {
                        wrong.withLock { $0.append("\(id) answered by \(String(decoding: answer.body, as: UTF8.self))") }
                    }
                    if round % 3 != 0 && answer == nil { wrong.withLock { $0.append("\(id): no answer from a live server") } }
                    server.stop()
                }
            } }
            for _ in 0..<8 { lanesDone.wait() }
            var problems = wrong.withLock { $0 }
            // Threads and descriptors go away shortly after stop (the accept thread wakes, closes, ends).
            var after = openDescriptorCount(), threads = threadCount()
            for _ in 0..<500 where after > before || threads > threadsBefore {
                usleep(20_000)
                after = openDescriptorCount()
                threads = threadCount()
            }
            if after > before { problems.append("descriptors: \(before) before, \(after) after") }
            if threads > threadsBefore { problems.append("threads: \(threadsBefore) before, \(threads) after") }
            FileHandle.standardError.write(Data(problems.map { "PROBLEM: \($0)\n" }.joined().utf8))
        }
        let problems = Self.problems(result)
        #expect(problems.isEmpty, "\(problems)")
    }

    @Test func aClientThatConnectsAndNeverSendsBlocksNobody() async throws {
        let result = await #expect(processExitsWith: .success, observing: [\.standardErrorContent]) {
            var problems: [String] = []
            do {
                let server = try HTTPServer { _ in HTTPResponse(status: 200, body: Array("ok".utf8)) }
                let before = openDescriptorCount()
                var idle: [Int32] = []
                for _ in 0..<50 {
                    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
                    var address = sockaddr_in()
                    address.sin_family = sa_family_t(AF_INET)
                    address.sin_port = server.port.bigEndian
                    address.sin_addr.s_addr = inet_addr("127.0.0.1")
                    let connected = withUnsafePointer(to: &address) {
                        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
                    }
                    if connected != 0 { problems.append("connect failed: errno \(errno)") }
                    idle.append(fd)
                }
                // Half a request head on one of them.
                _ = writeAll(idle[0], Array("GET / HTTP/1.1\r\nHost: x\r\n".utf8))
                let response = try HTTPClient().send(HTTPRequest(method: "GET", url: "http://127.0.0.1:\(server.port)/", timeoutMs: 10_000))
                if response.body != Array("ok".utf8) { problems.append("answered \(response.status) \(response.body)") }
                server.stop()
                // After stop, the idle connections are held by their threads until the peer leaves: the 50
                // client ends here and their 50 server ends (the listener may be closed by now).
                let held = openDescriptorCount()
                if held < before + 99 { problems.append("only \(held - before) descriptors held by 50 idle connections") }
                idle.forEach { close($0) }
                var after = openDescriptorCount()
                for _ in 0..<500 where after > before { usleep(20_000); after = openDescriptorCount() }
                if after > before { problems.append("server-side descriptors not released after the peers left: \(after) vs \(before)") }
            } catch {
                problems.append("\(error)")
            }
            FileHandle.standardError.write(Data(problems.map { "PROBLEM: \($0)\n" }.joined().utf8))
        }
        let problems = Self.problems(result)
        #expect(problems.isEmpty, "\(problems)")
    }
}
