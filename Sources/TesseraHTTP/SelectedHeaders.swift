/// The values of a `HeaderSelection`'s fields in one response: bytes without the surrounding
/// whitespace, in one buffer. A field sent twice keeps its first value (as `HTTPHeaders[name]` reads
/// it); a field sent with nothing after the colon is present and empty.
public struct SelectedHeaders: Sendable, Equatable {
    private var storage: [UInt8] = []
    private var ranges: [Range<Int>?]

    public init(count: Int) {
        ranges = Array(repeating: nil, count: count)
    }

    /// Records the value of field `index` unless it has one already.
    mutating func record(_ index: Int, _ value: UnsafeRawBufferPointer) {
        guard ranges[index] == nil else { return }
        let start = storage.count
        storage.append(contentsOf: value)
        ranges[index] = start..<storage.count
    }

    /// Forgets every value (a new response began: an interim 1xx or a redirect's final answer).
    mutating func removeAll() {
        storage.removeAll(keepingCapacity: true)
        for index in ranges.indices { ranges[index] = nil }
    }

    /// The value's bytes; nil when the field was not sent.
    public subscript(index: Int) -> ArraySlice<UInt8>? {
        ranges[index].map { storage[$0] }
    }

    /// The value as text (invalid UTF-8 repaired); nil when the field was not sent.
    public func string(_ index: Int) -> String? {
        self[index].map { String(decoding: $0, as: UTF8.self) }
    }

    /// The value as a decimal integer, read as `Int(String)` reads one (an optional sign, then digits,
    /// nothing else); nil when the field was not sent, is not such a number, or does not fit `Int`.
    public func integer(_ index: Int) -> Int? {
        self[index].flatMap(Self.decimal)
    }

    static func decimal<Bytes: Collection>(_ bytes: Bytes) -> Int? where Bytes.Element == UInt8 {
        var digits = bytes[...]
        var negative = false
        if let sign = digits.first, sign == UInt8(ascii: "-") || sign == UInt8(ascii: "+") {
            negative = sign == UInt8(ascii: "-")
            digits = digits.dropFirst()
        }
        guard !digits.isEmpty else { return nil }
        var value = 0
        for byte in digits {
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
            let digit = Int(byte - UInt8(ascii: "0"))
            // Accumulated negatively, so Int.min reads too.
            let (times10, overflow1) = value.multipliedReportingOverflow(by: 10)
            let (next, overflow2) = times10.subtractingReportingOverflow(digit)
            guard !overflow1, !overflow2 else { return nil }
            value = next
        }
        if negative { return value }
        let (positive, overflow) = (0).subtractingReportingOverflow(value)
        return overflow ? nil : positive
    }
}
