import CCurl
import Glibc
import TesseraSupport

/// A blocking HTTP/1.1 client over one libcurl easy handle, reused so connections stay alive.
///
/// Not thread-safe: give each thread its own client (a Lambda function has one thread of work).
public final class HTTPClient {
    /// Timeouts and identity applied to every request.
    public struct Options: Sendable {
        public var connectTimeoutMs: Int
        /// Default total timeout of a request; 0 means none.
        public var timeoutMs: Int
        public var userAgent: String
        /// Whether `http_proxy`, `https_proxy` and friends apply; the Runtime API is local and never
        /// goes through a proxy (as aws-lambda-cpp).
        public var usesProxyVariables: Bool

        public init(connectTimeoutMs: Int = 3_000, timeoutMs: Int = 30_000, userAgent: String = "tessera/0.1",
                    usesProxyVariables: Bool = true) {
            self.connectTimeoutMs = connectTimeoutMs
            self.timeoutMs = timeoutMs
            self.userAgent = userAgent
            self.usesProxyVariables = usesProxyVariables
        }
    }

    public let options: Options
    private let handle: UnsafeMutableRawPointer
    /// libcurl keeps this pointer and writes to it during perform: it needs a stable address.
    private let errorBuffer = UnsafeMutablePointer<CChar>.allocate(capacity: Int(CURL_ERROR_SIZE) + 1)
    private let caBundle: String?
    /// Two integers a signal handler may use: `[0]` the descriptor of the connection's socket (-1
    /// before the first; libcurl writes it when it opens one), `[1]` set to refuse new connections.
    public let connectionGate = UnsafeMutablePointer<Int32>.allocate(capacity: 2)

    /// What a request without header fields sends: an empty "Expect:" stops libcurl from waiting for
    /// 100-continue on larger bodies, an empty "Content-Type:" from labelling a body
    /// application/x-www-form-urlencoded. Built once: libcurl only reads it.
    private let bareHeaderList: UnsafeMutablePointer<curl_slist>

    public init(options: Options = Options()) {
        _ = curlGlobalInit
        guard let handle = curl_easy_init(),
              let bare = curl_slist_append(curl_slist_append(nil, "Expect:"), "Content-Type:") else {
            fatalError("libcurl could not allocate an easy handle (out of memory)")
        }
        self.handle = handle
        bareHeaderList = bare
        self.options = options
        caBundle = getenvString("SSL_CERT_FILE")
        errorBuffer.initialize(repeating: 0, count: Int(CURL_ERROR_SIZE) + 1)
        connectionGate.initialize(to: -1)
        (connectionGate + 1).initialize(to: 0)
    }

    deinit {
        curl_easy_cleanup(handle)
        curl_slist_free_all(bareHeaderList)
        errorBuffer.deallocate()
        connectionGate.deallocate()
    }

