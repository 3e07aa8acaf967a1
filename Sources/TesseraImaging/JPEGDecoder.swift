import CTurboJPEG
import TesseraSupport

/// Decodes JPEGs through TurboJPEG, shrinking on load with the decoder's DCT scaling (M/8 factors).
public final class JPEGDecoder {
    var handle: tjhandle

    public init() throws {
        guard let handle = tjInitDecompress() else { throw ImagingError.codec(turboJPEGError()) }
        self.handle = handle
    }

    deinit { tjDestroy(handle) }

    /// A failed tjDecompressHeader2 returns without aborting libjpeg's decompressor (libjpeg-turbo 2.1), so
    /// the next picture would be read on from where the error stopped this one: every later picture then
    /// failed as corrupt. After a failure the handle is replaced.
    private func resetHandle() {
        guard let fresh = tjInitDecompress() else { return }
        tjDestroy(handle)
        handle = fresh
    }

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

    /// How many times a rendition's size the decode must be before the Lanczos filter, for a DCT
    /// scale. Measured against a Lanczos resize of the full decode (PSNR after encoding at quality 85):
    /// above 4/8 the scaled IDCT (jidctint.c) is faithful, and 1.25x costs 0.03 dB on the corpus's
    /// half rendition (at 1x, 0.13 dB). At 4/8 and below it aliases and needs 3x: the 1-, 2- and
    /// 3-point IDCTs were measured so, and libjpeg-turbo's 4-point one (jidctred.c, as the 2- and
    /// 1-point) is a 2x2 box average of the full IDCT, which passes what lies past the new size (the
    /// resampler's own box pre-reduction keeps 3x for the same reason, `reducingGap`). At 1.25x, 4/8
    /// lost 0.55 dB on the 18 MP elephants at 40% and 16 dB on a fine grating; at 3x, 0.01-0.09 dB on
    /// photos. (The default renditions never decode at 4/8: theirs is the half's decode, 5/8 or 6/8.)
    static func margin(for factor: (num: Int, denom: Int)) -> Double {
        2 * factor.num > factor.denom ? 1.25 : 3
    }

    /// The factor giving the smallest decode that is at least the margin times every target (`margin`,
    /// or the measured one of each scale; capped at the source) when that fits `maxDecodeBytes`;
    /// otherwise the smallest that covers the targets themselves; when even that is over the budget,
    /// nothing: the caller refuses.
    static func chooseFactor(_ info: JPEGInfo, targets: [(Int, Int)], margin: Double?, channels: Int,
                             maxBytes: Int) -> (factor: (num: Int, denom: Int), bytes: Int, fits: Bool) {
        func covers(_ f: (num: Int, denom: Int), _ m: Double) -> Bool {
            targets.allSatisfy { coversSide(info.width, $0.0, f, m) && coversSide(info.height, $0.1, f, m) }
        }
        let factors = withinOneMCU(info) ? [(num: 1, denom: 1)] : shrinkFactors
        if let f = factors.first(where: { covers($0, margin ?? Self.margin(for: $0)) }),
           decodeBytes(info, f, channels: channels) <= maxBytes {
            return (f, decodeBytes(info, f, channels: channels), true)
        }
        let f = factors.first { covers($0, 1) } ?? (1, 1)
        let bytes = decodeBytes(info, f, channels: channels)
        return (f, bytes, bytes <= maxBytes)
    }

    /// A side shorter than one MCU is decoded whole. Its scaled IDCT is mostly of the encoder's edge
    /// padding, and its chroma a sample or two: against a full decode resized, a 3-pixel side at 50%
    /// was 13 levels off (2-3 from 24 pixels on). Such a picture is at most 16 x 65535 pixels, cheap in
    /// full. It also keeps TurboJPEG on the factor whose extent we give the filter: it takes a size,
    /// not a factor, and decodes at the largest factor of that size; from 8 pixels on, every factor
    /// has a size of its own, but 2 pixels are 2 at 5/8 and at 8/8.
    static func withinOneMCU(_ info: JPEGInfo) -> Bool {
        let color = info.components > 1
        let h = color ? info.samplingFactors.map(\.h).max() ?? 1 : 1
        let v = color ? info.samplingFactors.map(\.v).max() ?? 1 : 1
        return info.width < 8 * h || info.height < 8 * v
    }

