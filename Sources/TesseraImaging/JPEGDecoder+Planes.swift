import CTurboJPEG
import TesseraSupport

extension JPEGDecoder {
    /// A picture decoded to its planes at a DCT scale: `extent` is how much of the source the luma
    /// covers in its own pixels (below `planes.width` or `height` when the scaled size was rounded up).
    public struct ScaledPlanes {
        public var image: YUVPlanes
        public var extent: (width: Double, height: Double)
        public var factor: (num: Int, denom: Int)
        /// Why this scale, for the rendition's notes ("decoded at 4/8 ...").
        public var choice: String
        public var warnings: [String] = []
    }

    /// Whether the planes path takes this picture: TurboJPEG's YUV calls take gray and YCbCr in its
    /// layouts; CMYK, YCCK and RGB-coded JPEGs (which the raw planes would not convert) go through RGB,
    /// as does a picture with a side within one MCU (`withinOneMCU`): its chroma is a sample or two,
    /// which libjpeg's fancy upsampling renders as a full decode does and a Lanczos of two samples does
    /// not (a 3x20 4:2:0 came out 29 dB from the full decode resized, against over 35 through RGB).
    static func decodesToPlanes(_ info: JPEGInfo) -> Bool {
        if withinOneMCU(info) { return false }
        return switch info.colorSpace {
        case .gray: info.components == 1
        case .yCbCr: info.components == 3 && planeSubsampling(info) != nil
        default: false
        }
    }

    /// The TJSAMP_* of the picture's layout as TurboJPEG reads it, or nil for a layout it has none for.
    static func planeSubsampling(_ info: JPEGInfo) -> Int32? {
        if info.components == 1 { return Int32(TJSAMP_GRAY.rawValue) }
        guard info.samplingFactors.count == 3, info.samplingFactors[1] == (1, 1), info.samplingFactors[2] == (1, 1)
        else { return nil }
        switch info.samplingFactors[0] {
        case (1, 1): return Int32(TJSAMP_444.rawValue)
        case (2, 1): return Int32(TJSAMP_422.rawValue)
        case (2, 2): return Int32(TJSAMP_420.rawValue)
        case (1, 2): return Int32(TJSAMP_440.rawValue)
        case (4, 1): return Int32(TJSAMP_411.rawValue)
        default: return nil
        }
    }

    /// Bytes a planes decode at `factor` holds: the planes, and TurboJPEG's one MCU row of each
    /// component (raw output has no upsampler nor colour converter rows), bounded by `workingBytes`.
    static func planeDecodeBytes(_ info: JPEGInfo, _ subsampling: Int32, _ factor: (num: Int, denom: Int)) -> Int {
        let width = scaled(info.width, factor), height = scaled(info.height, factor)
        return YUVPlanes.bytes(width: width, height: height, subsampling: subsampling)
            + workingBytes(info, width: width, height: height)
    }

    /// Measured decode time to planes, nanoseconds a source pixel, by DCT scale (index num - 1 of n/8):
    /// best of 5, `tjDecompressToYUVPlanes` (libjpeg-turbo 2.1.5) on the corpus's baseline 4:2:0,
    /// 4:2:2 and 4:4:4 photos (docs/imaging-pipeline.md has the table). 8/8, 4/8, 2/8 and 1/8 have SIMD
    /// inverse DCTs; 3/8, 5/8, 6/8 and 7/8 are scalar and cost more than the full decode.
    static let decodeNanoseconds: [Double] = [1.6, 1.9, 3.0, 2.0, 3.4, 3.6, 3.9, 2.6]
    /// The resampler's measured cost a decoded luma pixel (its planes together), nanoseconds.
    static let resampleNanoseconds = 2.5

