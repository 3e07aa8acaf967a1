import Glibc
import TesseraHTTP
import TesseraSupport

/// A signing instant in the two forms SigV4 uses: `20150830` and `20150830T123600Z`.
public struct AmzDate: Sendable, Equatable {
    public let epochSeconds: Int
    public let day: String
    public let timestamp: String

    public init(epochSeconds: Int) {
        self.epochSeconds = epochSeconds
        let time = UTCTime(epochMilliseconds: epochSeconds * 1000)
        day = time.compactDay
        timestamp = time.compactTimestamp
    }

    /// The current time.
    public static func now() -> AmzDate {
        AmzDate(epochSeconds: Int(time(nil)))
    }
}
