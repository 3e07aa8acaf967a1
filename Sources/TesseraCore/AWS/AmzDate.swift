import Glibc

/// A signing instant in the two forms SigV4 uses: `20150830` and `20150830T123600Z`.
public struct AmzDate: Sendable, Equatable {
    public let epochSeconds: Int
    public let day: String
    public let timestamp: String

    public init(epochSeconds: Int) {
        self.epochSeconds = epochSeconds
        var time = time_t(epochSeconds)
        var parts = tm()
        gmtime_r(&time, &parts)
        func pad(_ value: Int32, _ width: Int) -> String {
            let digits = String(value)
            return String(repeating: "0", count: max(0, width - digits.count)) + digits
        }
        day = pad(parts.tm_year + 1900, 4) + pad(parts.tm_mon + 1, 2) + pad(parts.tm_mday, 2)
        timestamp = day + "T" + pad(parts.tm_hour, 2) + pad(parts.tm_min, 2) + pad(parts.tm_sec, 2) + "Z"
    }

    /// The current time.
    public static func now() -> AmzDate {
        AmzDate(epochSeconds: Int(time(nil)))
    }
}
