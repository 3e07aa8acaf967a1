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

    public var description: String {
        switch self {
        case let .invalidRequest(url, reason): "invalid HTTP request to \(url): \(reason)"
        case let .couldNotConnect(url, reason): "could not connect to \(url): \(reason)"
        case let .timedOut(url, ms): "request to \(url) timed out after \(ms) ms"
        case let .connectionLost(url, reason): "connection to \(url) lost: \(reason)"
        }
    }

    /// Whether trying again may succeed (the AWS SDKs retry these as transient).
    public var isTransient: Bool {
        if case .invalidRequest = self { return false }
        return true
    }
}
