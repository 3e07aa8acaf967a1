import Testing
@testable import TesseraImaging
import TesseraSupport

/// The SIMD resampler, the shrink-on-load margins and the renderer's plan (measured choices, tested
/// for what they promise: geometry, sizes, every channel count and edge size).
struct ResamplerTests {
    func noise(_ width: Int, _ height: Int, _ channels: Int, seed: UInt64 = 7) -> PixelBuffer {
        var state = seed
        let pixels = (0..<(width * height * channels)).map { _ -> UInt8 in
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return UInt8(truncatingIfNeeded: state >> 56)
        }
        return PixelBuffer(width: width, height: height, channels: channels, pixels: pixels)
    }

    @Test(arguments: [1, 3])
    func matchesTheDoublePrecisionReferenceForEveryChannelCount(_ channels: Int) {
        let source = noise(97, 61, channels)
        var resampler = Resampler()
        // Reductions of up to 6x, where no box averaging comes first.
        for (w, h) in [(48, 30), (31, 60), (97, 20), (200, 122), (17, 11), (96, 61)] {
            let ours = resampler.resize(source, width: w, height: h)
            let reference = JPEGSurgery.referenceLanczos(source, width: w, height: h)
            #expect((ours.width, ours.height, ours.channels) == (w, h, channels))
            // Noise is the hardest case for rounding; single precision stays within one level.
            let worst = zip(ours.pixels, reference.pixels).map { abs(Int($0) - Int($1)) }.max() ?? 0
            #expect(worst <= 1, "\(w)x\(h)x\(channels): off by \(worst)")
        }
    }

    /// A plane's path (vertical pass first; an exact halving's shared taps eight outputs a step; a
    /// side that keeps its size only copied) against the reference, padded as TurboJPEG's planes are.
    @Test func planeHalvingsAndOneSidedResizesMatchTheReference() {
        var resampler = Resampler()
        for (sw, sh) in [(130, 66), (131, 67), (32, 40)] {
            let source = noise(sw, sh, 1, seed: UInt64(sw))
            for (w, h) in [(sw / 2, sh / 2), (sw / 2, sh), (sw, sh / 2), (sw, sh), (40, 33), (24, 20), (sw + 9, sh / 3)] {
                let ours = resampler.resize(source, width: w, height: h, padded: (w + 3, h + 2))
                let reference = JPEGSurgery.referenceLanczos(source, width: w, height: h)
                #expect((ours.width, ours.height, ours.channels) == (w + 3, h + 2, 1))
                var worst = 0
                for y in 0..<(h + 2) {
                    for x in 0..<(w + 3) {
                        // The padding repeats the last column and row, as an encoder pads an MCU.
                        let expected = reference.pixels[min(y, h - 1) * w + min(x, w - 1)]
                        worst = max(worst, abs(Int(ours.pixels[y * (w + 3) + x]) - Int(expected)))
                    }
                }
                #expect(worst <= 1, "\(sw)x\(sh) to \(w)x\(h): off by \(worst)")
            }
        }
        // A halving is recognised only when it is one: 131 samples to 65 is not.
        let taps = Resampler.taps(from: 130, extent: 130, to: 65)
        #expect(Resampler.halving(taps, extent: 130, width: 65)?.outputs.count ?? 0 > 50)
        #expect(Resampler.halving(Resampler.taps(from: 131, extent: 131, to: 65), extent: 131, width: 65) == nil)
    }

    @Test func edgeSizesDoNotCrash() {
        var resampler = Resampler()
        for (sw, sh) in [(1, 1), (1, 9), (9, 1), (2, 2)] {
            for channels in [1, 3] {
                let out = resampler.resize(noise(sw, sh, channels), width: 1, height: 1)
                #expect(out.pixels.count == channels)
                let up = resampler.resize(noise(sw, sh, channels), width: 5, height: 4)
                #expect(up.pixels.count == 5 * 4 * channels)
            }
        }
    }

    @Test func aScaledDecodeIsResampledFromWhatItCovers() {
        // 8/8 of a 1050-row picture is 1050 rows; 5/8 rounds 656.25 up to 657. Filtering the 657 rows as
        // if they covered the picture shifts the last rows by most of a pixel; with the extent, a
        // horizontal edge lands where the full-size resize puts it.
        var rows = [UInt8](repeating: 0, count: 4 * 1050)
        for y in 900..<1050 { for x in 0..<4 { rows[y * 4 + x] = 255 } }
        let full = PixelBuffer(width: 4, height: 1050, channels: 1, pixels: rows)
        var resampler = Resampler()
        // Stands in for a 5/8 decode: samples 1.6 rows apart, the last one past the picture's end.
        let scaled = resampler.resize(full, extent: (4, 657 * 1.6), width: 4, height: 657)
        let direct = resampler.resize(full, width: 4, height: 525)
        let withExtent = resampler.resize(scaled, extent: (4, 656.25), width: 4, height: 525)
        let without = resampler.resize(scaled, width: 4, height: 525)
        func error(_ a: PixelBuffer) -> Int { zip(a.pixels, direct.pixels).map { abs(Int($0) - Int($1)) }.max() ?? 0 }
        // Where the edge crosses half brightness, and how far any pixel is from the direct resize.
        func edge(_ a: PixelBuffer) -> Int { (0..<a.height).first { a.pixels[$0 * 4] >= 128 } ?? -1 }
        #expect(edge(withExtent) == edge(direct))
        #expect(edge(without) != edge(direct))
        #expect(error(withExtent) < error(without))
    }