    /// The scale a planes decode for `targets` (stored orientation) is made at. Qualifying scales: one
    /// above 4/8 that decodes to exactly every target (its IDCT is faithful, nothing is left to
    /// resample), or one that keeps the measured margin (`margin(for:)`) over every target. 4/8 and
    /// below decoded straight to the target, as a plain TurboJPEG program makes a half, lost 0.1 to
    /// 1.5 dB against a Lanczos resize of the full decode on the corpus (docs/imaging-pipeline.md), so
    /// they are taken exactly so only when nothing larger fits. Of
    /// those that fit `maxBytes`, the one of least measured cost (`decodeNanoseconds` on the source
    /// plus `resampleNanoseconds` on the decode); with no such one, the smallest that covers the
    /// targets themselves, which is refused when even it is over the budget.
    static func choosePlaneScale(_ info: JPEGInfo, subsampling: Int32, targets: [(Int, Int)], margin: Double?,
                                 maxBytes: Int) -> (factor: (num: Int, denom: Int), bytes: Int, fits: Bool, why: String) {
        func exact(_ f: (num: Int, denom: Int)) -> Bool {
            targets.allSatisfy { $0.0 == scaled(info.width, f) && $0.1 == scaled(info.height, f) }
        }
        func covers(_ f: (num: Int, denom: Int), _ m: Double) -> Bool {
            targets.allSatisfy { coversSide(info.width, $0.0, f, m) && coversSide(info.height, $0.1, f, m) }
        }
        func cost(_ f: (num: Int, denom: Int)) -> Double {
            let eighths = max(1, min(8, f.num * 8 / f.denom))
            let decoded = Double(scaled(info.width, f) * scaled(info.height, f))
            return decodeNanoseconds[eighths - 1] * Double(info.width * info.height)
                + (exact(f) ? 0 : resampleNanoseconds * decoded)
        }
        let factors = withinOneMCU(info) ? [(num: 1, denom: 1)] : shrinkFactors
        let qualifying = factors.filter { f in
            (margin == nil && exact(f) && (2 * f.num > f.denom || (2 * f.num == f.denom && straightToSize(info))))
                || covers(f, margin ?? Self.margin(for: f))
        }.filter { planeDecodeBytes(info, subsampling, $0) <= maxBytes }
        // An explicit margin keeps the smallest scale that holds it, as the RGB path does.
        let pick = margin != nil ? qualifying.first : qualifying.min { cost($0) < cost($1) }
        if let f = pick {
            let straight = "straight to the size asked by its SIMD IDCT (a single-scan picture)"
            let how = exact(f) ? (2 * f.num > f.denom ? "exactly the size asked, nothing resampled" : straight)
                : "\(margin ?? Self.margin(for: f))x the size asked for the Lanczos filter"
            let others = qualifying.filter { $0 != f }.map { "\(eighths($0)) \(Int(cost($0) / 1e6)) ms" }
            return (f, planeDecodeBytes(info, subsampling, f), true,
                    "decoded at \(eighths(f)) (\(how); estimated \(Int(cost(f) / 1e6)) ms"
                        + (others.isEmpty ? "" : ", against \(others.joined(separator: ", "))") + ")")
        }
        let f = factors.first { covers($0, 1) } ?? (1, 1)
        let bytes = planeDecodeBytes(info, subsampling, f)
        return (f, bytes, bytes <= maxBytes, "decoded at \(eighths(f)) (the smallest that covers the size asked: "
                    + "no larger one fits maxDecodeBytes)")
    }

    /// Whether 4/8 may decode straight to a target it makes exactly (`exact`), as a plain TurboJPEG
    /// program makes a half, instead of a larger scale and a Lanczos resize. Measured on the corpus
    /// (docs/imaging-pipeline.md): 4/8 straight to the half costs 0 to 0.4 dB against a Lanczos resize
    /// of the full decode on baseline photos and halves their time (its IDCT is SIMD, 5/8's is not,
    /// and nothing is resampled); on a progressive one, whose time is the entropy decoding of every
    /// scan into the coefficient buffer, it saved 4 to 10% and cost up to 1.5 dB, so those keep the
    /// margin, as does a baseline picture in several scans (decoded into the same buffer first).
    static func straightToSize(_ info: JPEGInfo) -> Bool {
        !info.isMultiScan
    }

