import Glibc
import TesseraAWS
import TesseraEvents
import TesseraHTTP
import TesseraRuntime
import TesseraSupport

/// A small threaded HTTP/1.1 server on 127.0.0.1 for the local stack and the tests.
///
/// One thread per connection, so a handler may block (the Runtime API's `/next` long poll does).
/// Bodies need a Content-Length; connections are kept alive unless the client says `Connection: close`.
public final class HTTPServer: @unchecked Sendable {
    /// A parsed request.
    public struct Request: Sendable {
        public let method: String
        /// The request target as sent: path and query, still encoded.
        public let target: String
        public let headers: HTTPHeaders
        public let body: [UInt8]

        /// The path without the query.
        public var path: String { String(target.prefix { $0 != "?" }) }
    }

    public typealias Handler = @Sendable (Request) -> HTTPResponse
    /// Called after a response's last byte went to the socket (tests time signals against it).
    public typealias Written = @Sendable (Request, HTTPResponse) -> Void

    public let port: UInt16
    private let listener: Int32
    private let handler: Handler
    private let written: Written?
    private let state = ConditionLock()
    private var isStopped = false
    private var accepted = 0

    /// How many TCP connections were accepted so far (keep-alive shows as one).
    public var connectionCount: Int { state.withLock { accepted } }

    /// Listens on 127.0.0.1:`port` (0 picks a free port) and serves on background threads.
    /// The largest request body accepted; a larger `Content-Length` is answered 413 before any of it is read.
    public let maxBodyBytes: Int

    public init(port: UInt16 = 0, maxBodyBytes: Int = 64 * 1024 * 1024, written: Written? = nil,
                handler: @escaping Handler) throws {
        self.maxBodyBytes = maxBodyBytes
        // Close-on-exec: function binaries, the broker and the emulator started later must not inherit
        // the listener (a survivor would keep the port, and accept its own requests).
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw ServerError.socket("socket: \(errnoText())") }
        var yes: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(fd, 64) == 0 else {
            let reason = errnoText()
            close(fd)
            throw ServerError.socket("bind/listen on 127.0.0.1:\(port): \(reason)")
        }
        var actual = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &actual) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        self.port = UInt16(bigEndian: actual.sin_port)
        listener = fd
        self.handler = handler
        self.written = written
        startThread { [self] in acceptLoop() }
    }

    /// Stops accepting connections; open connections end when their peer closes them.
    ///
    /// Only shuts the listener down: the accept thread closes it when its `accept` fails. Closing it
    /// here let the number be reused by the next server's listener while this thread was between two
    /// `accept` calls, and this server then answered the other one's connections.
    public func stop() {
        state.withLock {
            guard !isStopped else { return }
            isStopped = true
            shutdown(listener, Int32(SHUT_RDWR))
        }
    }

    deinit { stop() }

    private func acceptLoop() {
        while true {
            let connection = accept(listener, nil, nil)
            if connection < 0 {
                let failure = errno
                let stopped = state.withLock { isStopped }
                if !stopped && [EINTR, ECONNABORTED, EMFILE, ENFILE, ENOBUFS, ENOMEM].contains(failure) {
                    // Transient: out of descriptors or a peer that left; try again shortly.
                    if failure != EINTR { usleep(10_000) }
                    continue
                }
                close(listener)
                return
            }
            // A connection that raced with stop() is refused rather than served.
            if state.withLock({ isStopped }) {
                close(connection)
                continue
            }
            // Close-on-exec as the listener (accept4 is not in Glibc's Swift overlay).
            _ = fcntl(connection, F_SETFD, FD_CLOEXEC)
            state.withLock { accepted += 1 }
            var yes: Int32 = 1
            setsockopt(connection, Int32(IPPROTO_TCP), TCP_NODELAY, &yes, socklen_t(MemoryLayout<Int32>.size))
            startThread { [self] in serve(connection) }
        }
    }

    private func serve(_ fd: Int32) {
        defer { close(fd) }
        var reader = SocketReader(fd: fd, maxBodyBytes: maxBodyBytes)
        while let read = reader.readRequest() {
            guard case let .request(request) = read else {
                // Framing this server cannot follow: answer, then close, since the rest of the stream is unknown.
                if case let .refused(status, reason) = read {
                    _ = writeResponse(HTTPResponse(status: status, headers: HTTPHeaders([("Connection", "close")]),
                                                   body: Array("{\"message\":\(jsonQuoted(reason))}".utf8)), to: fd)
                }
                return
            }
            var response = handler(request)
            // A HEAD answer has the headers of a GET and no body (a body would be read as the next response).
            if request.method == "HEAD" { response.body = [] }
            guard writeResponse(response, to: fd) else { return }
            written?(request, response)
            if request.headers["connection"]?.caseInsensitiveEquals("close") == true { return }
        }
    }

    private func writeResponse(_ response: HTTPResponse, to fd: Int32) -> Bool {
        var head = "HTTP/1.1 \(response.status) \(reason(response.status))\r\n"
        for field in response.headers where !field.name.caseInsensitiveEquals("content-length") {
            head += "\(field.name): \(field.value)\r\n"
        }
        head += "Content-Length: \(response.body.count)\r\n\r\n"
        return writeAll(fd, Array(head.utf8)) && writeAll(fd, response.body)
    }

    private func reason(_ status: Int) -> String {
        switch status {
        case 200: "OK"
        case 201: "Created"
        case 202: "Accepted"
        case 204: "No Content"
        case 400: "Bad Request"
        case 403: "Forbidden"
        case 404: "Not Found"
        case 405: "Method Not Allowed"
        case 413: "Payload Too Large"
        case 411: "Length Required"
        case 415: "Unsupported Media Type"
        case 431: "Request Header Fields Too Large"
        case 500: "Internal Server Error"
        case 503: "Service Unavailable"
        default: "Status"
        }
    }
}

