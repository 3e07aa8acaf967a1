import TesseraSupport

/// Names what a byte buffer looks like from its first bytes, so a non-JPEG gets a precise error.
public enum ImageFormat {
    public static func sniff(_ bytes: [UInt8]) -> String {
        func starts(_ prefix: [UInt8], at offset: Int = 0) -> Bool {
            bytes.count >= offset + prefix.count && Array(bytes[offset..<(offset + prefix.count)]) == prefix
        }
        if bytes.isEmpty { return "empty input" }
        // Start-of-image is all libjpeg asks for first; it skips junk before the next marker (a warning).
        if starts([0xFF, 0xD8]) { return "JPEG" }
        if starts([0x89, 0x50, 0x4E, 0x47]) { return "PNG" }
        if starts(Array("GIF8".utf8)) { return "GIF" }
        if starts(Array("RIFF".utf8)) && starts(Array("WEBP".utf8), at: 8) { return "WebP" }
        if starts(Array("ftyp".utf8), at: 4) {
            let brand = bytes.count >= 12 ? String(decoding: bytes[8..<12], as: UTF8.self) : ""
            return ["heic", "heix", "hevc", "heim", "heis", "mif1", "msf1"].contains(brand) ? "HEIC" :
                brand.hasPrefix("avi") ? "AVIF" : "ISO media (\(brand))"
        }
        if starts([0x49, 0x49, 0x2A, 0x00]) || starts([0x4D, 0x4D, 0x00, 0x2A]) { return "TIFF" }
        if starts(Array("BM".utf8)) { return "BMP" }
        if starts(Array("%PDF".utf8)) { return "PDF" }
        return "unknown data (first bytes \(hexString(bytes.prefix(4))))"
    }
}
