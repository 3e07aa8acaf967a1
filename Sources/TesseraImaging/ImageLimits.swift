import TesseraSupport

/// What a picture may cost, checked from its header before any pixel buffer exists.
public struct ImageLimits: Sendable, Equatable {
    /// Largest source picture, in pixels (width x height). Default 50 MP.
    public var maxPixels: Int
    /// Largest input file, in bytes. Default 64 MiB.
    public var maxInputBytes: Int
    /// Largest decoded buffer the decoder may allocate; beyond it the decoder scales down harder
    /// (DCT scaling straight to the target). Default 32 MiB, sized for 128 MB Lambdas.
    public var maxDecodeBytes: Int

    /// Largest coefficient buffer a progressive JPEG may need: libjpeg keeps a progressive file's
    /// whole coefficient image (128 bytes a block) whatever the output size. Default 128 MiB; a
    /// 128 MB Lambda should set far less.
    public var maxCoefficientBytes: Int

    public init(maxPixels: Int = 50_000_000, maxInputBytes: Int = 64 << 20, maxDecodeBytes: Int = 32 << 20,
                maxCoefficientBytes: Int = 128 << 20) {
        self.maxPixels = maxPixels
        self.maxInputBytes = maxInputBytes
        self.maxDecodeBytes = maxDecodeBytes
        self.maxCoefficientBytes = maxCoefficientBytes
    }
}
