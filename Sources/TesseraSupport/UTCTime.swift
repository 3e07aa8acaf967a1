import Glibc

/// Wall-clock time split into UTC calendar fields, without Foundation.
public struct UTCTime: Sendable {
    public let year, month, day, hour, minute, second, millisecond: Int

    public init(epochMilliseconds: Int) {
        var seconds = time_t(epochMilliseconds / 1000)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        year = Int(parts.tm_year) + 1900
        month = Int(parts.tm_mon) + 1
        day = Int(parts.tm_mday)
        hour = Int(parts.tm_hour)
        minute = Int(parts.tm_min)
        second = Int(parts.tm_sec)
        millisecond = epochMilliseconds % 1000
    }

    /// Milliseconds since 1970 from the real-time clock.
    public static func nowMilliseconds() -> Int {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return spec.tv_sec * 1000 + spec.tv_nsec / 1_000_000
    }

    /// `2026-11-21T05:58:24.934Z`
    public var iso8601: String {
        // Digit by digit into one buffer: every log line carries one.
        var out = [UInt8]()
        out.reserveCapacity(24)
        func digits(_ value: Int, _ width: Int) {
            var divisor = 1
            for _ in 1..<width { divisor *= 10 }
            guard value >= 0, value < divisor * 10 else {
                out += pad(value, width).utf8  // a year past 9999 or before 0: as pad writes it
                return
            }
            while divisor > 0 {
                out.append(UInt8(ascii: "0") + UInt8(value / divisor % 10))
                divisor /= 10
            }
        }
        digits(year, 4); out.append(UInt8(ascii: "-")); digits(month, 2); out.append(UInt8(ascii: "-")); digits(day, 2)
        out.append(UInt8(ascii: "T")); digits(hour, 2); out.append(UInt8(ascii: ":")); digits(minute, 2)
        out.append(UInt8(ascii: ":")); digits(second, 2); out.append(UInt8(ascii: ".")); digits(millisecond, 3)
        out.append(UInt8(ascii: "Z"))
        return String(decoding: out, as: UTF8.self)
    }

    /// `20261121` and `20261121T055824Z`, the forms SigV4 signs.
    public var compactDay: String { pad(year, 4) + pad(month, 2) + pad(day, 2) }
    public var compactTimestamp: String { compactDay + "T" + pad(hour, 2) + pad(minute, 2) + pad(second, 2) + "Z" }
}

@inline(__always) public func pad(_ value: Int, _ width: Int) -> String {
    let digits = String(value)
    return digits.count >= width ? digits : String(repeating: "0", count: width - digits.count) + digits
}
