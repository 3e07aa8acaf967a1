import TesseraHTTP
import TesseraSupport

/// A request as the signer sees it: the wire path, the decoded query and the headers.
public struct SignableRequest: Sendable {
    public var method: String
    /// `http` or `https`.
    public var scheme: String
    /// Host, with `:port` when the port is not the scheme's default.
    public var host: String
    /// The path as sent on the wire (already percent-encoded once), starting with `/`.
    public var path: String
    /// Query parameters, not encoded; the signer encodes them.
    public var query: [(name: String, value: String)]
    public var headers: HTTPHeaders

    public init(method: String, scheme: String = "https", host: String, path: String = "/",
                query: [(name: String, value: String)] = [], headers: HTTPHeaders = HTTPHeaders()) {
        self.method = method
        self.scheme = scheme
        self.host = host
        self.path = path.isEmpty ? "/" : path
        self.query = query
        self.headers = headers
    }

    /// The query string in canonical form: strictly encoded, sorted by name then value.
    public var canonicalQuery: String {
        query.map { (PercentEncoding.encode($0.name), PercentEncoding.encode($0.value)) }
            .sorted { $0.0 == $1.0 ? $0.1 < $1.1 : $0.0 < $1.0 }
            .map { "\($0.0)=\($0.1)" }
            .joined(separator: "&")
    }

    /// The absolute URL to send, parameters in the order given (the signature last).
    public var url: String {
        let query = self.query.map { PercentEncoding.encode($0.name) + "=" + PercentEncoding.encode($0.value) }
            .joined(separator: "&")
        return "\(scheme)://\(host)\(path)" + (query.isEmpty ? "" : "?" + query)
    }
}
