import TesseraSupport

/// Interleaved 8-bit pixels: 1 channel (gray), 3 (RGB) or 4 (CMYK, only straight out of the decoder).
public struct PixelBuffer: Sendable, Equatable {
    public var width: Int
    public var height: Int
    public var channels: Int
    public var pixels: [UInt8]

    public init(width: Int, height: Int, channels: Int, pixels: [UInt8]) {
        precondition(pixels.count >= width * height * channels, "pixel storage too small")
        self.width = width
        self.height = height
        self.channels = channels
        self.pixels = pixels
    }

    public var byteCount: Int { width * height * channels }
}
