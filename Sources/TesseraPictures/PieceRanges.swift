/// Piece numbers written as ranges, the way `picture.incomplete` names the missing ones: `["3-5", "9"]`.
public enum PieceRanges {
    /// The numbers (sorted, unique) as ranges.
    public static func describe(_ numbers: [Int]) -> [String] {
        var ranges: [String] = []
        var index = 0
        let sorted = Array(Set(numbers)).sorted()
        while index < sorted.count {
            var end = index
            while end + 1 < sorted.count && sorted[end + 1] == sorted[end] + 1 { end += 1 }
            ranges.append(end == index ? "\(sorted[index])" : "\(sorted[index])-\(sorted[end])")
            index = end + 1
        }
        return ranges
    }

    /// The numbers of 1...total not in `present`.
    public static func missing(total: Int, present: some Sequence<Int>) -> [Int] {
        guard total > 0 else { return [] }
        var seen = [Bool](repeating: false, count: total + 1)
        for number in present where number >= 1 && number <= total { seen[number] = true }
        return (1...total).filter { !seen[$0] }
    }
}
