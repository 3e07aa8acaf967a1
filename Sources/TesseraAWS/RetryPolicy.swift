import Glibc
import TesseraHTTP
import TesseraSupport

/// The AWS SDKs' "standard" retry mode: at most 3 attempts, exponential backoff with full jitter
/// (random(0,1) x base x 2^(retry-1), capped), for throttling, transient errors, 5xx and broken
/// connections; never for validation or other client errors. A retry quota stops retry storms.
public struct RetryPolicy: Sendable {
    public var maxAttempts: Int
    /// Seconds; the SDKs use 1.
    public var baseDelay: Double
    public var maxDelay: Double

    public init(maxAttempts: Int = 3, baseDelay: Double = 1, maxDelay: Double = 20) {
        self.maxAttempts = maxAttempts
        self.baseDelay = baseDelay
        self.maxDelay = maxDelay
    }

    static let throttlingCodes: Set<String> = [
        "Throttling", "ThrottlingException", "ThrottledException", "RequestThrottledException",
        "TooManyRequestsException", "ProvisionedThroughputExceededException", "TransactionInProgressException",
        "RequestLimitExceeded", "BandwidthLimitExceeded", "LimitExceededException", "RequestThrottled",
        "SlowDown", "PriorRequestNotComplete", "EC2ThrottledException",
    ]
    static let transientCodes: Set<String> = [
        "RequestTimeout", "RequestTimeoutException", "InternalError", "InternalFailure", "ServiceUnavailable",
    ]

    /// Whether this failure may succeed when tried again.
    public func isRetryable(_ error: AWSError) -> Bool {
        switch error {
        case let .service(failure):
            return [500, 502, 503, 504].contains(failure.status) || Self.throttlingCodes.contains(failure.code)
                || Self.transientCodes.contains(failure.code)
        case let .transport(_, _, httpError):
            return httpError.isTransient
        case .invalidResponse:
            return false
        }
    }

    /// Seconds to wait before retry number `retry` (1-based).
    public func delay(beforeRetry retry: Int) -> Double {
        let ceiling = min(maxDelay, baseDelay * Double(1 << min(retry - 1, 30)))
        return Double.random(in: 0...1) * ceiling
    }
}

/// The standard mode's retry quota: 500 tokens, 5 a retry (10 after a timeout), 1 back per success.
final class RetryQuota: @unchecked Sendable {
    private var tokens = 500

    func acquire(after error: AWSError) -> Int? {
        var cost = 5
        if case .transport(_, _, .timedOut) = error { cost = 10 }
        guard tokens >= cost else { return nil }
        tokens -= cost
        return cost
    }

    func release(_ cost: Int?) {
        tokens = min(500, tokens + (cost ?? 1))
    }
}

