import TesseraSupport

/// What one invocation allows its AWS calls: to finish before its deadline, less a margin kept for
/// reporting a failure to the Runtime API, and to carry its trace header.
public struct CallScope: Sendable, Equatable {
    /// Milliseconds since 1970 by which the invocation must be done; nil for no deadline.
    public var deadlineMilliseconds: Int?
    /// The X-Ray trace header (`Root=...`), forwarded as `X-Amzn-Trace-Id`.
    public var traceId: String?
    /// Time kept back before the deadline so the handler can still fail cleanly and be reported.
    public var marginMilliseconds: Int
    /// The shortest attempt worth making: an attempt with less time than this is not started.
    public var minimumAttemptMilliseconds: Int

    public init(deadlineMilliseconds: Int? = nil, traceId: String? = nil, marginMilliseconds: Int = 500,
                minimumAttemptMilliseconds: Int = 50) {
        self.deadlineMilliseconds = deadlineMilliseconds
        self.traceId = traceId
        self.marginMilliseconds = marginMilliseconds
        self.minimumAttemptMilliseconds = minimumAttemptMilliseconds
    }

    /// Milliseconds left for AWS calls (deadline less margin); nil when there is no deadline.
    public func usableMilliseconds(now: Int = UTCTime.nowMilliseconds()) -> Int? {
        deadlineMilliseconds.map { $0 - marginMilliseconds - now }
    }

    /// The total timeout of the next attempt: the client's default, cut to the usable time left;
    /// 0 or less when no attempt is worth starting.
    func attemptBudgetMilliseconds(default defaultMs: Int) -> Int {
        guard let usable = usableMilliseconds() else { return defaultMs }
        guard usable >= minimumAttemptMilliseconds else { return 0 }
        return defaultMs == 0 ? usable : min(defaultMs, usable)
    }

    /// Whether waiting `seconds` still leaves time for a worthwhile attempt.
    func allows(waitingSeconds seconds: Double) -> Bool {
        guard let usable = usableMilliseconds() else { return true }
        return Double(usable) - seconds * 1000 >= Double(minimumAttemptMilliseconds)
    }

    /// Whether the usable time has run out (so a failure now is the deadline's doing).
    var isExhausted: Bool { (usableMilliseconds() ?? .max) < minimumAttemptMilliseconds }
}
