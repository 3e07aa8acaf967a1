import Foundation
import Testing
@testable import TesseraImaging

/// Each limit against the input that would go round it: refused from the markers, before any decode.
struct HostileLimitsTests {
    typealias Scan = HostileJPEGWriter.Scan

    func inspectError(_ bytes: [UInt8], limits: ImageLimits = ImageLimits()) -> ImagingError? {
        do {
            _ = try JPEGInspector.inspect(bytes, limits: limits)
            return nil
        } catch let error as ImagingError {
            return error
        } catch {
            Issue.record("not an ImagingError: \(error)")
            return nil
        }
    }

    func render(_ bytes: [UInt8], _ spec: String = "fit:64x64", limits: ImageLimits = ImageLimits()) throws -> Rendition {
        try RenditionRenderer().render(bytes, specs: [RenditionSpec(spec)], options: RenderOptions(limits: limits))[0]
    }

    func renderError(_ bytes: [UInt8], _ spec: String = "fit:64x64", limits: ImageLimits = ImageLimits()) -> ImagingError? {
        do {
            _ = try render(bytes, spec, limits: limits)
            return nil
        } catch let error as ImagingError {
            return error
        } catch {
            Issue.record("not an ImagingError: \(error)")
            return nil
        }
    }

    /// The first pixel of a rendition (the synthetic pictures are one flat colour).
    func colour(_ rendition: Rendition) throws -> [UInt8] {
        Array(try JPEGSurgery.pixels(rendition.jpeg).pixels.prefix(3))
    }

    // MARK: The coefficient image of every multi-scan file

    @Test func multiScanBaselineIsRefusedFromItsMarkers() throws {
        // Attack 2: 7000x7000 4:4:4 baseline, one scan a component. libjpeg held 294 MB for a thumbnail.
        let jpeg = HostileJPEGs.multiScan7000
        let start = ContinuousClock.now
        guard case let .tooMuchMemory(needed, limit, reason)? = renderError(jpeg, "fit:256x256") else {
            Issue.record("expected TooMuchMemory")
            return
        }
        #expect(needed == 875 * 875 * 3 * 128 && limit == 128 << 20)
        #expect(reason.contains("baseline 3-scan 7000x7000 4:4:4") && reason.contains("maxCoefficientBytes"), "\(reason)")
        #expect(ContinuousClock.now - start < .seconds(2), "refused from the markers, not after a decode")
    }

    /// The same 2000x2000 4:4:4 picture (a coefficient image of 24 MB) in every layout that keeps the
    /// whole coefficient image in libjpeg, or that could hide it from a check that looked at less.
    @Test(arguments: ["one scan a component", "tables before every scan", "restart markers", "progressive",
                      "a whole scan, then another", "first scan of one component only", "two components, then one"])
    func noLayoutGoesRoundTheCoefficientLimit(_ layout: String) throws {
        var writer = HostileJPEGWriter.baseline(width: 2000, height: 2000, interleaved: false)
        switch layout {
        case "tables before every scan": writer.tablesBeforeEachScan = true
        case "restart markers": writer.restartInterval = 7
        case "progressive":
            writer.progressive = true
            writer.scans = [Scan(components: [0, 1, 2], ss: 0, se: 0)] + (0..<3).map { Scan(components: [$0], ss: 1, se: 63) }
        case "a whole scan, then another": writer.scans = [Scan(components: [0, 1, 2]), Scan(components: [0, 1, 2])]
        case "first scan of one component only": writer.scans = [Scan(components: [0])]
        case "two components, then one": writer.scans = [Scan(components: [0, 1]), Scan(components: [2])]
        default: break
        }
        let jpeg = writer.bytes()
        let info = try JPEGInspector.inspect(jpeg)
        #expect(info.isMultiScan)
        #expect(info.coefficientBytes == 250 * 250 * 3 * 128)
        let tight = ImageLimits(maxCoefficientBytes: 8 << 20)
        guard case .tooMuchMemory(24_000_000, 8 << 20, _)? = inspectError(jpeg, limits: tight) else {
            Issue.record("\(layout): not refused by maxCoefficientBytes")
            return
        }
        // Under the limit libjpeg decodes it (all but the one libjpeg refuses: a second scan after a whole one).
        let reference = try colour(render(HostileJPEGWriter.baseline(width: 2000, height: 2000, interleaved: true).bytes()))
        switch layout {
        case "a whole scan, then another": #expect(renderError(jpeg)?.errorType == "Imaging.CodecError")
        case "first scan of one component only": #expect(try colour(render(jpeg)) == [168, 168, 168], "Cb and Cr never coded")
        default: #expect(try colour(render(jpeg)) == reference, "\(layout)")
        }
    }