    /// Whether a decode of a `side`-pixel side at `f` keeps `m` times `target`, or the whole side, in
    /// what it truly covers (`side * num / denom`), not in its sample count, which is rounded up: 1001
    /// pixels at 7/8 are 876 samples but cover 875.875, which a 876-pixel target would stretch (and 2
    /// pixels at 5/8 are 2 samples covering 1.25). The decode never covers less than the target; the
    /// margin, a ratio measured on photos, applies to the smallest size that rounds to the target
    /// (`target - 1/2`), so an odd side at 50% keeps the 5/8 an even one gets.
    static func coversSide(_ side: Int, _ target: Int, _ f: (num: Int, denom: Int), _ m: Double) -> Bool {
        let needed = min(Double(side), max(Double(target), (Double(target) - 0.5) * m))
        return Double(side * f.num) >= needed * Double(f.denom)
    }

    /// A picture decoded at a DCT scale: `extent` is how much of the source it covers in its own pixels,
    /// below `pixels.width` or `height` when the scaled size was rounded up.
    public struct Scaled {
        public var pixels: PixelBuffer
        public var extent: (width: Double, height: Double)
        /// libjpeg's warnings the picture was decoded with (`acceptedWarning`), for the log.
        public var warnings: [String] = []
    }

    /// Decodes to RGB (gray stays one channel; CMYK/YCCK come out as RGB), at least `target` large.
    public func decode(_ jpeg: [UInt8], info: JPEGInfo, target: (width: Int, height: Int), margin: Double?,
                       limits: ImageLimits) throws -> PixelBuffer {
        try decode(jpeg, info: info, targets: [target], margin: margin, limits: limits).pixels
    }

    /// Decodes once for several targets, at the smallest DCT scale that is large enough for each.
    public func decode(_ jpeg: [UInt8], info: JPEGInfo, targets: [(width: Int, height: Int)], margin: Double?,
                       limits: ImageLimits) throws -> Scaled {
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
        let (factor, bytes, fits) = Self.chooseFactor(info, targets: targets.map { ($0.width, $0.height) },
                                                      margin: margin, channels: channels, maxBytes: limits.maxDecodeBytes)
        let target = (width: targets.map(\.width).max() ?? 1, height: targets.map(\.height).max() ?? 1)
        let width = Self.scaled(info.width, factor), height = Self.scaled(info.height, factor)
        guard fits else {
            throw ImagingError.tooMuchMemory(
                needed: bytes, limit: limits.maxDecodeBytes,
                reason: "the smallest decode of this \(info.width)x\(info.height) JPEG that covers \(target.width)x"
                    + "\(target.height) is \(width)x\(height) (DCT scale \(factor.num)/\(factor.denom), maxDecodeBytes)"
                    + limits.neededFunction(decoding: bytes))
        }
        var pixels = [UInt8](unsafeUninitializedCapacity: width * height * channels) { _, count in
            count = width * height * channels
        }
        let warnings = try run(jpeg, info) { handle, source in
            pixels.withUnsafeMutableBufferPointer { target in
                tjDecompress2(handle, source, UInt(jpeg.count), target.baseAddress, Int32(width), 0, Int32(height),
                              pixelFormat, 0)
            }
        }
        var buffer = PixelBuffer(width: width, height: height, channels: channels, pixels: pixels)
        if isCMYK { ColorConversion.cmykToRGB(&buffer, inverted: info.hasAdobeMarker) }
        let extent = (Double(info.width * factor.num) / Double(factor.denom),
                      Double(info.height * factor.num) / Double(factor.denom))
        return Scaled(pixels: buffer, extent: extent, warnings: warnings)
    }

