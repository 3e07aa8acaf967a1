import TesseraSupport

/// What a picture may cost, checked from its markers before any pixel buffer exists. Every limit is
/// hard: a picture over one is refused with its typed error, never decoded "just this once".
public struct ImageLimits: Sendable, Equatable {
    /// Largest source picture, in pixels (width x height). Default 50 MP.
    public var maxPixels: Int
    /// Largest input file, in bytes. Default 64 MiB.
    public var maxInputBytes: Int
    /// Largest decode: the decoded picture plus libjpeg's own row buffers at the chosen DCT scale
    /// (`JPEGDecoder.decodeBytes`). The decoder takes the smallest scale covering the target
    /// (`qualityMargin` times it when that fits); when even that is over, the picture is refused
    /// (`Imaging.TooMuchMemory`). Default 32 MiB.
    public var maxDecodeBytes: Int
    /// Largest coefficient image: libjpeg keeps the whole of it (128 bytes a block) for every
    /// multi-scan file (progressive, or baseline with more than one scan) whatever the output size,
    /// and frees it when the decode ends. Counted exactly from the frame header (`coefficientBytes`:
    /// 294,000,000 for a 7000x7000 4:4:4, where libjpeg allocates 294,046,080), apart from
    /// `maxDecodeBytes`, which it adds to. Default 128 MiB.
    public var maxCoefficientBytes: Int
    /// Largest rendition, in pixels (the renditions of one call together, since they are returned
    /// together). Default 16 MP (4096x4096).
    public var maxOutputPixels: Int
    /// Most bytes the renditions of one call hold (`outputBytesPerPixel`: their resized pixels or
    /// planes, upright copies, and JPEG at its worst), once the decode is freed; while they are
    /// resized, the decode and their planes or pixels together. Default 176 MiB (16 MP at 11 bytes).
    public var maxOutputBytes: Int
    /// Largest ICC profile carried to renditions; a larger one is dropped with a note. Default
    /// 1 MiB (real display and camera profiles are 0.5-60 KB; print profiles reach a few hundred KB).
    public var maxICCBytes: Int
    /// Most scans (SOS markers) a file may have: libjpeg decodes every scan over the whole picture,
    /// and a scan of nothing but end-of-band runs costs a few bytes, so scans are CPU time for free
    /// (2,647 of them: 10 s for a 220 KB file). Default 100, the most `jpegtran -scans` (libjpeg's own
    /// tool for custom scripts) writes; libjpeg's default script has 10 (6 for gray), Photoshop's 3-5.
    /// Measured, 100 scans over the largest picture `forMemory` lets through cost about 1.3 s of CPU at
    /// 128 MB and 5 s at 1024 MB (a 49 MP 4:4:4), against 0.2 and 1-2 s for a usual file that size.
    public var maxScans: Int
    /// Bytes the renditions of a call hold beside the decode while they are resized: the renderer
    /// sets it and lowers `maxDecodeBytes` so that both fit `maxOutputBytes`, and a refused decode
    /// names a function whose limits take both (`neededFunction(decoding:)`). Zero outside a render.
    public var heldBesideDecode = 0

    public init(maxPixels: Int = 50_000_000, maxInputBytes: Int = 64 << 20, maxDecodeBytes: Int = 32 << 20,
                maxCoefficientBytes: Int = 128 << 20, maxOutputPixels: Int = 16 << 20, maxICCBytes: Int = 1 << 20,
                maxScans: Int = 100, maxOutputBytes: Int = (16 << 20) * 11) {
        self.maxPixels = maxPixels
        self.maxInputBytes = maxInputBytes
        self.maxDecodeBytes = maxDecodeBytes
        self.maxCoefficientBytes = maxCoefficientBytes
        self.maxOutputPixels = maxOutputPixels
        self.maxOutputBytes = maxOutputBytes
        self.maxICCBytes = maxICCBytes
        self.maxScans = maxScans
    }
}
