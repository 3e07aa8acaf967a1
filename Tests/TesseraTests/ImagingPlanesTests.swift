import Foundation
import Testing
@testable import TesseraImaging
import TesseraLocal

/// The YUV-plane pipeline (issue 17, parts 1 and 2): every source layout through the path it must
/// take, held to djpeg's full decode resized; and the 128 MB function's largest pictures rendered
/// in a process of their own, whose peak memory is the property checked.
struct ImagingPlanesTests {
    /// `photos/fresh-flower.jpg` (a 1600x1203 photo) re-encoded by cjpeg from djpeg's decode with
    /// `sampling` ("2x2" is 4:2:0, "1x2" 4:4:0, "4x1" 4:1:1), or turned gray.
    static func layout(_ sampling: String?, gray: Bool = false) throws -> [UInt8] {
        let folder = try ImagingReferee.directory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let source = folder.appendingPathComponent("in.jpg"), pnm = folder.appendingPathComponent("in.pnm")
        let output = folder.appendingPathComponent("out.jpg")
        try Data(try Fixtures.bytes("photos/fresh-flower.jpg")).write(to: source)
        let decode = try ImagingReferee.run("djpeg", (gray ? ["-grayscale"] : []) + ["-pnm", "-outfile", pnm.path, source.path])
        #expect(decode.status == 0, "djpeg: \(decode.stderr)")
        let encode = try ImagingReferee.run("cjpeg", ["-quality", "95"] + (sampling.map { ["-sample", $0] } ?? [])
            + ["-outfile", output.path, pnm.path])
        #expect(encode.status == 0, "cjpeg: \(encode.stderr)")
        return [UInt8](try Data(contentsOf: output))
    }