    /// Sends the request and returns the whole response; throws `HTTPError` when no response arrives.
    public func send(_ request: HTTPRequest) throws -> HTTPResponse {
        // Reset clears options but keeps the connection cache, so keep-alive survives.
        curl_easy_reset(handle)
        // A HEAD response announces the length of a body it does not send.
        let sink = ResponseSink(onResponseStart: request.onResponseStart,
                                maxBody: request.method == "HEAD" ? nil : request.maxResponseBytes,
                                selection: request.headerSelection)
        let timeout = request.timeoutMs ?? options.timeoutMs
        // A request without header fields (the Runtime API's /next and responses) sends the client's
        // standing list; others get a list of their own, freed after the exchange.
        var ownHeaderList: UnsafeMutablePointer<curl_slist>? = nil
        defer { curl_slist_free_all(ownHeaderList) }
        if !request.headers.fields.isEmpty {
            var hasContentType = false
            for field in request.headers {
                ownHeaderList = curl_slist_append(ownHeaderList, field.name + ": " + field.value)
                if !hasContentType { hasContentType = field.name.caseInsensitiveEquals("content-type") }
            }
            ownHeaderList = curl_slist_append(ownHeaderList, "Expect:")
            if !hasContentType { ownHeaderList = curl_slist_append(ownHeaderList, "Content-Type:") }
        }
        let headerList = ownHeaderList ?? bareHeaderList

        let code: CURLcode = request.body.withUnsafeBufferPointer { body in
            let sinkPointer = Unmanaged.passUnretained(sink).toOpaque()
            var setup = CURLE_OK
            func set(_ result: CURLcode) { if setup == CURLE_OK { setup = result } }
            set(tessera_curl_setopt_ptr(handle, CURLOPT_URL, request.url))
            set(tessera_curl_setopt_long(handle, CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_1_1))
            set(tessera_curl_setopt_long(handle, CURLOPT_NOSIGNAL, 1))
            set(tessera_curl_setopt_long(handle, CURLOPT_TCP_NODELAY, 1))
            // The path goes out exactly as given (and signed): libcurl would otherwise remove "." and
            // ".." segments, so an S3 key like "a/../b.jpg" would name another object.
            set(tessera_curl_setopt_long(handle, CURLOPT_PATH_AS_IS, 1))
            set(tessera_curl_setopt_long(handle, CURLOPT_CONNECTTIMEOUT_MS, options.connectTimeoutMs))
            set(tessera_curl_setopt_long(handle, CURLOPT_TIMEOUT_MS, timeout))
            set(tessera_curl_setopt_ptr(handle, CURLOPT_USERAGENT, options.userAgent))
            set(tessera_curl_setopt_ptr(handle, CURLOPT_ERRORBUFFER, errorBuffer))
            if let caBundle { set(tessera_curl_setopt_ptr(handle, CURLOPT_CAINFO, caBundle)) }
            if !options.usesProxyVariables { set(tessera_curl_setopt_ptr(handle, CURLOPT_NOPROXY, "*")) }
            set(tessera_curl_record_socket(handle, UnsafeMutableRawPointer(connectionGate).assumingMemoryBound(to: CInt.self)))
            set(tessera_curl_setopt_ptr(handle, CURLOPT_HTTPHEADER, headerList))
            set(tessera_curl_setopt_write(handle, CURLOPT_WRITEFUNCTION, responseBodyCallback))
            set(tessera_curl_setopt_ptr(handle, CURLOPT_WRITEDATA, sinkPointer))
            set(tessera_curl_setopt_write(handle, CURLOPT_HEADERFUNCTION, responseHeaderCallback))
            set(tessera_curl_setopt_ptr(handle, CURLOPT_HEADERDATA, sinkPointer))
            switch request.method {
            case "GET" where body.isEmpty:
                set(tessera_curl_setopt_long(handle, CURLOPT_HTTPGET, 1))
            case "HEAD":
                set(tessera_curl_setopt_long(handle, CURLOPT_NOBODY, 1))
            case "DELETE" where body.isEmpty:
                set(tessera_curl_setopt_ptr(handle, CURLOPT_CUSTOMREQUEST, "DELETE"))
            default:
                // The body goes from our buffer without a copy, with an explicit Content-Length.
                set(tessera_curl_setopt_long(handle, CURLOPT_POST, 1))
                set(tessera_curl_setopt_off(handle, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(body.count)))
                set(tessera_curl_setopt_ptr(handle, CURLOPT_POSTFIELDS, body.baseAddress ?? UnsafePointer(emptyBodyPointer)))
                if request.method != "POST" {
                    set(tessera_curl_setopt_ptr(handle, CURLOPT_CUSTOMREQUEST, request.method))
                }
            }
            guard setup == CURLE_OK else { return setup }
            errorBuffer[0] = 0
            return curl_easy_perform(handle)
        }
        if sink.overflowed, let limit = request.maxResponseBytes {
            throw HTTPError.responseTooLarge(url: request.url, limit: limit)
        }
        guard code == CURLE_OK else { throw error(for: code, url: request.url, timeoutMs: timeout) }
        var status = 0
        _ = tessera_curl_getinfo_long(handle, CURLINFO_RESPONSE_CODE, &status)
        return HTTPResponse(status: status, headers: sink.headers, body: sink.body, selectedHeaders: sink.selected)
    }

    private func error(for code: CURLcode, url: String, timeoutMs: Int) -> HTTPError {
        let detail = String(cString: errorBuffer)
        let reason = detail.isEmpty ? String(cString: curl_easy_strerror(code)) : detail
        switch code {
        case CURLE_OPERATION_TIMEDOUT:
            return .timedOut(url: url, afterMs: timeoutMs == 0 ? options.connectTimeoutMs : timeoutMs)
        case CURLE_COULDNT_CONNECT, CURLE_COULDNT_RESOLVE_HOST, CURLE_COULDNT_RESOLVE_PROXY,
             CURLE_SSL_CONNECT_ERROR, CURLE_PEER_FAILED_VERIFICATION:
            return .couldNotConnect(url: url, reason: reason)
        case CURLE_SEND_ERROR, CURLE_RECV_ERROR, CURLE_GOT_NOTHING, CURLE_PARTIAL_FILE,
             CURLE_HTTP2, CURLE_HTTP2_STREAM:
            return .connectionLost(url: url, reason: reason)
        case CURLE_OUT_OF_MEMORY:
            // libcurl's answer to a header field over its 100 KB limit too (curl before 8.6).
            return .invalidRequest(url: url, reason: "a response header over libcurl's 100 KB limit, or out of memory")
        default:
            return .invalidRequest(url: url, reason: reason)
        }
    }
}

private let curlGlobalInit: Void = { _ = curl_global_init(Int(CURL_GLOBAL_ALL)) }()
nonisolated(unsafe) private let emptyBodyPointer = UnsafeMutablePointer<UInt8>.allocate(capacity: 1)