    @Test func oneInterleavedScanIsNotMultiScan() throws {
        let jpeg = HostileJPEGWriter.baseline(width: 2000, height: 2000, interleaved: true).bytes()
        let info = try JPEGInspector.inspect(jpeg, limits: ImageLimits(maxCoefficientBytes: 1))
        #expect(!info.isMultiScan && info.scanCount == 1 && info.firstScanComponents == 3)
        #expect(try colour(render(jpeg)) == [210, 153, 133])
    }

    @Test func multiScanUnderTheLimitDecodes() throws {
        let jpeg = HostileJPEGWriter.baseline(width: 1024, height: 768, interleaved: false).bytes()
        let info = try JPEGInspector.inspect(jpeg)
        #expect(info.isMultiScan && info.scanCount == 3 && info.firstScanComponents == 1)
        let rendition = try render(jpeg, "50%")
        #expect((rendition.width, rendition.height) == (512, 384))
        #expect(try colour(rendition) == [210, 153, 133])
        // Decoded whole into its coefficient buffer first, as a progressive one: it keeps the margin.
        #expect(rendition.made.contains("decoded at 5/8"), "\(rendition.made)")
    }

    @Test(arguments: [("ladybird-420.jpg", 1), ("ladybird-progressive.jpg", 10), ("fresh-flower.jpg", 10)])
    func fixturesScanCounts(_ file: String, _ scans: Int) throws {
        let info = try JPEGInspector.inspect(Fixtures.bytes("photos/\(file)"))
        #expect(info.scanCount == scans)
        #expect(info.isMultiScan == (scans > 1))
    }

    // MARK: Scans

    @Test func thousandsOfScansAreRefusedQuickly() throws {
        // Attack 3: 2,647 scans (220 KB) that cost 10 s of CPU to decode.
        let jpeg = HostileJPEGs.everyBitProgressive
        let start = ContinuousClock.now
        #expect(renderError(jpeg) == .tooManyScans(limit: 100))
        #expect(ContinuousClock.now - start < .seconds(1))
        #expect(renderError(jpeg, limits: ImageLimits.forMemory(megabytes: 10_240))?.errorType == "Imaging.TooManyScans")
        #expect(ImagingError.tooManyScans(limit: 100).description.contains("maxScans"))
    }

    @Test func scanLimitCountsEveryScan() throws {
        // A valid progression: the DC scan, then one AC band of one component a scan.
        func progressive(_ acScans: Int) -> [UInt8] {
            let bands = (0..<acScans).map { Scan(components: [$0 % 3], ss: 1 + $0 / 3, se: 1 + $0 / 3) }
            return HostileJPEGWriter(width: 256, height: 256, progressive: true,
                                     scans: [Scan(components: [0, 1, 2], ss: 0, se: 0)] + bands).bytes()
        }
        #expect(try colour(render(progressive(99))) == [210, 153, 133])
        #expect(renderError(progressive(100)) == .tooManyScans(limit: 100))
        // Baseline files are counted too: libjpeg decodes every scan of them as well.
        var baseline = HostileJPEGWriter.baseline(width: 64, height: 64, interleaved: false)
        baseline.scans = (0..<30).map { Scan(components: [$0 % 3]) }
        #expect(renderError(baseline.bytes(), limits: ImageLimits(maxScans: 29)) == .tooManyScans(limit: 29))
        #expect(renderError(baseline.bytes(), limits: ImageLimits(maxScans: 30)) == nil)
    }

