import TesseraSupport

/// How renditions are made.
public struct RenderOptions: Sendable {
    public var quality: Int
    public var subsampling: ChromaSubsampling
    /// Keep EXIF (GPS included) with its Orientation reset; off by default. ICC is always kept.
    public var keepMetadata: Bool
    public var limits: ImageLimits
    /// Decode at least this many times the target before the Lanczos filter (within the decode budget);
    /// nil: the margin measured for each DCT scale (`JPEGDecoder.margin(for:)`).
    public var qualityMargin: Double?

    public init(quality: Int = 85, subsampling: ChromaSubsampling = .s420, keepMetadata: Bool = false,
                limits: ImageLimits = ImageLimits(), qualityMargin: Double? = nil) {
        self.quality = quality
        self.subsampling = subsampling
        self.keepMetadata = keepMetadata
        self.limits = limits
        self.qualityMargin = qualityMargin
    }
}

/// One finished rendition.
public struct Rendition: Sendable {
    public let spec: RenditionSpec
    public let width: Int
    public let height: Int
    public let jpeg: [UInt8]
    /// What was left out of it or skipped, from `JPEGInfo.notes` (a dropped ICC profile, junk between
    /// segments) and the decoder's warnings (libjpeg's own message), for the log.
    public let notes: [String]
}

/// JPEG in, renditions out: inspect, one shrink-on-load decode for all specs, Lanczos-3 to each exact
/// size, orientation applied, encode. Keep one per thread: it reuses its codec handles and buffers.
public final class RenditionRenderer {
    private let decoder: JPEGDecoder
    private let encoder: JPEGEncoder
    private var resampler = Resampler()

    public init() throws {
        decoder = try JPEGDecoder()
        encoder = try JPEGEncoder()
    }

    public func render(_ jpeg: [UInt8], specs: [RenditionSpec], options: RenderOptions = RenderOptions()) throws
        -> [Rendition] {
        let info = try JPEGInspector.inspect(jpeg, limits: options.limits)
        let shown = info.orientedSize
        let targets = specs.map { $0.targetSize(width: shown.width, height: shown.height) }
        // All the renditions of one call are held at the end, so their pixels count together.
        var outputPixels = 0
        for (spec, target) in zip(specs, targets) {
            // A percentage or a width can ask past JPEG's largest side, which the encoder would refuse
            // only after the decode; the size is refused, not capped, as a spec naming it is.
            guard max(target.width, target.height) <= RenditionSpec.maxSide else {
                throw ImagingError.outputSideTooLarge(spec: spec.description, width: target.width,
                                                      height: target.height, limit: RenditionSpec.maxSide)
            }
            outputPixels += target.width * target.height
            guard outputPixels <= options.limits.maxOutputPixels else {
                throw ImagingError.outputTooLarge(spec: spec.description, width: target.width, height: target.height,
                                                  total: outputPixels, limit: options.limits.maxOutputPixels)
            }
        }
        // Sizes in the stored orientation, which is what the decoder and resampler see.
        let stored = targets.map { info.orientation >= 5 ? (width: $0.height, height: $0.width) : $0 }
        var decoded: JPEGDecoder.Scaled? = try decoder.decode(jpeg, info: info, targets: stored,
                                                              margin: options.qualityMargin, limits: options.limits)
        // What was dropped or skipped on the way: the inspector's notes, then libjpeg's warnings.
        let notes = info.notes + decoded!.warnings
        let sources = Self.plan(stored)
        // A CMYK source's profile describes CMYK; it would be wrong on RGB output.
        let icc = info.colorSpace == .cmyk || info.colorSpace == .ycck ? nil : info.iccProfile
        let exif = options.keepMetadata ? uprightExif(jpeg, info) : nil
        var made = [PixelBuffer?](repeating: nil, count: specs.count)
        var renditions = [Rendition?](repeating: nil, count: specs.count)
        defer { resampler.releaseLargeScratch() }
        for index in Self.largestFirst(stored) {
            let size = stored[index]
            let resized: PixelBuffer
            if let source = sources[index], let from = made[source] {
                resized = resampler.resize(from, width: size.width, height: size.height)
            } else {
                resized = resampler.resize(decoded!.pixels, extent: decoded!.extent, width: size.width, height: size.height)
            }
            // The decode goes as soon as no rendition still to make needs it, the pictures once no
            // smaller one is made from them.
            if !sources.indices.contains(where: { $0 != index && sources[$0] == nil && renditions[$0] == nil }) { decoded = nil }
            if sources.contains(index) { made[index] = resized }
            let upright = Orientation.apply(info.orientation, to: resized)
            let encoded = try encoder.encode(upright, quality: options.quality, subsampling: options.subsampling,
                                             icc: icc, exif: exif)
            renditions[index] = Rendition(spec: specs[index], width: upright.width, height: upright.height,
                                          jpeg: encoded, notes: notes)
        }
        return renditions.map { $0! }
    }

    /// A rendition at least this many times smaller than another is made from that one's pixels (a
    /// Lanczos output is a clean source), not from the larger decode.
    static let chainGap = 3

    static func largestFirst(_ sizes: [(width: Int, height: Int)]) -> [Int] {
        sizes.indices.sorted { sizes[$0].width * sizes[$0].height > sizes[$1].width * sizes[$1].height }
    }

    /// For each rendition, the rendition it is made from (the smallest at least `chainGap` times its
    /// size on both sides), or nil for the decode.
    static func plan(_ sizes: [(width: Int, height: Int)]) -> [Int?] {
        let order = largestFirst(sizes)
        return sizes.indices.map { index in
            order.filter { other in
                other != index && sizes[other].width >= chainGap * sizes[index].width
                    && sizes[other].height >= chainGap * sizes[index].height
            }.last
        }
    }

    /// The source's APP1 Exif segment with Orientation set to 1, since the pixels are upright now.
    private func uprightExif(_ jpeg: [UInt8], _ info: JPEGInfo) -> [UInt8]? {
        guard let range = info.exifSegment else { return nil }
        var segment = Array(jpeg[range])
        if let offset = info.orientationOffset {
            let at = offset - range.lowerBound
            segment[at] = info.orientationBigEndian ? 0 : 1
            segment[at + 1] = info.orientationBigEndian ? 1 : 0
        }
        return segment
    }
}