    /// Each layout's default renditions (half=50%, thumb=fit:256x256, quality 85, 4:2:0) against
    /// djpeg's full decode resized to each size: the planes path for gray and YCbCr in TurboJPEG's
    /// layouts, RGB for YCCK. Measured 40-45 dB (the thumbnail) and 38-44 (the half).
    @Test(arguments: [("1x1", "4:4:4"), ("2x1", "4:2:2"), ("2x2", "4:2:0"), ("1x2", "4:4:0"), ("4x1", "4:1:1"),
                      ("gray", "gray")])
    func everyLayoutGoesThroughThePlanes(_ sampling: String, _ name: String) throws {
        let jpeg = try Self.layout(sampling == "gray" ? nil : sampling, gray: sampling == "gray")
        let info = try JPEGInspector.inspect(jpeg)
        #expect(info.subsampling == name)
        let made = try RenditionRenderer().render(jpeg, specs: [RenditionSpec("50%"), RenditionSpec("fit:256x256")])
        #expect(made[0].made.hasPrefix("YUV planes (\(name) to \(name == "gray" ? "gray" : "4:2:0")): decoded at"),
                "\(made[0].made)")
        #expect(made[1].made.contains("resized from the 800x602 rendition's planes"), "\(made[1].made)")
        try Self.expectCloseToDjpeg(jpeg, made, name)
    }

    /// CMYK as ImageMagick writes it (Adobe YCCK) goes through RGB (the planes would be YCCK's), and
    /// lands near the RGB photo it was made from (ImageMagick's conversion has no profile: measured
    /// 26-27 dB, as ImagingTests' own CMYK case).
    @Test func ycckGoesThroughRGB() throws {
        let jpeg = try Fixtures.bytes("photos/ladybird-cmyk.jpg")
        let made = try RenditionRenderer().render(jpeg, specs: [RenditionSpec("50%"), RenditionSpec("fit:64x64")])
        #expect(made.allSatisfy { $0.made.hasPrefix("RGB path (YCCK") }, "\(made.map(\.made))")
        try Self.expectCloseToDjpeg(try Fixtures.bytes("photos/ladybird-444.jpg"), made, "YCCK", above: 24)
    }

    /// An RGB-coded JPEG (cjpeg -rgb: an Adobe marker with transform 0, no JFIF) whose component ids are
    /// 0, 1, 2 (as IJG libjpeg 6b writes them), not 'R', 'G', 'B': libjpeg reads its colours from the
    /// Adobe transform, so it goes through RGB; through the planes its R, G and B would be taken for Y,
    /// Cb and Cr.
    @Test func anAdobeRGBPictureWithNumberedComponentsGoesThroughRGB() throws {
        let folder = try ImagingReferee.directory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let source = folder.appendingPathComponent("in.jpg"), pnm = folder.appendingPathComponent("in.pnm")
        let output = folder.appendingPathComponent("rgb.jpg")
        try Data(try Fixtures.bytes("photos/fresh-flower.jpg")).write(to: source)
        #expect(try ImagingReferee.run("djpeg", ["-pnm", "-outfile", pnm.path, source.path]).status == 0)
        #expect(try ImagingReferee.run("cjpeg", ["-rgb", "-quality", "95", "-outfile", output.path, pnm.path]).status == 0)
        var jpeg = [UInt8](try Data(contentsOf: output))
        // The frame's and the scan's component ids, 'R' 'G' 'B' → 0 1 2.
        var index = 2
        while index + 4 < jpeg.count, jpeg[index] == 0xFF {
            let marker = jpeg[index + 1], length = Int(jpeg[index + 2]) << 8 | Int(jpeg[index + 3])
            if marker == 0xC0 { for c in 0..<3 { jpeg[index + 10 + 3 * c] = UInt8(c) } }
            if marker == 0xDA {
                for c in 0..<3 { jpeg[index + 5 + 2 * c] = UInt8(c) }
                break
            }
            index += 2 + length
        }
        let info = try JPEGInspector.inspect(jpeg)
        #expect(info.colorSpace == .rgb && info.hasAdobeMarker, "\(info.colorSpace)")
        let made = try RenditionRenderer().render(jpeg, specs: [RenditionSpec("50%")])
        #expect(made[0].made.hasPrefix("RGB path"), "\(made[0].made)")
        try Self.expectCloseToDjpeg(jpeg, made, "RGB-coded")
    }

    /// The scale rule of the half (docs/imaging-pipeline.md): a baseline picture's is 4/8 straight to
    /// size, its odd side resampled from the 601.5 rows it covers (sample for sample it sat up to half a
    /// sample off: 1.5 dB on this photo), within 0.6 dB of 5/8 and Lanczos; a progressive picture's is
    /// 5/8 and Lanczos; a small picture's thumbnail comes from the straight half however close in size.
    /// (The corpus's figures for each choice: `scripts/bench-resize`.)
    @Test func theHalfOfABaselinePictureIsDecodedStraightAt4of8() throws {
        let baseline = try Self.layout("2x2")
        func psnr(_ jpeg: [UInt8], _ options: RenderOptions) throws -> (made: String, psnr: Double) {
            let made = try RenditionRenderer().render(jpeg, specs: [RenditionSpec("50%")], options: options)[0]
            let reference = try #require(try ImagingReferee.djpeg(jpeg).pixels)
            let pixels = try JPEGSurgery.pixels(made.jpeg)
            #expect((pixels.width, pixels.height) == (800, 602))
            var resampler = Resampler()
            return (made.made, JPEGSurgery.psnr(pixels, resampler.resize(reference, width: 800, height: 602)))
        }
        let straight = try psnr(baseline, RenderOptions())
        var forced = RenderOptions()
        forced.forcedScale = 5
        let lanczos = try psnr(baseline, forced)
        print("half of a baseline 1600x1203: 4/8 straight \(straight.psnr) dB, 5/8 and Lanczos \(lanczos.psnr) dB")
        #expect(straight.made.contains("decoded at 4/8 (straight to the size asked"), "\(straight.made)")
        #expect(straight.psnr > lanczos.psnr - 0.6 && straight.psnr > 38, "\(straight) against \(lanczos)")
        let progressive = try RenditionRenderer().render(try Fixtures.bytes("photos/fresh-flower.jpg"),
                                                         specs: [RenditionSpec("50%")])[0]
        #expect(progressive.made.contains("decoded at 5/8 (1.25x"), "\(progressive.made)")
        // An explicit margin is kept, straight or not.
        let kept = try RenditionRenderer().render(baseline, specs: [RenditionSpec("50%")],
                                                  options: RenderOptions(qualityMargin: 1.25))[0]
        #expect(kept.made.contains("decoded at 5/8"), "\(kept.made)")
        let small = try RenditionRenderer().render(try Fixtures.bytes("photos/ladybird-420.jpg"),
                                                   specs: [RenditionSpec("50%"), RenditionSpec("fit:128x128")])
        #expect(small[0].made.contains("decoded at 4/8 (straight"), "\(small[0].made)")
        #expect(small[1].made.contains("resized from the 160x100 rendition's planes"), "\(small[1].made)")
        let coveringBoth = try RenditionRenderer().render(try Fixtures.bytes("photos/ladybird-420.jpg"),
                                                          specs: [RenditionSpec("50%"), RenditionSpec("fit:128x128")],
                                                          options: forced)
        let reference = try #require(try ImagingReferee.djpeg(try Fixtures.bytes("photos/ladybird-420.jpg")).pixels)
        var resampler = Resampler()
        let thumbs = try [small[1], coveringBoth[1]].map { rendition in
            let pixels = try JPEGSurgery.pixels(rendition.jpeg)
            return JPEGSurgery.psnr(pixels, resampler.resize(reference, width: pixels.width, height: pixels.height))
        }
        // What the one SIMD decode costs the thumbnail of a small picture (measured 32.5 against 32.9 dB).
        print("thumbnail of a 320x200: from the straight half \(thumbs[0]) dB, from a 5/8 decode \(thumbs[1]) dB")
        #expect(thumbs[0] > thumbs[1] - 0.6 && thumbs[0] > 32, "\(thumbs)")
    }

    /// Planes are allocated for the inspector's layout and TurboJPEG fills them by its own: were the two
    /// ever to differ (4:2:0 chroma planes are a quarter of 4:4:4's), the decode is refused before it
    /// writes, not run past its buffers.
    @Test func planesOfAnotherLayoutThanLibjpegsAreRefused() throws {
        let jpeg = try Fixtures.bytes("photos/ladybird-444.jpg")
        var info = try JPEGInspector.inspect(jpeg)
        info.samplingFactors = [(2, 2), (1, 1), (1, 1)]
        let decoder = try JPEGDecoder()
        #expect(throws: ImagingError.corrupt("libjpeg reads another size or chroma layout than the frame header gives")) {
            _ = try decoder.decodePlanes(jpeg, info: info, targets: [(width: 160, height: 100)], margin: nil,
                                         limits: ImageLimits())
        }
        // The same decoder then decodes the picture as it is.
        let planes = try decoder.decodePlanes(jpeg, info: try JPEGInspector.inspect(jpeg), targets: [(width: 160, height: 100)],
                                              margin: nil, limits: ImageLimits())
        #expect(planes?.image.planes.count == 3)
    }

    static func expectCloseToDjpeg(_ jpeg: [UInt8], _ made: [Rendition], _ name: String, above: Double = 33) throws {
        let reference = try #require(try ImagingReferee.djpeg(jpeg).pixels)
        var resampler = Resampler()
        for rendition in made {
            let pixels = try JPEGSurgery.pixels(rendition.jpeg)
            let expected = resampler.resize(reference, width: pixels.width, height: pixels.height)
            let psnr = JPEGSurgery.psnr(pixels, expected)
            #expect(psnr > above, "\(name) \(rendition.spec): \(psnr) dB against djpeg's decode resized")
        }
    }

    /// A `width` x `height` 4:2:0 photo made from fresh-flower.jpg's own planes, each sample repeated
    /// over the larger grid with a fine grain added (so that it costs what a photo costs to decode,
    /// not a flat picture's few bytes a block), encoded by TurboJPEG at `quality`.
    static func enlarged(width: Int, height: Int, quality: Int) throws -> [UInt8] {
        let source = try Fixtures.bytes("photos/fresh-flower.jpg")
        let info = try JPEGInspector.inspect(source)
        let decoded = try #require(try JPEGDecoder().decodePlanes(source, info: info, targets: [(info.width, info.height)],
                                                                 margin: nil, limits: ImageLimits(maxDecodeBytes: .max)))
        let sizes = YUVPlanes.planeSizes(width: width, height: height, subsampling: 2)  // TJSAMP_420
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        let planes = sizes.enumerated().map { index, size in
            let from = decoded.image.planes[index]
            var pixels = [UInt8](repeating: 0, count: size.width * size.height)
            pixels.withUnsafeMutableBufferPointer { out in
                from.pixels.withUnsafeBufferPointer { src in
                    let columns = (0..<size.width).map { $0 * from.width / size.width }
                    var row = [UInt8](repeating: 0, count: size.width)
                    for y in 0..<size.height {
                        let line = (y * from.height / size.height) * from.width
                        for x in 0..<size.width { row[x] = src[line + columns[x]] }
                        for x in stride(from: 0, to: size.width, by: 8) {
                            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                            var bits = state >> 16
                            for k in x..<min(x + 8, size.width) {
                                let grain = Int(bits & 7) - 3
                                bits >>= 6
                                out[y * size.width + k] = UInt8(max(0, min(255, Int(row[k]) + grain)))
                            }
                        }
                    }
                }
            }
            return PixelBuffer(width: size.width, height: size.height, channels: 1, pixels: pixels)
        }
        return try JPEGEncoder().encode(YUVPlanes(planes: planes, width: width, height: height, subsampling: 2),
                                        quality: quality)
    }

    /// `tessera resize --memory 128` making the processor's default renditions together, in a process
    /// of its own: its exit status, log and peak (VmHWM, as HostileProcessTests reads it).
    /// The thumbnail's path has an "=" (`--also` splits at the first one: a spec has none).
    static func resizeAt128(_ jpeg: [UInt8]) throws
        -> (status: Int32, log: String, peakKiB: Int, half: [UInt8]?, thumb: [UInt8]?) {
        let folder = try ImagingReferee.directory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let input = folder.appendingPathComponent("in.jpg"), half = folder.appendingPathComponent("half.jpg")
        let thumb = folder.appendingPathComponent("thumb=256.jpg")
        try Data(jpeg).write(to: input)
        let binary = FunctionProcess.binDirectory.appendingPathComponent("tessera").path
        let child = try ChildProcess([binary, "resize", "--memory", "128", "--scale", "50%", "--also",
                                      "fit:256x256=\(thumb.path)", "--explain",
                                      "--report-peak-memory", input.path, half.path],
                                     environment: [:], logPath: folder.appendingPathComponent("log").path)
        // A cap, not a timing: a debug build on a shared machine takes tens of seconds.
        let exit = child.waitForExit(timeout: 600) ?? child.terminate()
        let result = (status: exit.status, log: child.log, output: nil as [UInt8]?, peakRSSKiB: exit.peakRSSKiB, seconds: 0.0)
        return (exit.status, child.log, HostileProcessTests.peakKiB(result), try? [UInt8](Data(contentsOf: half)),
                try? [UInt8](Data(contentsOf: thumb)))
    }

    /// The issue's 50 MP baseline 4:2:0 at a 128 MB function: both default renditions, peak under 120 MB.
    @Test func fiftyMegapixelBaselineAt128MB() throws {
        let jpeg = try Self.enlarged(width: 8660, height: 5770, quality: 95)
        let info = try JPEGInspector.inspect(jpeg)
        #expect(info.subsampling == "4:2:0" && !info.isMultiScan && jpeg.count <= 20_000_000, "\(jpeg.count) bytes")
        let run = try Self.resizeAt128(jpeg)
        print("tessera resize --memory 128, 50 MP baseline 4:2:0 of \(jpeg.count) bytes: exit \(run.status), peak \(run.peakKiB) KiB")
        #expect(run.status == 0, "\(run.log)")
        #expect(run.log.contains("4330x2885") && run.log.contains("256x171"), "\(run.log)")
        #expect(run.log.contains("YUV planes (4:2:0 to 4:2:0): decoded at"), "\(run.log)")
        #expect(run.peakKiB > 0 && run.peakKiB < 120 << 10, "peak \(run.peakKiB) KiB at --memory 128: \(run.log)")
        let half = try JPEGInspector.inspect(try #require(run.half))
        #expect((half.width, half.height) == (4330, 2885))
        let thumb = try JPEGInspector.inspect(try #require(run.thumb, "no thumb=256.jpg: \(run.log)"))
        #expect((thumb.width, thumb.height) == (256, 171))
    }

    /// A 12 MP progressive 4:2:0 at 128 MB: its coefficient image (36 MB) and the decode fit together.
    @Test func twelveMegapixelProgressiveAt128MB() throws {
        let folder = try ImagingReferee.directory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let baseline = folder.appendingPathComponent("b.jpg"), progressive = folder.appendingPathComponent("p.jpg")
        try Data(try Self.enlarged(width: 4000, height: 3000, quality: 92)).write(to: baseline)
        let run = try ImagingReferee.run("jpegtran", ["-progressive", "-outfile", progressive.path, baseline.path])
        #expect(run.status == 0, "jpegtran: \(run.stderr)")
        let jpeg = [UInt8](try Data(contentsOf: progressive))
        #expect(try JPEGInspector.inspect(jpeg).isProgressive)
        let made = try Self.resizeAt128(jpeg)
        print("tessera resize --memory 128, 12 MP progressive 4:2:0 of \(jpeg.count) bytes: exit \(made.status), peak \(made.peakKiB) KiB")
        #expect(made.status == 0 && made.log.contains("2000x1500"), "\(made.log)")
        #expect(made.peakKiB > 0 && made.peakKiB < 120 << 10, "peak \(made.peakKiB) KiB at --memory 128: \(made.log)")
    }

    /// What cannot fit is refused before any pixel exists, naming the function memory that takes it:
    /// a 50 MP progressive 4:2:0's coefficient image (about 150 MB) at 128 MB.
    @Test func aCoefficientImageOverTheBudgetNamesTheMemoryNeeded() throws {
        var info = JPEGInfo()
        (info.width, info.height, info.components, info.isProgressive, info.scanCount) = (8660, 5770, 3, true, 10)
        info.samplingFactors = [(2, 2), (1, 1), (1, 1)]
        info.subsampling = "4:2:0"
        let limits = ImageLimits.forMemory(megabytes: 128)
        #expect(throws: ImagingError.self) { try JPEGInspector.checkCoefficients(info, limits) }
        do {
            try JPEGInspector.checkCoefficients(info, limits)
        } catch let ImagingError.tooMuchMemory(needed, limit, reason) {
            #expect(needed == info.coefficientBytes && limit == limits.maxCoefficientBytes)
            let megabytes = try #require(ImageLimits.functionMegabytes { $0.maxCoefficientBytes >= needed })
            #expect(reason.hasSuffix("; a function of \(megabytes) MB or more takes it"), "\(reason)")
            #expect(ImageLimits.forMemory(megabytes: megabytes).maxCoefficientBytes >= needed)
            #expect(ImageLimits.forMemory(megabytes: megabytes - 1).maxCoefficientBytes < needed)
        }
    }
}
