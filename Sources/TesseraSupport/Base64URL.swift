/// RFC 4648 §5 base64url without padding, decoded strictly (one text for each byte string): cursors
/// and JSON Web Tokens.
public enum Base64URL {
    public static func encode(_ bytes: [UInt8]) -> String {
        var text = StrictBase64.encode(bytes)
        while text.hasSuffix("=") { text.removeLast() }
        return String(text.map { $0 == "+" ? "-" : $0 == "/" ? "_" : $0 })
    }

    public static func decode<Text: StringProtocol>(_ text: Text) -> [UInt8]? {
        guard !text.contains("+"), !text.contains("/"), !text.contains("=") else { return nil }
        var standard = String(text.map { $0 == "-" ? "+" : $0 == "_" ? "/" : $0 })
        while standard.utf8.count % 4 != 0 { standard += "=" }
        return try? StrictBase64.decode(standard.utf8)
    }
}
