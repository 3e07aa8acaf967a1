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

    /// The factor giving the smallest decode that is at least `margin` x `target` (capped at the source);
    /// when that buffer is over `maxBytes`, the smallest that covers `target` itself. (Taking instead
    /// the largest factor under the budget, then filtering, was measured: +0.06 dB PSNR on average for
    /// about a quarter less throughput at 50%; not worth it.)
    static func chooseFactor(source: (Int, Int), target: (Int, Int), margin: Double, channels: Int,
                             maxBytes: Int) -> (num: Int, denom: Int) {
        func covers(_ f: (num: Int, denom: Int), _ need: (Int, Int)) -> Bool {
            scaled(source.0, f) >= need.0 && scaled(source.1, f) >= need.1
        }
        func fitsBudget(_ f: (num: Int, denom: Int)) -> Bool {
            scaled(source.0, f) * scaled(source.1, f) * channels <= maxBytes
        }
        let wanted = (min(source.0, Int((Double(target.0) * margin).rounded(.up))),
                      min(source.1, Int((Double(target.1) * margin).rounded(.up))))
        let needed = (min(source.0, target.0), min(source.1, target.1))
        if let f = shrinkFactors.first(where: { covers($0, wanted) }), fitsBudget(f) { return f }
        return shrinkFactors.first { covers($0, needed) } ?? (1, 1)
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
        let factor = Self.chooseFactor(source: (info.width, info.height), target: target, margin: margin,
                                       channels: channels, maxBytes: limits.maxDecodeBytes)
        let width = Self.scaled(info.width, factor), height = Self.scaled(info.height, factor)
        var pixels = [UInt8](unsafeUninitializedCapacity: width * height * channels) { _, count in
            count = width * height * channels
        }
        let status = jpeg.withUnsafeBufferPointer { source in
            pixels.withUnsafeMutableBufferPointer { target in
                var headerWidth: Int32 = 0, headerHeight: Int32 = 0, subsampling: Int32 = 0
                let source = UnsafeMutablePointer(mutating: source.baseAddress!)
                guard tjDecompressHeader2(handle, source, UInt(jpeg.count), &headerWidth, &headerHeight,
                                          &subsampling) == 0 else { return Int32(-2) }
                return tjDecompress2(handle, source, UInt(jpeg.count), target.baseAddress, Int32(width), 0,
                                     Int32(height), pixelFormat, 0)
            }
        }
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
