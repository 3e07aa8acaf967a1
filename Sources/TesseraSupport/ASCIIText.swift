extension String {
    /// ASCII case-insensitive comparison, enough for header names and without Foundation.
    public func caseInsensitiveEquals(_ other: String) -> Bool {
        let a = utf8, b = other.utf8
        guard a.count == b.count else { return false }
        // Index by index: the same answer as zip(a, b).allSatisfy, without an iterator and closure per
        // call (header lookups run on every request).
        var i = a.startIndex, j = b.startIndex
        while i != a.endIndex {
            guard asciiLower(a[i]) == asciiLower(b[j]) else { return false }
            a.formIndex(after: &i)
            b.formIndex(after: &j)
        }
        return true
    }

    /// Lower-cases ASCII letters only (header names, hex digits).
    public var asciiLowercased: String {
        String(decoding: utf8.map(asciiLower), as: UTF8.self)
    }
}

@inline(__always) public func asciiLower(_ c: UInt8) -> UInt8 {
    (c >= 65 && c <= 90) ? c + 32 : c
}

extension String {
    /// Without spaces, tabs, CR and LF at both ends.
    public func trimmingHTTPWhitespace() -> String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\r" || $0 == "\n" || $0 == "\r\n" }
        guard let first = firstIndex(where: { !isSpace($0) }), let last = lastIndex(where: { !isSpace($0) }) else {
            return ""
        }
        return String(self[first...last])
    }
}

extension String {
    /// The same as `uppercased()`; ASCII text (every name read at start-up) is mapped here, without
    /// touching the standard library's Unicode case tables, which a cold start would page in for it.
    public func fastUppercased() -> String {
        var bytes = [UInt8]()
        bytes.reserveCapacity(utf8.count)
        for byte in utf8 {
            guard byte < 0x80 else { return uppercased() }
            bytes.append(byte >= 97 && byte <= 122 ? byte - 32 : byte)
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The same as `lowercased()`, ASCII text mapped without the Unicode case tables.
    public func fastLowercased() -> String {
        var bytes = [UInt8]()
        bytes.reserveCapacity(utf8.count)
        for byte in utf8 {
            guard byte < 0x80 else { return lowercased() }
            bytes.append(asciiLower(byte))
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
