import TesseraSupport

/// Why an HTTP exchange failed before a response arrived; each case names the URL.
public enum HTTPError: Error, Equatable, CustomStringConvertible {
    /// libcurl refused the URL or an option: a programming or configuration error.
    case invalidRequest(url: String, reason: String)
    /// No TCP/TLS connection could be made (refused, unreachable, DNS failure, TLS handshake).
    case couldNotConnect(url: String, reason: String)
    /// The connect timeout or the request's total timeout ran out.
    case timedOut(url: String, afterMs: Int)
    /// The connection broke while sending or receiving.
    case connectionLost(url: String, reason: String)
    /// The response body is larger than the request allowed; reading stopped there.
    case responseTooLarge(url: String, limit: Int)

    public var description: String {
        switch self {
        case let .invalidRequest(url, reason): "invalid HTTP request to \(url): \(reason)"
        case let .couldNotConnect(url, reason): "could not connect to \(url): \(reason)"
        case let .timedOut(url, ms): "request to \(url) timed out after \(ms) ms"
        case let .connectionLost(url, reason): "connection to \(url) lost: \(reason)"
        case let .responseTooLarge(url, limit): "response from \(url) is larger than the \(limit) bytes allowed"
        }
    }

    /// Whether trying again may succeed (the AWS SDKs retry these as transient).
    public var isTransient: Bool {
        switch self {
        case .invalidRequest, .responseTooLarge: false
        default: true
        }
    }
}