    @Test func largeReductionsAverageBoxesFirst() {
        let source = noise(600, 400, 3)
        var resampler = Resampler()
        let thumb = resampler.resize(source, width: 50, height: 33)
        let reference = JPEGSurgery.referenceLanczos(source, width: 50, height: 33)
        // Box-averaging by 4 first (12x leaves a gap of 3) stays close to Lanczos all the way.
        #expect(JPEGSurgery.psnr(thumb, reference) > 40)
        let reduced = Resampler.reduce(PixelBuffer(width: 3, height: 3, channels: 1, pixels: [0, 10, 20, 30, 40, 50, 60, 70, 80]), 2, 2)
        #expect((reduced.width, reduced.height) == (2, 2))
        #expect(reduced.pixels == [20, 35, 65, 80])  // the partial boxes average what they hold
    }

    /// A left-to-right ramp from 0 to 255 (the same in every channel), or top to bottom.
    func ramp(_ width: Int, _ height: Int, _ channels: Int, vertical: Bool = false) -> PixelBuffer {
        let length = vertical ? height : width
        var pixels = [UInt8](repeating: 0, count: width * height * channels)
        for y in 0..<height {
            for x in 0..<width {
                let value = UInt8((255 * Double(vertical ? y : x) / Double(max(1, length - 1))).rounded())
                for c in 0..<channels { pixels[(y * width + x) * channels + c] = value }
            }
        }
        return PixelBuffer(width: width, height: height, channels: channels, pixels: pixels)
    }

    @Test(arguments: [(16_000, 2, 1), (16_001, 1, 1), (997, 3, 13), (1000, 2, 7), (5_000, 1, 64), (12_347, 4, 100)])
    func partialBoxesWeighWhatTheyHold(_ length: Int, _ across: Int, _ out: Int) {
        var resampler = Resampler()
        for channels in [1, 3] {
            for vertical in [false, true] {
                let source = ramp(vertical ? across : length, vertical ? length : across, channels, vertical: vertical)
                let resized = resampler.resize(source, width: vertical ? 1 : out, height: vertical ? out : 1)
                let values = stride(from: 0, to: resized.pixels.count, by: channels).map { Double(resized.pixels[$0]) }
                let inputMean = source.pixels.reduce(0.0) { $0 + Double($1) } / Double(source.pixels.count)
                let outputMean = values.reduce(0, +) / Double(values.count)
                let what = "\(length) -> \(out), \(channels) channels, vertical \(vertical)"
                #expect(abs(outputMean - inputMean) <= 1, "\(what): mean \(outputMean), input's \(inputMean)")
                // A ramp reduced stays symmetric about its middle: mirrored pixels sum to 255.
                let asymmetry = zip(values, values.reversed()).map { abs($0 + $1 - 255) }.max() ?? 0
                #expect(asymmetry <= 1, "\(what): \(values)")
            }
        }
    }

    @Test func theMarginDependsOnTheDCTScale() throws {
        #expect(JPEGDecoder.margin(for: (5, 8)) == 1.25)
        #expect(JPEGDecoder.margin(for: (4, 8)) == 3)  // a box average, like the scales below it
        #expect(JPEGDecoder.margin(for: (3, 8)) == 3)
        let info = try JPEGInspector.inspect(try Fixtures.bytes("photos/ladybird-444.jpg"))  // 320x200
        let half = JPEGDecoder.chooseFactor(info, targets: [(160, 100)], margin: nil, channels: 3, maxBytes: .max)
        #expect(half.factor.num * 8 / half.factor.denom == 5)  // 200 >= 1.25 x 160
        let thumb = JPEGDecoder.chooseFactor(info, targets: [(32, 20)], margin: nil, channels: 3, maxBytes: .max)
        #expect(thumb.factor.num * 8 / thumb.factor.denom == 3)  // 120 >= 3 x 32; 2/8 (80) is not
        let both = JPEGDecoder.chooseFactor(info, targets: [(160, 100), (32, 20)], margin: nil, channels: 3, maxBytes: .max)
        #expect(both.factor.num * 8 / both.factor.denom == 5)
        let fixed = JPEGDecoder.chooseFactor(info, targets: [(160, 100)], margin: 2, channels: 3, maxBytes: .max)
        #expect(fixed.factor.num == fixed.factor.denom)
    }

    @Test func smallRenditionsAreMadeFromALargerOne() {
        #expect(RenditionRenderer.plan([(3000, 2000), (256, 171)]) == [nil, 0])
        #expect(RenditionRenderer.plan([(256, 171), (3000, 2000)]) == [1, nil])
        // Not three times larger on both sides: from the decode.
        #expect(RenditionRenderer.plan([(700, 500), (256, 171)]) == [nil, nil])
        #expect(RenditionRenderer.plan([(3000, 2000), (800, 600), (100, 60)]) == [nil, 0, 1])
    }

    @Test func renditionsInAnyOrderMatchTheirOwnRender() throws {
        let bytes = try Fixtures.bytes("photos/ladybird-420.jpg")
        let renderer = try RenditionRenderer()
        let specs = try ["fit:40x40", "50%", "width:300", "25%"].map(RenditionSpec.init)
        let together = try renderer.render(bytes, specs: specs)
        #expect(together.map(\.spec) == specs)
        for (spec, rendition) in zip(specs, together) {
            let alone = try renderer.render(bytes, specs: [spec])[0]
            #expect((alone.width, alone.height) == (rendition.width, rendition.height))
            let psnr = JPEGSurgery.psnr(try JPEGSurgery.pixels(alone.jpeg), try JPEGSurgery.pixels(rendition.jpeg))
            // Two quality-85 encodes of nearly the same pixels (a thumbnail may come from the half).
            #expect(psnr > 34, "\(spec): \(psnr)")
        }
    }
}
