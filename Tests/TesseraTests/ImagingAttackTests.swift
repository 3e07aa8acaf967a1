import Testing
@testable import TesseraImaging
import TesseraSupport

/// Hostile JPEGs and hostile resize requests against the resampler, the shrink-on-load choice and
/// the renderer's chaining (attack2). Each rendition is held to a Lanczos of the full decode, turned
/// upright, as the product promises.
struct ImagingAttackTests {
    static let exact = RenderOptions(quality: 100, subsampling: .s444, limits: ImageLimits(maxDecodeBytes: .max))

    /// Every rendition of `specs` against the full decode resized to its size, then turned upright.
    static func renditionsAgainstFullDecode(_ jpeg: [UInt8], _ specs: [String]) throws
        -> [(spec: String, size: (Int, Int), psnr: Double)] {
        let info = try JPEGInspector.inspect(jpeg)
        let made = try RenditionRenderer().render(jpeg, specs: try specs.map(RenditionSpec.init), options: exact)
        let full = try JPEGSurgery.pixels(jpeg)
        var resampler = Resampler()
        return try made.map { rendition in
            let shown = try JPEGSurgery.pixels(rendition.jpeg)
            let stored = info.orientation >= 5 ? (shown.height, shown.width) : (shown.width, shown.height)
            let reference = Orientation.apply(info.orientation, to: resampler.resize(full, width: stored.0, height: stored.1))
            // The reference goes through the same encoder, so only the resampling path differs.
            let encoded = try JPEGSurgery.pixels(try JPEGEncoder().encode(reference, quality: 100, subsampling: .s444))
            return (rendition.spec.description, (shown.width, shown.height), JPEGSurgery.psnr(shown, encoded))
        }
    }

    /// A rendition chained from one exactly 3x its size, at every orientation and odd sizes: the
    /// chained one matches the full decode resized as closely as the one made from the decode.
    @Test(arguments: [1, 2, 3, 4, 5, 6, 7, 8])
    func chainingAtExactlyThreeTimesKeepsOrientationAndDetail(_ orientation: Int) throws {
        let jpeg = JPEGSurgery.withOrientation(try ShrinkOnLoadTests.detailedJPEG(243, 123), orientation)
        let shown = orientation >= 5 ? (123, 243) : (243, 123)
        let small = (shown.0 / 6, shown.1 / 6)
        let big = "size:\(3 * small.0)x\(3 * small.1)"
        for result in try Self.renditionsAgainstFullDecode(jpeg, ["size:\(small.0)x\(small.1)", big]) {
            #expect(result.psnr > 38, "orientation \(orientation) \(result.spec) \(result.size): \(result.psnr) dB")
        }
    }

    /// Edge sizes at the renderer's every kind of spec, orientation 6 with 4:2:0 (odd sizes swap).
    @Test func edgeSizesAtEverySpecHaveTheirSizeAndContent() throws {
        let specs = ["50%", "fit:256x256", "300%:upscale", "size:1x1", "fit:1x1", "width:7", "33%", "fit:7x3"]
        for (w, h) in [(1, 1), (1, 17), (17, 1), (3, 20), (20, 3), (9, 16), (16, 9), (2, 2)] {
            let jpeg = JPEGSurgery.withOrientation(try ShrinkOnLoadTests.smoothJPEG(w, h), 6)
            for result in try Self.renditionsAgainstFullDecode(jpeg, specs) {
                let expected = try RenditionSpec(result.spec).targetSize(width: h, height: w)
                #expect(result.size == expected, "\(w)x\(h) \(result.spec)")
                #expect(result.psnr > 35, "\(w)x\(h) \(result.spec): \(result.psnr) dB")
            }
        }
    }

    /// The box pre-reduction with a partial last box, from a DCT-scaled decode whose last sample is
    /// partial too, against the double-precision reference of the same samples (no crash, close).
    @Test func reductionOfAPartialDecodeStaysClose() {
        var state: UInt64 = 9
        let width = 1203, height = 37
        let pixels = (0..<(width * height)).map { _ -> UInt8 in
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return UInt8(truncatingIfNeeded: state >> 56)
        }
        let source = PixelBuffer(width: width, height: height, channels: 1, pixels: pixels)
        var resampler = Resampler()
        for (w, h) in [(1, 1), (2, 1), (7, 2), (66, 6), (200, 37), (401, 5)] {
            // The extent ends 1/8 into the last column and row, as a 1/8 decode's can.
            let out = resampler.resize(source, extent: (Double(width) - 0.875, Double(height) - 0.875), width: w, height: h)
            #expect((out.width, out.height) == (w, h))
        }
    }

