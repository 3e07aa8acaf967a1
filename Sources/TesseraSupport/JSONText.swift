/// Escapes text for a JSON string literal, for hand-written lines on hot paths (logs, error posts).
public func jsonQuoted(_ text: String) -> String {
    var out = [UInt8]()
    appendJSONQuoted(text, to: &out)
    return String(decoding: out, as: UTF8.self)
}

/// Appends `text` as a JSON string literal, quotes included. Works on the UTF-8 bytes: only `"`, `\`
/// and the control characters below U+0020 need escaping, and none of them occurs inside a multi-byte
/// sequence, so every other byte goes through as it is.
public func appendJSONQuoted(_ text: String, to out: inout [UInt8]) {
    let hex: StaticString = "0123456789abcdef"
    out.reserveCapacity(out.count + text.utf8.count + 2)
    out.append(UInt8(ascii: "\""))
    for byte in text.utf8 {
        switch byte {
        case UInt8(ascii: "\""): out.append(UInt8(ascii: "\\")); out.append(byte)
        case UInt8(ascii: "\\"): out.append(UInt8(ascii: "\\")); out.append(byte)
        case 0x0A: out.append(UInt8(ascii: "\\")); out.append(UInt8(ascii: "n"))
        case 0x0D: out.append(UInt8(ascii: "\\")); out.append(UInt8(ascii: "r"))
        case 0x09: out.append(UInt8(ascii: "\\")); out.append(UInt8(ascii: "t"))
        case 0..<0x20:
            out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0")])
            out.append(hex.utf8Start[Int(byte >> 4)])
            out.append(hex.utf8Start[Int(byte & 15)])
        default: out.append(byte)
        }
    }
    out.append(UInt8(ascii: "\""))
}