    // MARK: The decode budget

    @Test func decodeBudgetIsHard() throws {
        // One interleaved scan, 49 MP (under maxPixels): even its 1/8 decode (875x875) is over 1 MiB.
        let jpeg = HostileJPEGWriter.baseline(width: 7000, height: 7000, interleaved: true).bytes()
        let info = try JPEGInspector.inspect(jpeg)
        let eighth = JPEGDecoder.decodeBytes(info, (1, 8), channels: 3)
        #expect(eighth > 875 * 875 * 3 && eighth < 875 * 875 * 3 + (1 << 20), "pixels and libjpeg's rows: \(eighth)")
        guard case let .tooMuchMemory(needed, limit, reason)? = renderError(jpeg, "fit:256x256",
                                                                           limits: ImageLimits(maxDecodeBytes: 1 << 20))
        else { Issue.record("expected TooMuchMemory"); return }
        #expect(needed == eighth && limit == 1 << 20)
        #expect(reason.contains("875x875") && reason.contains("1/8") && reason.contains("maxDecodeBytes"), "\(reason)")
        // Within the budget: 2x the target (1024) would need 1750x1750; the target itself is covered by 1/8.
        let rendition = try render(jpeg, "fit:512x512", limits: ImageLimits(maxDecodeBytes: 4 << 20))
        #expect((rendition.width, rendition.height) == (512, 512))
        #expect(renderError(jpeg, "50%", limits: ImageLimits(maxDecodeBytes: 4 << 20))?.errorType == "Imaging.TooMuchMemory")
    }

    // MARK: The output size

    @Test(arguments: ["size:65500x65500:upscale", "1000%:upscale", "fit:65500x65500:upscale", "width:65500:upscale"])
    func renditionSizeIsCapped(_ spec: String) {
        let error = renderError(HostileJPEGs.flower, spec)
        #expect(error?.errorType == "Imaging.OutputTooLarge", "\(String(describing: error))")
        #expect(error?.description.contains("maxOutputPixels") == true)
    }

