import TesseraHTTP
import TesseraSupport

/// What Lambda tells a handler about the invocation it is serving.
public struct LambdaContext: Sendable {
    public let requestId: String
    /// Milliseconds since 1970 at which Lambda stops the invocation.
    public let deadlineMilliseconds: Int
    public let invokedFunctionARN: String
    /// The X-Ray trace header (`Root=...;Parent=...;Sampled=...`), if any.
    public let traceId: String?
    /// JSON the mobile SDK's client sent, if any.
    public let clientContext: String?
    /// JSON of the Amazon Cognito identity, if any.
    public let cognitoIdentity: String?
    /// Tagged with the request id; the loop gives it the function's format and level.
    public internal(set) var logger: LambdaLogger
    /// The invocation's metrics, written as one Embedded Metric Format line when it ends.
    public let metrics: InvocationMetrics

    public init(requestId: String, deadlineMilliseconds: Int, invokedFunctionARN: String, traceId: String?,
                clientContext: String?, cognitoIdentity: String?, logger: LambdaLogger,
                metrics: InvocationMetrics = InvocationMetrics()) {
        self.requestId = requestId
        self.deadlineMilliseconds = deadlineMilliseconds
        self.invokedFunctionARN = invokedFunctionARN
        self.traceId = traceId
        self.clientContext = clientContext
        self.cognitoIdentity = cognitoIdentity
        self.logger = logger
        self.metrics = metrics
    }

    /// The logger for lines about `picture` (`collection/name`), which the invocation is about as a
    /// whole: the runtime's own lines of it (its error) and its metrics line carry the picture too.
    public func logger(about picture: String) -> LambdaLogger {
        metrics.picture = picture
        return logger.with(picture: picture)
    }

    /// Time left before the deadline, in milliseconds (negative once passed). Saturates instead of
    /// trapping: the deadline comes from a header, and a context can be made with any value.
    public var remainingMilliseconds: Int {
        let (left, overflow) = deadlineMilliseconds.subtractingReportingOverflow(UTCTime.nowMilliseconds())
        return overflow ? .min : left
    }
}