/// Why the server could not start.
public enum ServerError: Error, CustomStringConvertible {
    case socket(String)
    public var description: String {
        switch self { case let .socket(reason): "HTTP server: \(reason)" }
    }
}

/// Buffered reads of HTTP/1.1 requests from a socket.
struct SocketReader {
    /// What one read gave: a request, or a refusal to answer before closing.
    enum Read {
        case request(HTTPServer.Request)
        case refused(status: Int, reason: String)
    }

    /// A request head larger than this is refused (servers commonly stop at 8 to 64 KB).
    static let maxHeadBytes = 64 * 1024

    let fd: Int32
    let maxBodyBytes: Int
    private var buffer: [UInt8] = []
    private var start = 0

    init(fd: Int32, maxBodyBytes: Int) {
        self.fd = fd
        self.maxBodyBytes = maxBodyBytes
    }

    mutating func readRequest() -> Read? {
        guard let headEnd = readUntilHeadEnd() else {
            return buffer.count - start > Self.maxHeadBytes
                ? .refused(status: 431, reason: "request head over \(Self.maxHeadBytes) bytes") : nil
        }
        let head = String(decoding: buffer[start..<headEnd], as: UTF8.self)
        start = headEnd + 4
        var lines = head.split(separator: "\r\n", omittingEmptySubsequences: false)
        let requestLine = lines.removeFirst().split(separator: " ")
        guard requestLine.count == 3, requestLine[1].hasPrefix("/"),
              requestLine[0].utf8.allSatisfy({ (0x41...0x5A).contains($0) }) else {
            return .refused(status: 400, reason: "malformed request line")
        }
        var headers = HTTPHeaders()
        for line in lines {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers.add(String(line[..<colon]), String(line[line.index(after: colon)...]).trimmingHTTPWhitespace())
        }
        guard headers["transfer-encoding"] == nil else {
            return .refused(status: 411, reason: "chunked bodies are not supported; send a Content-Length")
        }
        let lengths = headers.values("content-length")
        guard lengths.count <= 1, let length = lengths.isEmpty ? 0 : Int(lengths[0]), length >= 0 else {
            return .refused(status: 400, reason: "Content-Length must be one whole number of bytes")
        }
        guard length <= maxBodyBytes else {
            return .refused(status: 413, reason: "body of \(length) bytes is over the \(maxBodyBytes)-byte limit")
        }
        guard fill(upTo: start + length) else { return nil }
        let body = Array(buffer[start..<(start + length)])
        start += length
        if start > 65_536 {
            buffer.removeFirst(start)
            start = 0
        }
        return .request(HTTPServer.Request(method: String(requestLine[0]), target: String(requestLine[1]),
                                           headers: headers, body: body))
    }

    private mutating func readUntilHeadEnd() -> Int? {
        var searchFrom = start
        while true {
            if buffer.count - searchFrom >= 4 {
                for i in searchFrom...(buffer.count - 4)
                where buffer[i] == 13 && buffer[i + 1] == 10 && buffer[i + 2] == 13 && buffer[i + 3] == 10 {
                    return i
                }
                searchFrom = buffer.count - 3
            }
            guard buffer.count - start <= Self.maxHeadBytes, readMore() else { return nil }
        }
    }

    private mutating func fill(upTo count: Int) -> Bool {
        while buffer.count < count { guard readMore() else { return false } }
        return true
    }

    private mutating func readMore() -> Bool {
        var chunk = [UInt8](repeating: 0, count: 65_536)
        let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        guard n > 0 else { return false }
        buffer.append(contentsOf: chunk[0..<n])
        return true
    }
}

func writeAll(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
    var offset = 0
    while offset < bytes.count {
        let n = bytes.withUnsafeBytes { send(fd, $0.baseAddress! + offset, $0.count - offset, Int32(MSG_NOSIGNAL)) }
        if n < 0 && errno == EINTR { continue }
        guard n > 0 else { return false }
        offset += n
    }
    return true
}

func errnoText() -> String { String(cString: strerror(errno)) }
