import CTurboJPEG
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
    /// For measurements: the planes path decodes at this many eighths whatever the rule says (nil: the rule).
    public var forcedScale: Int?
    /// Small renditions are made from a larger one's pixels (`chainGap`); off, each is decoded anew (measured).
    public var chainRenditions = true

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
    /// How it was made, for the log: the path (YUV planes or RGB), the decode's DCT scale and why it
    /// was chosen, or the rendition it was resized from.
    public var made: String = ""
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
        // What the renditions hold, counted before any pixel exists: once the decode is freed, their
        // planes or pixels, upright copies and JPEGs; while they are resized, the decode and their planes.
        let planesPath = JPEGDecoder.decodesToPlanes(info)
        let gray = info.components == 1
        let perPixel = ImageLimits.outputBytesPerPixel(planes: planesPath, subsampling: options.subsampling, gray: gray)
        let outputBytes = Int((Double(outputPixels) * perPixel).rounded(.up))
        guard outputBytes <= options.limits.maxOutputBytes else {
            throw ImagingError.tooMuchMemory(
                needed: outputBytes, limit: options.limits.maxOutputBytes,
                reason: "the renditions (\(outputPixels) pixels) hold up to \(perPixel) bytes a pixel while encoded "
                    + "(maxOutputBytes)" + ImageLimits.neededFunction { $0.maxOutputBytes >= outputBytes })
        }
        // While they are resized the renditions' planes or pixels sit beside the decode: the decode
        // gets what maxOutputBytes leaves it (on either path: a large custom rendition through RGB
        // counted on the decode's whole budget).
        var limits = options.limits
        if planesPath {
            let gray = Int32(TJSAMP_GRAY.rawValue)
            limits.heldBesideDecode = targets.reduce(0) {
                $0 + YUVPlanes.bytes(width: $1.width, height: $1.height,
                                     subsampling: info.components == 1 ? gray : options.subsampling.turboJPEG)
            }
        } else {
            limits.heldBesideDecode = targets.reduce(0) { $0 + $1.width * $1.height * (info.components == 1 ? 1 : 3) }
        }
        limits.maxDecodeBytes = min(limits.maxDecodeBytes, max(0, limits.maxOutputBytes - limits.heldBesideDecode))
        // Sizes in the stored orientation, which is what the decoder and resampler see.
        let stored = targets.map { info.orientation >= 5 ? (width: $0.height, height: $0.width) : $0 }
        // A turned rendition's stored planes have 4:2:2 output's chroma laid out as 4:4:0, which a chained
        // rendition would read with the wrong axes: at 4:2:2 a turned picture decodes for each rendition.
        let turnedAsymmetric = info.orientation >= 5 && options.subsampling == .s422 && info.components != 1
        var sources = turnedAsymmetric ? stored.map { _ in nil } : Self.plan(stored)
        if !turnedAsymmetric, options.chainRenditions, options.forcedScale == nil, options.qualityMargin == nil {
            sources = Self.planStraight(info, stored, sources)
        }
        if JPEGDecoder.decodesToPlanes(info) {
            guard options.chainRenditions || specs.count < 2 else {
                var options = options
                options.chainRenditions = true
                return try specs.flatMap { try render(jpeg, specs: [$0], options: options) }
            }
            let direct = stored.indices.filter { sources[$0] == nil }.map { stored[$0] }
            var planes = try decoder.decodePlanes(jpeg, info: info, targets: direct, margin: options.qualityMargin,
                                                  forcedScale: options.forcedScale, limits: limits)
            if planes != nil {
                // Handed over, not shared: renderPlanes frees the decode before the last encode.
                return try renderPlanes(&planes, jpeg: jpeg, info: info, specs: specs, targets: targets, stored: stored,
                                        sources: sources, options: options)
            }
        }
        var decoded: JPEGDecoder.Scaled? = try decoder.decode(jpeg, info: info, targets: stored,
                                                              margin: options.qualityMargin, limits: limits)
        // What was dropped or skipped on the way: the inspector's notes, then libjpeg's warnings.
        let notes = info.notes + decoded!.warnings
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
            let from = sources[index].map { "resized from the \(stored[$0].width)x\(stored[$0].height) rendition" }
            renditions[index] = Rendition(spec: specs[index], width: upright.width, height: upright.height,
                                          jpeg: encoded, notes: notes,
                                          made: "RGB path (\(info.colorSpace.rawValue) \(info.subsampling)): "
                                              + (from ?? "decoded at the smallest DCT scale that holds the margin"))
        }
        return renditions.map { $0! }
    }

    /// The planes path: each plane resized at its own resolution from the decode's (or a larger
    /// rendition's) planes, turned upright plane by plane, encoded from planes at the output subsampling.
    private func renderPlanes(_ decoded: inout JPEGDecoder.ScaledPlanes?, jpeg: [UInt8], info: JPEGInfo,
                              specs: [RenditionSpec], targets: [(width: Int, height: Int)],
                              stored: [(width: Int, height: Int)], sources: [Int?], options: RenderOptions)
        throws -> [Rendition] {
        // Only these are kept of the decode, so that setting it to nil below frees its planes.
        let notes = info.notes + decoded!.warnings
        let sourceLayout = decoded!.image.subsampling
        let gray = Int32(TJSAMP_GRAY.rawValue)
        let output = sourceLayout == gray ? gray : options.subsampling.turboJPEG
        let icc = info.iccProfile
        let exif = options.keepMetadata ? uprightExif(jpeg, info) : nil
        let orientation = (2...8).contains(info.orientation) ? info.orientation : 1
        let swaps = orientation >= 5
        // Stored-orientation planes of the renditions others are made from, and the luma they cover.
        var made = [(image: YUVPlanes, extent: (width: Double, height: Double))?](repeating: nil, count: specs.count)
        var renditions = [Rendition?](repeating: nil, count: specs.count)
        defer { resampler.releaseLargeScratch() }
        for index in Self.largestFirst(stored) {
            let size = stored[index], display = targets[index]
            var source: (image: YUVPlanes, extent: (width: Double, height: Double))
            let how: String
            if let from = sources[index], let planes = made[from] {
                source = planes
                how = "resized from the \(stored[from].width)x\(stored[from].height) rendition's planes"
            } else {
                // A decode of the target's size whose extent is not the target's (an odd side, rounded up)
                // is resampled from its extent all the same: sample for sample it would sit up to half a
                // sample off the target's grid at the far edge (1.5 dB on a 1203-row photo). The
                // resampler only passes the side that differs.
                source = (decoded!.image, decoded!.extent)
                how = decoded!.choice
            }
            let displaySizes = YUVPlanes.planeSizes(width: display.width, height: display.height, subsampling: output)
            var storedPlanes: [PixelBuffer] = []
            var uprightPlanes: [PixelBuffer] = []
            for plane in displaySizes.indices {
                let step = YUVPlanes.samplePixels(plane, subsampling: output)
                // What the plane holds (chroma: its whole size) and the luma that covers, as displayed.
                let content = plane == 0 ? display : displaySizes[plane]
                let cover = plane == 0 ? (Double(display.width), Double(display.height))
                    : (Double(displaySizes[plane].width * step.x), Double(displaySizes[plane].height * step.y))
                let storedContent = swaps ? (width: content.height, height: content.width) : content
                let storedCover = swaps ? (cover.1, cover.0) : cover
                let from = YUVPlanes.samplePixels(plane, subsampling: source.image.subsampling)
                let extent = (source.extent.width / Double(from.x) * storedCover.0 / Double(size.width),
                              source.extent.height / Double(from.y) * storedCover.1 / Double(size.height))
                // A chroma side the orientation reverses and whose last sample is partial (an odd side at
                // 4:2:0 or 4:2:2): displayed, that sample must stay last, so the stored grid starts the
                // overhang (a luma pixel) before the picture. Started at the picture, the whole plane sat
                // half a chroma sample off once turned (2.5 dB on a 317x199 picture's mirrored half).
                let overhang = plane == 0 ? (x: 0, y: 0)
                    : (x: Self.reversesColumns(orientation) ? displaySizes[plane].width * step.x - display.width : 0,
                       y: Self.reversesRows(orientation) ? displaySizes[plane].height * step.y - display.height : 0)
                let storedOverhang = swaps ? (overhang.y, overhang.x) : (overhang.x, overhang.y)
                let origin = (x: -Double(storedOverhang.0) * extent.0 / storedCover.0,
                              y: -Double(storedOverhang.1) * extent.1 / storedCover.1)
                // The picture in the source plane's samples, where the chroma grid of an odd side overhangs it.
                let overhangs = plane > 0 && (displaySizes[plane].width * step.x != display.width
                    || displaySizes[plane].height * step.y != display.height)
                let picture = overhangs ? (source.extent.width / Double(from.x), source.extent.height / Double(from.y)) : nil
                let resized = resampler.resize(source.image.planes[plane], extent: extent, width: storedContent.width,
                                               height: storedContent.height,
                                               padded: orientation == 1 ? displaySizes[plane] : nil, origin: origin,
                                               picture: picture)
                // The stored copy is kept only for a rendition made from this one (on the stored grid): beside
                // the upright copy it would double what the rendition holds.
                if orientation == 1 || sources.contains(index) {
                    storedPlanes.append(origin == (0, 0) ? resized
                        : resampler.resize(source.image.planes[plane], extent: extent, width: storedContent.width,
                                           height: storedContent.height, picture: picture))
                }
                uprightPlanes.append(orientation == 1 ? resized
                    : Orientation.apply(orientation, to: resized, content: storedContent, padded: displaySizes[plane]))
            }
            // The decode goes as soon as no rendition still to make needs it, the planes once no
            // smaller one is made from them.
            if !sources.indices.contains(where: { $0 != index && sources[$0] == nil && renditions[$0] == nil }) { decoded = nil }
            source.image.planes = []  // its last reference, when the decode went: freed before the encode
            if sources.contains(index) {
                made[index] = (YUVPlanes(planes: storedPlanes, width: size.width, height: size.height, subsampling: output),
                               (Double(size.width), Double(size.height)))
            }
            storedPlanes = []
            let upright = YUVPlanes(planes: uprightPlanes, width: display.width, height: display.height, subsampling: output)
            uprightPlanes = []
            let encoded = try encoder.encode(upright, quality: options.quality, icc: icc, exif: exif)
            renditions[index] = Rendition(spec: specs[index], width: display.width, height: display.height, jpeg: encoded,
                                          notes: notes,
                                          made: "YUV planes (\(YUVPlanes.name(sourceLayout)) to "
                                              + "\(YUVPlanes.name(output))): \(how)")
        }
        return renditions.map { $0! }
    }

    /// Whether EXIF `orientation` shows the stored picture's columns (rows) in reverse along the displayed
    /// width (height): `Orientation.apply` reads the displayed x (y) from the far edge.
    static func reversesColumns(_ orientation: Int) -> Bool { [2, 3, 6, 7].contains(orientation) }
    static func reversesRows(_ orientation: Int) -> Bool { [3, 4, 7, 8].contains(orientation) }

    /// A rendition at least this many times smaller than another is made from that one's pixels (a
    /// Lanczos output is a clean source), not from the larger decode.
    static let chainGap = 3

    /// A largest rendition that 4/8 decodes straight to is a clean source (its IDCT filtered it, as a
    /// Lanczos would) for the others at least `straightChainGap` smaller on both sides: one SIMD decode,
    /// not a 5/8 one covering them all (a 0.3 MP photo's half and thumbnail took 1.6x the time so). Only
    /// when that leaves it the one rendition decoded: another would make 4/8 not exact. Closer in size,
    /// a second Lanczos is a near-identity blur (1 dB on a 317x199 picture's `fit:158x158`).
    static func planStraight(_ info: JPEGInfo, _ stored: [(width: Int, height: Int)], _ sources: [Int?]) -> [Int?] {
        guard let largest = largestFirst(stored).first, JPEGDecoder.decodesStraight(info, to: stored[largest]) else {
            return sources
        }
        var chained = sources
        for index in stored.indices where index != largest && sources[index] == nil {
            guard Double(stored[largest].width) >= straightChainGap * Double(stored[index].width),
                  Double(stored[largest].height) >= straightChainGap * Double(stored[index].height) else { return sources }
            chained[index] = largest
        }
        return chained
    }

    /// How much smaller a rendition chained from a straight 4/8 one is on each side, at least: the
    /// default thumbnail of a 640x400 photo is 1.25x under its half.
    static let straightChainGap = 1.25

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