    /// Reads the header, checks it is the inspector's, and runs `decompress`, telling libjpeg's accepted
    /// warnings (returned) from its errors (thrown); after a failure the handle is replaced.
    func run(_ jpeg: [UInt8], _ info: JPEGInfo, layout: Int32? = nil,
                     _ decompress: (tjhandle, UnsafeMutablePointer<UInt8>) -> Int32) throws -> [String] {
        // -1 is an error or only warnings (the picture whole): told apart below, after each call.
        var warnings: [String] = []
        var failure: (status: Int32, message: String)?
        jpeg.withUnsafeBufferPointer { source in
            var headerWidth: Int32 = 0, headerHeight: Int32 = 0, subsampling: Int32 = 0
            let source = UnsafeMutablePointer(mutating: source.baseAddress!)
            let header = tjDecompressHeader2(handle, source, UInt(jpeg.count), &headerWidth, &headerHeight, &subsampling)
            if header != 0 {
                let message = turboJPEGError(handle)
                guard let warning = acceptedWarning(message, info) else { failure = (-2, message); return }
                warnings.append(warning)
            }
            // The budget was computed from the inspector's reading of the header: it must be libjpeg's,
            // and so must the layout the planes were allocated for (`layout`), which TurboJPEG fills by its own.
            guard Int(headerWidth) == info.width, Int(headerHeight) == info.height,
                  layout.map({ $0 == subsampling }) ?? true else {
                failure = (-3, "")
                return
            }
            if decompress(handle, source) != 0 {
                let message = turboJPEGError(handle)
                // The header's warning comes again first (TurboJPEG keeps the first warning's message).
                guard let warning = acceptedWarning(message, info) else { failure = (-1, message); return }
                if !warnings.contains(warning) { warnings.append(warning) }
            }
        }
        if let (status, message) = failure {
            // A handle libjpeg stopped mid-picture fails every later one: a new one for the next picture.
            resetHandle()
            if status == -3 {
                throw ImagingError.corrupt("libjpeg reads another size or chroma layout than the frame header gives")
            }
            // A valid file whose components' sampling factors are none of TurboJPEG's layouts.
            if status == -2, message.rangeOfFirst("Could not determine subsampling type") != nil {
                throw ImagingError.unsupportedJPEG("chroma sampling \(info.subsampling) is not one TurboJPEG decodes "
                    + "(gray, 4:4:4, 4:2:2, 4:2:0, 4:4:0, 4:1:1); re-encode the picture with one of those")
            }
            if message.hasPrefix("Corrupt JPEG data: "), message.rangeOfFirst(" extraneous bytes before marker 0x") != nil {
                throw ImagingError.corrupt("libjpeg: \(message) (bytes after a scan's data: junk, or a damaged scan libjpeg "
                    + "lost its way in and ended early; libjpeg words both so, and they cannot be told apart)")
            }
            throw status == -2 ? ImagingError.corrupt(message) : ImagingError.codec(message)
        }
        return warnings
    }

    /// libjpeg's message when it is a warning the picture is rendered with, as "libjpeg: ...", or nil for
    /// an error. Only junk skipped between segments is (JWRN_EXTRANEOUS_DATA, "Corrupt JPEG data: N
    /// extraneous bytes before marker 0xXX", at the place the inspector found it: `JPEGInfo.firstJunk`),
    /// which no pixel comes from. The same warning after a scan's data is refused: libjpeg words a scan
    /// it lost its way in (damaged data decoded as other codes ends early) exactly so, and cannot tell it
    /// from junk appended to a good scan. Every other warning means pixels the file does not have (a scan
    /// cut short, a bad Huffman code, the file ending early) and stays a failure, as a truncated upload
    /// must. TurboJPEG 2.x tells a warning by `tjGetErrorCode`, but keeps that flag through an error that
    /// follows a warning (whose message then replaces the warning's), so the message is checked too. It
    /// keeps only the first warning's message: a warning after accepted junk goes unseen.
    private func acceptedWarning(_ message: String, _ info: JPEGInfo) -> String? {
        guard tjGetErrorCode(handle) == Int32(TJERR_WARNING.rawValue), let junk = info.firstJunk,
              message == "Corrupt JPEG data: \(junk.bytes) extraneous bytes before marker 0x\(hexString([junk.marker]))"
        else { return nil }
        return "libjpeg: \(message)"
    }
}

/// TurboJPEG's message for the last failure: the handle's when given (`tjGetErrorStr2`, TurboJPEG 2.0+),
/// else the global one, for a handle that could not be made.
func turboJPEGError(_ handle: tjhandle? = nil) -> String {
    guard let message = handle.map(tjGetErrorStr2) ?? tjGetErrorStr() else { return "unknown TurboJPEG error" }
    return String(cString: message)
}