    /// Whether a planes decode for `target` (stored orientation) is 4/8 straight to it (`straightToSize`).
    static func decodesStraight(_ info: JPEGInfo, to target: (width: Int, height: Int)) -> Bool {
        decodesToPlanes(info) && straightToSize(info)
            && scaled(info.width, (1, 2)) == target.width && scaled(info.height, (1, 2)) == target.height
    }

    /// A factor in eighths, as TurboJPEG's scales are named ("5/8").
    static func eighths(_ f: (num: Int, denom: Int)) -> String {
        f.denom == 8 || 8 % f.denom != 0 ? "\(f.num)/\(f.denom)" : "\(f.num * 8 / f.denom)/8"
    }

    /// Decodes once to planes for several targets (stored orientation) at the scale `choosePlaneScale`
    /// gives; nil when the picture is not one the planes path takes (`decodesToPlanes`).
    public func decodePlanes(_ jpeg: [UInt8], info: JPEGInfo, targets: [(width: Int, height: Int)], margin: Double?,
                             forcedScale: Int? = nil, limits: ImageLimits) throws -> ScaledPlanes? {
        guard Self.decodesToPlanes(info), let subsampling = Self.planeSubsampling(info) else { return nil }
        try JPEGInspector.checkCoefficients(info, limits)
        var (factor, bytes, fits, why) = Self.choosePlaneScale(info, subsampling: subsampling,
                                                               targets: targets.map { ($0.width, $0.height) },
                                                               margin: margin, maxBytes: limits.maxDecodeBytes)
        if let forcedScale, !Self.withinOneMCU(info) {
            factor = (max(1, min(8, forcedScale)), 8)
            bytes = Self.planeDecodeBytes(info, subsampling, factor)
            fits = bytes <= limits.maxDecodeBytes
            why = "decoded at \(factor.num)/8 (forced)"
        }
        let width = Self.scaled(info.width, factor), height = Self.scaled(info.height, factor)
        guard fits else {
            let target = (width: targets.map(\.width).max() ?? 1, height: targets.map(\.height).max() ?? 1)
            throw ImagingError.tooMuchMemory(
                needed: bytes, limit: limits.maxDecodeBytes,
                reason: "the smallest decode of this \(info.width)x\(info.height) JPEG that covers \(target.width)x"
                    + "\(target.height) is \(width)x\(height) (DCT scale \(factor.num)/\(factor.denom), maxDecodeBytes)"
                    + limits.neededFunction(decoding: bytes))
        }
        let sizes = YUVPlanes.planeSizes(width: width, height: height, subsampling: subsampling)
        func room(_ index: Int) -> [UInt8] {
            guard index < sizes.count else { return [] }
            let count = sizes[index].width * sizes[index].height
            return [UInt8](unsafeUninitializedCapacity: count) { _, n in n = count }
        }
        var y = room(0), cb = room(1), cr = room(2)
        let warnings = try run(jpeg, info, layout: subsampling) { handle, source in
            y.withUnsafeMutableBufferPointer { y in
                cb.withUnsafeMutableBufferPointer { cb in
                    cr.withUnsafeMutableBufferPointer { cr in
                        var pointers = [y.baseAddress, cb.baseAddress, cr.baseAddress]
                        return pointers.withUnsafeMutableBufferPointer { list in
                            tjDecompressToYUVPlanes(handle, source, UInt(jpeg.count), list.baseAddress, Int32(width), nil,
                                                    Int32(height), 0)
                        }
                    }
                }
            }
        }
        let planes = zip(sizes, [y, cb, cr]).map { PixelBuffer(width: $0.0.width, height: $0.0.height, channels: 1, pixels: $0.1) }
        let extent = (Double(info.width * factor.num) / Double(factor.denom),
                      Double(info.height * factor.num) / Double(factor.denom))
        return ScaledPlanes(image: YUVPlanes(planes: planes, width: width, height: height, subsampling: subsampling),
                            extent: extent, factor: factor, choice: why, warnings: warnings)
    }
}
