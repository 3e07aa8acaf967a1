/// Substring search by Characters, as `_StringProcessing`'s `firstRange(of:)` and `replacing(_:with:)`
/// do it, so the layers a function links need not import that module (and link its regex engine).
/// Named apart from those so modules that do import it see no ambiguity. Inlinable, so each caller gets
/// a copy specialized for its types instead of generic code that looks up conformances at run time.
extension StringProtocol {
    /// The range of the first occurrence of `needle`; nil when there is none. An empty needle is found
    /// at the start.
    @inlinable
    public func rangeOfFirst(_ needle: some StringProtocol) -> Range<Index>? {
        guard let first = needle.first else { return startIndex..<startIndex }
        var start = startIndex
        while let candidate = self[start...].firstIndex(of: first) {
            if self[candidate...].starts(with: needle) {
                return candidate..<index(candidate, offsetBy: needle.count)
            }
            start = index(after: candidate)
        }
        return nil
    }

    /// Every occurrence of `target` (left to right, not overlapping) replaced by `replacement`.
    @inlinable
    public func replacingAll(_ target: some StringProtocol, with replacement: some StringProtocol) -> String {
        guard !target.isEmpty else { return String(self) }
        var out = ""
        var rest = self[...]
        while let found = rest.rangeOfFirst(target) {
            out += rest[..<found.lowerBound]
            out += replacement
            rest = rest[found.upperBound...]
        }
        out += rest
        return out
    }
}
