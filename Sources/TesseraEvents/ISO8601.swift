import Glibc

/// The UTC timestamps AWS events carry (`2026-11-21T12:00:00.000Z`, fraction optional). The emulator
/// leaves out the `Z` (`2026-11-21T16:54:22.400147`); a time without a zone is taken as UTC.
enum ISO8601 {
    /// Milliseconds since 1970, or nil when the text is not such a timestamp.
    static func milliseconds(_ text: String) -> Int? {
        var b = Array(text.utf8)
        if b.count >= 19, b.last != UInt8(ascii: "Z") { b.append(UInt8(ascii: "Z")) }
        guard b.count >= 20, b.last == UInt8(ascii: "Z"), b[4] == 45, b[7] == 45, b[10] == UInt8(ascii: "T"),
              b[13] == 58, b[16] == 58 else { return nil }
        func number(_ range: Range<Int>) -> Int? {
            var value = 0
            for i in range {
                guard (48...57).contains(b[i]) else { return nil }
                value = value * 10 + Int(b[i]) - 48
            }
            return value
        }
        guard let year = number(0..<4), let month = number(5..<7), let day = number(8..<10),
              let hour = number(11..<13), let minute = number(14..<16), let second = number(17..<19),
              (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60, second < 61 else { return nil }
        var millisecond = 0
        if b.count > 20 {
            guard b[19] == UInt8(ascii: "."), b.count - 21 >= 1, b.count - 21 <= 9,
                  let fraction = number(20..<(b.count - 1)) else { return nil }
            let digits = b.count - 21
            millisecond = digits >= 3 ? fraction / Int(pow(10, Double(digits - 3))) : fraction * Int(pow(10, Double(3 - digits)))
        }
        var parts = tm()
        parts.tm_year = Int32(year - 1900)
        parts.tm_mon = Int32(month - 1)
        parts.tm_mday = Int32(day)
        parts.tm_hour = Int32(hour)
        parts.tm_min = Int32(minute)
        parts.tm_sec = Int32(second)
        return Int(timegm(&parts)) * 1000 + millisecond
    }
}
