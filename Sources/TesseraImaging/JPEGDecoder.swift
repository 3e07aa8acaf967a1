import CTurboJPEG
import TesseraSupport

/// Decodes JPEGs through TurboJPEG, shrinking on load with the decoder's DCT scaling (M/8 factors).
public final class JPEGDecoder {
    private let handle: tjhandle

    public init() throws {
        guard let handle = tjInitDecompress() else { throw ImagingError.codec(turboJPEGError()) }
        self.handle = handle
    }

    deinit { tjDestroy(handle) }

    /// The DCT scaling factors this libjpeg-turbo offers that shrink (num <= denom), smallest first.
    static let shrinkFactors: [(num: Int, denom: Int)] = {
        var count: Int32 = 0
        guard let factors = tjGetScalingFactors(&count) else { return [(1, 1)] }
        return (0..<Int(count)).map { (Int(factors[$0].num), Int(factors[$0].denom)) }
            .filter { $0.num <= $0.denom }
            .sorted { Double($0.num) / Double($0.denom) < Double($1.num) / Double($1.denom) }
    }()

    static func scaled(_ side: Int, _ factor: (num: Int, denom: Int)) -> Int {
        (side * factor.num + factor.denom - 1) / factor.denom
    }

    /// Bytes a decode at `factor` allocates: our picture buffer, and libjpeg's working memory. The
    /// whole-image coefficient arrays of a multi-scan file are apart (`maxCoefficientBytes`).
    static func decodeBytes(_ info: JPEGInfo, _ factor: (num: Int, denom: Int), channels: Int) -> Int {
        let width = scaled(info.width, factor), height = scaled(info.height, factor)
        return width * height * channels + workingBytes(info, width: width, height: height)
    }

    /// libjpeg's rows (every component's sample rows with their context rows, the upsampler's) grow
    /// with the scaled width and the tallest sampling factor; TurboJPEG adds a row pointer a row.
    /// Measured after `jpeg_start_decompress` on 16000-pixel-wide files at every scale: 9 bytes a
    /// column (gray), 25 (4:4:4), 35-43 (4:2:0), 46 (4:4:0), plus about 20 KB; this bound is above each.
    static func workingBytes(_ info: JPEGInfo, width: Int, height: Int) -> Int {
        let vMax = info.samplingFactors.map(\.v).max() ?? 1
        return width * (info.components * 10 * vMax + 16) + height * MemoryLayout<Int>.size + (64 << 10)
    }

    /// The factor giving the smallest decode that is at least `margin` x `target` (capped at the source)
    /// when that fits `maxDecodeBytes`; otherwise the smallest that covers `target` itself; when even that
    /// is over the budget, nothing: the caller refuses. (Taking instead the largest factor under the
    /// budget, then filtering, was measured: +0.06 dB PSNR on average for about a quarter less
    /// throughput at 50%; not worth it.)
    static func chooseFactor(_ info: JPEGInfo, target: (Int, Int), margin: Double, channels: Int,
                             maxBytes: Int) -> (factor: (num: Int, denom: Int), bytes: Int, fits: Bool) {
        func covers(_ f: (num: Int, denom: Int), _ need: (Int, Int)) -> Bool {
            scaled(info.width, f) >= need.0 && scaled(info.height, f) >= need.1
        }
        let wanted = (min(info.width, Int((Double(target.0) * margin).rounded(.up))),
                      min(info.height, Int((Double(target.1) * margin).rounded(.up))))
        let needed = (min(info.width, target.0), min(info.height, target.1))
        if let f = shrinkFactors.first(where: { covers($0, wanted) }),
           decodeBytes(info, f, channels: channels) <= maxBytes {
            return (f, decodeBytes(info, f, channels: channels), true)
        }
        let f = shrinkFactors.first { covers($0, needed) } ?? (1, 1)
        let bytes = decodeBytes(info, f, channels: channels)
        return (f, bytes, bytes <= maxBytes)
    }

    /// Decodes to RGB (gray stays one channel; CMYK/YCCK come out as RGB), at least `target` large.
    public func decode(_ jpeg: [UInt8], info: JPEGInfo, target: (width: Int, height: Int), margin: Double,
                       limits: ImageLimits) throws -> PixelBuffer {
        let isCMYK = info.colorSpace == .cmyk || info.colorSpace == .ycck
        let channels = info.components == 1 ? 1 : isCMYK ? 4 : 3
        let pixelFormat: Int32
        switch channels {
        case 1: pixelFormat = Int32(TJPF_GRAY.rawValue)
        case 4:
            pixelFormat = tessera_tjpf_cmyk()
            guard pixelFormat >= 0 else {
                throw ImagingError.unsupportedJPEG("CMYK needs libjpeg-turbo 1.4 or newer; this system's is older")
            }
        default: pixelFormat = Int32(TJPF_RGB.rawValue)
        }
        // The inspector checked these with the same limits; checked again for callers that did not.
        try JPEGInspector.checkCoefficients(info, limits)
        let (factor, bytes, fits) = Self.chooseFactor(info, target: target, margin: margin, channels: channels,
                                                      maxBytes: limits.maxDecodeBytes)
        let width = Self.scaled(info.width, factor), height = Self.scaled(info.height, factor)
        guard fits else {
            throw ImagingError.tooMuchMemory(
                needed: bytes, limit: limits.maxDecodeBytes,
                reason: "the smallest decode of this \(info.width)x\(info.height) JPEG that covers \(target.width)x"
                    + "\(target.height) is \(width)x\(height) (DCT scale \(factor.num)/\(factor.denom), maxDecodeBytes)")
        }
        var pixels = [UInt8](unsafeUninitializedCapacity: width * height * channels) { _, count in
            count = width * height * channels
        }
        let status = jpeg.withUnsafeBufferPointer { source in
            pixels.withUnsafeMutableBufferPointer { target in
                var headerWidth: Int32 = 0, headerHeight: Int32 = 0, subsampling: Int32 = 0
                let source = UnsafeMutablePointer(mutating: source.baseAddress!)
                guard tjDecompressHeader2(handle, source, UInt(jpeg.count), &headerWidth, &headerHeight,
                                          &subsampling) == 0 else { return Int32(-2) }
                // The budget was computed from the inspector's reading of the header: it must be libjpeg's.
                guard Int(headerWidth) == info.width, Int(headerHeight) == info.height else { return Int32(-3) }
                return tjDecompress2(handle, source, UInt(jpeg.count), target.baseAddress, Int32(width), 0,
                                     Int32(height), pixelFormat, 0)
            }
        }
        if status == -3 { throw ImagingError.corrupt("libjpeg reads another size than the frame header gives") }
        if status != 0 {
            let message = turboJPEGError()
            throw status == -2 ? ImagingError.corrupt(message) : ImagingError.codec(message)
        }
        var buffer = PixelBuffer(width: width, height: height, channels: channels, pixels: pixels)
        if isCMYK { ColorConversion.cmykToRGB(&buffer, inverted: info.hasAdobeMarker) }
        return buffer
    }
}

/// TurboJPEG's message for the last failure (1.2.90 has only the global `tjGetErrorStr`).
func turboJPEGError() -> String {
    guard let message = tjGetErrorStr() else { return "unknown TurboJPEG error" }
    return String(cString: message)
}