/// Collects one response; reset by a new status line so only the final response's headers remain.
private final class ResponseSink {
    var headers = HTTPHeaders()
    var body: [UInt8] = []
    var onResponseStart: (@Sendable () -> Void)?
    let maxBody: Int
    /// When set, only these fields are kept, as bytes, in `selected` (and `headers` stays empty).
    let selection: HeaderSelection?
    var selected: SelectedHeaders?
    /// True until a status line is read and again after each block's blank line.
    var awaitingStatusLine = true
    /// The status of the response being read; the cap applies only to a success's body, so an error
    /// document is always read whole.
    var status = 0
    /// Set when the body (or its announced length) went past `maxBody` and the transfer was stopped.
    var overflowed = false

    init(onResponseStart: (@Sendable () -> Void)?, maxBody: Int?, selection: HeaderSelection?) {
        self.onResponseStart = onResponseStart
        self.maxBody = maxBody ?? .max
        self.selection = selection
        selected = selection.map { SelectedHeaders(count: $0.count) }
    }
}

private let maxPreallocation = 64 << 20

private func responseBodyCallback(_ data: UnsafeMutablePointer<CChar>?, _ size: Int, _ count: Int,
                                  _ context: UnsafeMutableRawPointer?) -> Int {
    guard let data, let context else { return 0 }
    let sink = Unmanaged<ResponseSink>.fromOpaque(context).takeUnretainedValue()
    let bytes = UnsafeRawBufferPointer(start: data, count: size * count)
    guard sink.body.count + bytes.count <= sink.maxBody || !(200..<300).contains(sink.status) else {
        sink.overflowed = true
        return 0  // anything but the count given stops the transfer
    }
    sink.body.append(contentsOf: bytes)
    return size * count
}

private func responseHeaderCallback(_ data: UnsafeMutablePointer<CChar>?, _ size: Int, _ count: Int,
                                    _ context: UnsafeMutableRawPointer?) -> Int {
    guard let data, let context else { return 0 }
    let sink = Unmanaged<ResponseSink>.fromOpaque(context).takeUnretainedValue()
    let line = UnsafeRawBufferPointer(start: data, count: size * count)
    // A status line opens each response (an interim 1xx, then the final one); only there is a line
    // starting "HTTP/" one. After a block's blank line, lines that are not a status line are a
    // chunked body's trailers: never taken as the response's fields.
    if line.count <= 2, line.allSatisfy({ $0 == 0x0D || $0 == 0x0A }) {
        sink.awaitingStatusLine = true
        return line.count
    }
    guard !sink.awaitingStatusLine || line.starts(with: "HTTP/".utf8) else { return line.count }
    if sink.awaitingStatusLine {
        sink.awaitingStatusLine = false
        if let start = sink.onResponseStart {
            sink.onResponseStart = nil
            start()
        }
        sink.headers = HTTPHeaders()
        sink.selected?.removeAll()
        // "HTTP/1.1 200 OK": the three digits after the first space.
        if let space = line.firstIndex(of: UInt8(ascii: " ")), space + 3 < line.count {
            sink.status = line[(space + 1)...(space + 3)].reduce(0) { $0 * 10 + Int($1) - 48 }
        }
        return line.count
    }
    // Worked on as bytes: a String is made only for a field the caller keeps.
    guard let colon = line.firstIndex(of: UInt8(ascii: ":")) else { return line.count }
    let name = UnsafeRawBufferPointer(rebasing: line[..<colon])
    let value = trimmingHTTPWhitespace(UnsafeRawBufferPointer(rebasing: line[(colon + 1)...]))
    if let selection = sink.selection {
        if let index = selection.index(of: name) { sink.selected?.record(index, value) }
    } else {
        sink.headers.add(String(decoding: name, as: UTF8.self), String(decoding: value, as: UTF8.self))
    }
    if name.count == contentLength.count, name.elementsEqual(contentLength, by: { asciiLower($0) == $1 }),
       let length = SelectedHeaders.decimal(value), length > 0 {
        guard length <= sink.maxBody || !(200..<300).contains(sink.status) else {
            sink.overflowed = true
            return 0
        }
        sink.body.reserveCapacity(min(length, maxPreallocation))
    }
    return line.count
}

private let contentLength = Array("content-length".utf8)

/// Without spaces, tabs, CR and LF at both ends (the line's CRLF among them).
private func trimmingHTTPWhitespace(_ bytes: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer {
    func isSpace(_ byte: UInt8) -> Bool { byte == 0x20 || byte == 0x09 || byte == 0x0D || byte == 0x0A }
    var start = 0, end = bytes.count
    while start < end, isSpace(bytes[start]) { start += 1 }
    while end > start, isSpace(bytes[end - 1]) { end -= 1 }
    return UnsafeRawBufferPointer(rebasing: bytes[start..<end])
}