    @Test(arguments: [("300%:upscale", 1, 65_500, "3x196500"), ("width:3:upscale", 1, 65_500, "3x196500"),
                      ("101%:upscale", 65_500, 2, "66155x2")])
    func aSideOverJPEGsLimitIsRefusedBeforeTheDecode(_ spec: String, _ width: Int, _ height: Int, _ size: String) throws {
        let strip = try JPEGEncoder().encode(PixelBuffer(width: width, height: height, channels: 1,
                                                         pixels: [UInt8](repeating: 90, count: width * height)),
                                             quality: 85, subsampling: .s420)
        // A decode budget of nothing: refused by its size, the strip would be refused by the decode.
        let error = renderError(strip, spec, limits: ImageLimits(maxDecodeBytes: 0))
        #expect(error == .outputSideTooLarge(spec: spec, width: Int(size.split(separator: "x")[0])!,
                                             height: Int(size.split(separator: "x")[1])!, limit: 65_500))
        #expect(error?.errorType == "Imaging.OutputTooLarge")
        #expect(error?.description.contains("would be \(size), over JPEG's largest side of 65500 pixels") == true)
        // Within the limit, the same strip renders.
        #expect(try render(strip, "100%").height == height)
    }

    @Test func outputLimitCountsTheRenditionsOfOneCallTogether() throws {
        let limits = ImageLimits(maxOutputPixels: 1_000_000)
        let flower = HostileJPEGs.flower
        #expect(try render(flower, "fit:1000x1000", limits: limits).width == 1000)
        let specs = try ["fit:1000x1000", "fit:1000x1000"].map(RenditionSpec.init)
        let error = ImagingError.outputTooLarge(spec: "fit:1000x1000", width: 1000, height: 752, total: 1_504_000,
                                                limit: 1_000_000)
        #expect(throws: error) { try RenditionRenderer().render(flower, specs: specs, options: RenderOptions(limits: limits)) }
        #expect(error.description.contains("1504000 with the renditions before it in the same call"))
    }

    // MARK: Limits from the function's memory

    @Test func forMemoryFitsEveryLimitInTheFunction() {
        for megabytes in [128, 256, 512, 1024, 3008, 10_240] {
            let limits = ImageLimits.forMemory(megabytes: megabytes)
            // What a rendering holds at most: the reserve, the input, then the largest stage: the decode
            // with the coefficient image, or the renditions (with the decode while resized, which the
            // renderer counts within `maxOutputBytes`; alone while encoded).
            let worst = ImageLimits.reservedBytes + limits.maxInputBytes
                + max(limits.maxDecodeBytes + limits.maxCoefficientBytes, limits.maxOutputBytes)
            #expect(worst <= megabytes << 20, "\(megabytes) MB")
            #expect(limits.maxPixels == ImageLimits().maxPixels && limits.maxScans == ImageLimits().maxScans)
        }
        // 128 MB: 24 MiB of input (a 50 MP photo of 20 MB), 28.8 MiB of decode (the 5/8 planes of a 50 MP
        // 4:2:0), 43.2 MiB of coefficient image (a 14 MP progressive 4:2:0), 72 MiB for the renditions.
        let small = ImageLimits.forMemory(megabytes: 128)
        #expect(small.maxInputBytes == 24 << 20 && small.maxDecodeBytes == (72 << 20) / 5 * 2)
        #expect(small.maxCoefficientBytes == (72 << 20) - (72 << 20) / 5 * 2 && small.maxOutputBytes == 72 << 20)
        #expect(small.maxOutputPixels == Int(Double(72 << 20) / 5.055))
        let large = ImageLimits.forMemory(megabytes: 1024)
        #expect(large.maxInputBytes == 64 << 20 && large.maxCoefficientBytes == (928 << 20) - (928 << 20) / 5 * 2)
    }

    /// A refused decode names a function whose decode budget, lowered by what the renditions hold
    /// beside it as the renderer lowers it, takes the decode: not one whose bare `maxDecodeBytes` does.
    @Test func aRefusedDecodeNamesAFunctionThatTakesItBesideTheRenditions() throws {
        var limits = ImageLimits.forMemory(megabytes: 128)
        limits.heldBesideDecode = 100 << 20
        let needed = 40 << 20
        let text = limits.neededFunction(decoding: needed)
        let megabytes = try #require(Int(text.split(separator: " ").first { Int($0) != nil } ?? ""), "\(text)")
        func takes(_ mb: Int) -> Bool {
            let l = ImageLimits.forMemory(megabytes: mb)
            return min(l.maxDecodeBytes, l.maxOutputBytes - limits.heldBesideDecode) >= needed
        }
        #expect(takes(megabytes) && !takes(megabytes - 1), "\(text)")
        // The bare decode budget would have named a smaller function, too small with the renditions.
        let bare = try #require(ImageLimits.functionMegabytes { $0.maxDecodeBytes >= needed })
        #expect(bare < megabytes)
    }

    @Test func forMemory128RefusesTheMultiScan7000And1024AcceptsIt() throws {
        let jpeg = HostileJPEGs.multiScan7000
        #expect(inspectError(jpeg, limits: ImageLimits.forMemory(megabytes: 128))
            == .tooMuchMemory(needed: 294_000_000, limit: (72 << 20) - (72 << 20) / 5 * 2,
                              reason: "a baseline 3-scan 7000x7000 4:4:4 JPEG is decoded from its whole coefficient "
                                  + "image whatever the output size (maxCoefficientBytes); a function of 564 MB or more takes it"))
        let info = try JPEGInspector.inspect(jpeg, limits: ImageLimits.forMemory(megabytes: 1024))
        #expect(info.isMultiScan && info.coefficientBytes == 294_000_000)
    }
}