    /// "FF 00" outside entropy data is no marker: libjpeg discards it and the bytes after it up to the
    /// next marker, while an inspector that read a length after it would skip that many bytes. Hidden
    /// there, a progressive frame header for libjpeg, then a comment that hides, from libjpeg, the
    /// baseline frame header such an inspector would read (same size, so the decoder's size check
    /// passes): it would count no coefficient image (and no hidden scans), while libjpeg allocates one.
    /// The inspector follows libjpeg's own marker search (`JPEGInspector.nextMarker`), so it reads the
    /// progressive frame and the limit refuses it; reserved markers, where libjpeg stops, it refuses.
    /// (HostileJunkTests holds the same construction, smaller, to djpeg's decode.)
    @Test func theInspectorReadsTheFrameLibjpegReads() throws {
        func segment(_ marker: UInt8, _ body: [UInt8]) -> [UInt8] {
            [0xFF, marker, UInt8((body.count + 2) >> 8), UInt8((body.count + 2) & 255)] + body
        }
        let (width, height) = (7000, 7000)
        func frame(_ marker: UInt8) -> [UInt8] {
            segment(marker, [8, UInt8(height >> 8), UInt8(height & 255), UInt8(width >> 8), UInt8(width & 255),
                             3, 1, 0x11, 0, 2, 0x11, 0, 3, 0x11, 0])
        }
        let baseline = frame(0xC0)
        let hidden = frame(0xC2) + [0xFF, 0xFE, 0, UInt8(2 + baseline.count)]
        let skipped: [UInt8] = [0xFF, 0x00, 0, UInt8(2 + hidden.count)] + hidden
        let tables = segment(0xDB, [0] + [UInt8](repeating: 1, count: 64))
            + segment(0xC4, [0x00, 1] + [UInt8](repeating: 0, count: 15) + [0] + [0x10, 1] + [UInt8](repeating: 0, count: 15) + [0])
        // One interleaved DC-only scan: what a progressive frame may start with, and all a baseline
        // frame's single scan looks like to the inspector.
        let scan = segment(0xDA, [3, 1, 0, 2, 0, 3, 0, 0, 0, 0])
            + [UInt8](repeating: 0, count: (width / 8) * (height / 8) * 3 / 8)
        let jpeg: [UInt8] = [0xFF, 0xD8] + skipped + baseline + tables + scan + [0xFF, 0xD9]
        let limits = ImageLimits.forMemory(megabytes: 128)
        // libjpeg's view: a progressive 7000x7000 4:4:4, 294 MB of coefficients, over the 43 MiB limit.
        let info = try JPEGInspector.inspect(jpeg, limits: ImageLimits(maxCoefficientBytes: .max))
        #expect(info.isProgressive && info.scanCount == 1 && (info.width, info.height) == (7000, 7000))
        #expect(info.firstJunk?.bytes == 4 && info.firstJunk?.marker == 0xC2, "FF 00 and the length: libjpeg's 4 bytes")
        #expect(throws: ImagingError.tooMuchMemory(needed: 294_000_000, limit: limits.maxCoefficientBytes, reason: "a progressive "
            + "7000x7000 4:4:4 JPEG is decoded from its whole coefficient image whatever the output size (maxCoefficientBytes)"
            + "; a function of 564 MB or more takes it")) {
            try JPEGInspector.inspect(jpeg, limits: limits)
        }
        // A reserved marker (0x02...0xBF), which libjpeg stops at, is refused the same way.
        var reserved = jpeg
        reserved[3] = 0x42
        #expect(throws: ImagingError.corrupt("0xFF 0x42 at byte 2 is not a marker a JPEG may have here")) {
            try JPEGInspector.inspect(reserved, limits: limits)
        }
    }

    /// A wide upscale's ring of float rows (tens of MB at 65,500 pixels) is not kept into the next picture.
    @Test func largeScratchIsNotKeptBetweenPictures() throws {
        var resampler = Resampler()
        let source = PixelBuffer(width: 8, height: 600, channels: 3, pixels: [UInt8](repeating: 90, count: 8 * 600 * 3))
        _ = resampler.resize(source, width: 60_000, height: 100)
        #expect(resampler.scratchBytes > Resampler.keptScratchBytes)
        resampler.releaseLargeScratch()
        #expect(resampler.scratchBytes <= Resampler.keptScratchBytes)
        _ = resampler.resize(source, width: 8, height: 300)
        let small = resampler.scratchBytes
        resampler.releaseLargeScratch()
        #expect(resampler.scratchBytes == small, "small scratch is kept for reuse")
    }

    /// Valid sampling factors TurboJPEG has no layout for (here Y 1x1 with chroma 2x2) are named as
    /// unsupported, not as a corrupt file with an internal function's name.
    @Test func anUnusualChromaSamplingIsNamedUnsupported() throws {
        let pixels = PixelBuffer(width: 32, height: 32, channels: 3, pixels: (0..<(32 * 32 * 3)).map { UInt8($0 % 251) })
        var jpeg = try JPEGEncoder().encode(pixels, quality: 90, subsampling: .s444, icc: nil, exif: nil)
        let sof = try #require((0..<(jpeg.count - 1)).first { jpeg[$0] == 0xFF && jpeg[$0 + 1] == 0xC0 })
        // After FF C0: length(2) precision(1) height(2) width(2) count(1), then id, sampling, table each.
        jpeg[sof + 14] = 0x22
        jpeg[sof + 17] = 0x22
        do {
            _ = try RenditionRenderer().render(jpeg, specs: [RenditionSpec("50%")])
            Issue.record("decoded")
        } catch let ImagingError.unsupportedJPEG(reason) {
            #expect(reason.hasPrefix("chroma sampling other is not one TurboJPEG decodes"), "\(reason)")
        }
    }
}
