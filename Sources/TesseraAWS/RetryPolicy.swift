import Glibc
import Synchronization
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
    /// Full jitter (the SDKs' choice, so clients retrying together spread out); off waits the whole
    /// ceiling, which makes a delay predictable in tests.
    public var jitter: Bool

    public init(maxAttempts: Int = 3, baseDelay: Double = 1, maxDelay: Double = 20, jitter: Bool = true) {
        self.maxAttempts = maxAttempts
        self.baseDelay = baseDelay
        self.maxDelay = maxDelay
        self.jitter = jitter
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
        case .invalidResponse, .deadlineExceeded, .responseTooLarge, .invalidRequest:
            return false
        }
    }

    /// Seconds to wait before retry number `retry` (1-based).
    public func delay(beforeRetry retry: Int) -> Double {
        let ceiling = min(maxDelay, baseDelay * Double(1 << min(retry - 1, 30)))
        return jitter ? Double.random(in: 0...1) * ceiling : ceiling
    }
}

/// The standard mode's retry quota: 500 tokens, 5 a retry (10 after a timeout), 1 back per success.
/// Locked, so copies of a client used from several threads share it safely.
final class RetryQuota: Sendable {
    static let capacity = 500
    private let tokens = Mutex(RetryQuota.capacity)

    /// Takes a retry's cost; nil when the quota cannot pay it (no retry then).
    func acquire(after error: AWSError) -> Int? {
        var cost = 5
        if case .transport(_, _, .timedOut) = error { cost = 10 }
        return tokens.withLock { tokens in
            guard tokens >= cost else { return nil }
            tokens -= cost
            return cost
        }
    }

    /// Gives back a successful retry's cost, or 1 for a success at the first attempt.
    func release(_ cost: Int?) {
        tokens.withLock { $0 = min(Self.capacity, $0 + (cost ?? 1)) }
    }

    var available: Int { tokens.withLock { $0 } }
}
