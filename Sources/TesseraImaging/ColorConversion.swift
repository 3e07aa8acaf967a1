import TesseraSupport

/// Colour conversions the decoder leaves to us.
public enum ColorConversion {
    /// CMYK to RGB in place, compacting 4 channels to 3. Adobe's files store the inks inverted
    /// (255 = no ink), which libjpeg hands back as stored.
    public static func cmykToRGB(_ buffer: inout PixelBuffer, inverted: Bool) {
        precondition(buffer.channels == 4, "CMYK needs 4 channels")
        let count = buffer.width * buffer.height
        buffer.pixels.withUnsafeMutableBufferPointer { p in
            for i in 0..<count {
                var c = Int(p[4 * i]), m = Int(p[4 * i + 1]), y = Int(p[4 * i + 2]), k = Int(p[4 * i + 3])
                if !inverted { c = 255 - c; m = 255 - m; y = 255 - y; k = 255 - k }
                p[3 * i] = UInt8((c * k + 127) / 255)
                p[3 * i + 1] = UInt8((m * k + 127) / 255)
                p[3 * i + 2] = UInt8((y * k + 127) / 255)
            }
        }
        buffer.pixels.removeLast(count)
        buffer.channels = 3
    }
}
