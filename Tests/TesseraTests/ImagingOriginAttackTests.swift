import Foundation
import Testing
import TesseraLocal
@testable import TesseraImaging

/// An outsider's attack on e735870, 3a375b1 and d9f6bc5: a plane's output grid that starts before
/// its first sample (the reversed odd side's chroma), the straight chain's 1.25x gap, and the plane
/// resampler's four-at-a-time horizontal dot products. Pictures come from ImagingStraightAttackTests
/// (`small`, `psnrs`): every rendition is measured against djpeg's full decode turned and resized.
struct ImagingOriginAttackTests {
    typealias Straight = ImagingStraightAttackTests

    /// A double-precision Lanczos-3 plane resize whose output grid starts at `origin` (in input
    /// samples) on each axis, the window cut at the picture and renormalised: what `taps` promises.
    static func reference(_ src: PixelBuffer, width: Int, height: Int, origin: (x: Double, y: Double)) -> [Double] {
        func weights(_ inN: Int, _ outN: Int, _ origin: Double) -> [[(Int, Double)]] {
            let scale = Double(inN) / Double(outN), fs = max(scale, 1), support = 3 * fs
            return (0..<outN).map { o in
                let center = origin + (Double(o) + 0.5) * scale
                let taps = (0..<inN).filter { abs(Double($0) + 0.5 - center) < support }
                    .map { ($0, Resampler.lanczos3((Double($0) + 0.5 - center) / fs)) }
                let total = taps.reduce(0) { $0 + $1.1 }
                return taps.map { ($0.0, $0.1 / total) }
            }
        }
        let across = weights(src.width, width, origin.x), down = weights(src.height, height, origin.y)
        var rows = [Double](repeating: 0, count: width * src.height)
        for y in 0..<src.height {
            for x in 0..<width { rows[y * width + x] = across[x].reduce(0) { $0 + $1.1 * Double(src.pixels[y * src.width + $1.0]) } }
        }
        var out = [Double](repeating: 0, count: width * height)
        for y in 0..<height {
            for x in 0..<width { out[y * width + x] = down[y].reduce(0) { $0 + $1.1 * rows[$1.0 * width + x] } }
        }
        return out.map { min(255, max(0, $0.rounded())) }
    }

    /// Output widths 1-9 (every residue of the four-at-a-time loop and its tail), reductions and
    /// enlargements under the box pre-reduction's reach, exact halvings of 16-40 wide rows (whose edge ranges start and end mid-group),
    /// each with the grid at 0 and moved back by a quarter, a half and a whole sample: within 1 of the
    /// double-precision reference.
    @Test func narrowOutputsAndMovedGridsMatchTheDoubleReference() {
        var resampler = Resampler()
        var failures: [String] = []
        var cases: [(Int, Int, Int, Int)] = []
        for sw in [1, 2, 3, 5, 7, 8, 9, 13, 18, 27] {
            // Under 6x (a box pre-reduction would make the reference's full Lanczos not the one asked).
            for w in 1...9 where sw < 6 * w { cases.append((sw, 3, w, 2)) }
        }
        for w in 16...40 { cases += [(2 * w, 3, w, 3), (2 * w + 1, 2, w, 1)] }
        for (sw, sh, w, h) in cases {
            let source = Straight.noise(sw, sh, seed: UInt64(sw * 131 + w))
            for origin in [0.0, -0.25, -0.5, -1.0] {
                let ours = resampler.resize(source, width: w, height: h, origin: (origin, origin))
                let reference = Self.reference(source, width: w, height: h, origin: (origin, origin))
                let worst = zip(ours.pixels, reference).map { abs(Double($0) - $1) }.max() ?? 0
                if worst > 1 { failures.append("\(sw)x\(sh) to \(w)x\(h) origin \(origin): off by \(worst)") }
            }
        }
        #expect(failures.isEmpty, "\(failures.prefix(20))")
    }

    /// A moved grid through the box pre-reduction (`resize` divides the origin by the box): a 4x box
    /// of a ramp whose grid starts one source sample back must equal the unmoved ramp's grid shifted
    /// by that sample's worth, within a level: on a linear ramp the moved output is the ramp sampled
    /// a quarter box earlier, away from the clamped edges.
    @Test func aMovedGridThroughTheBoxReductionMovesByTheSourceSample() {
        var resampler = Resampler()
        let w = 1200, out = 25
        let ramp = PixelBuffer(width: w, height: 1, channels: 1, pixels: (0..<w).map { UInt8($0 * 255 / (w - 1)) })
        let plain = resampler.resize(ramp, width: out, height: 1)
        let moved = resampler.resize(ramp, width: out, height: 1, origin: (-48, 0))  // one output sample back
        // Sample x of the moved grid sits where sample x - 1 of the plain grid does.
        let worst = (4..<(out - 4)).map { abs(Int(moved.pixels[$0]) - Int(plain.pixels[$0 - 1])) }.max() ?? 0
        print("box-reduced ramp moved one output sample back: worst \(worst) (plain \(plain.pixels.prefix(8)), moved \(moved.pixels.prefix(8)))")
        #expect(worst <= 1, "plain \(plain.pixels), moved \(moved.pixels)")
    }

    /// Reversed odd sides beyond the half: box-reduced `fit:`s (kx 4 on the chroma; 24x15 and 25x16),
    /// an enlargement (`:upscale`, 601x377), a 211x132, in 4:2:0, 4:2:2, 4:4:0 and 4:1:1 sources,
    /// every orientation, at 4:2:0 and 4:2:2 output (a turned 4:2:2 with both displayed sides odd),
    /// encoded at quality 100 (at 85 the output's own block grid, which a flip moves against the
    /// content, varies a 24x15's PSNR by 0.5 dB): each alone within 0.3 dB of the same rendition
    /// unreversed (orientation 1 for 2-4, 5 for 6-8: a 4:2:2 source turned to 4:2:2 output has lost
    /// chroma rows, not a shift). Before e735870 these lost 1.9-6.7 dB (measured with the CLI:
    /// 601x377 at o3 40.44 against 47.12 dB); after, at most 0.2 dB.
    @Test(arguments: ["2x2", "2x1", "1x2", "4x1"])
    func reversedOddSidesThroughReductionsAndEnlargements(_ sampling: String) throws {
        let source = try Straight.small(sampling, width: 317, height: 199)
        let specs = try ["fit:25x25", "fit:24x24", "fit:601x601:upscale", "fit:211x211"].map { try RenditionSpec($0) }
        var failures: [String] = []
        for output in [ChromaSubsampling.s420, .s422] {
            failures += try Self.againstUnreversed(source, specs, output, within: 0.3, name: sampling)
        }
        #expect(failures.isEmpty, "\(failures)")
    }

    /// Each spec rendered alone at every orientation (quality 100, `output`): the renditions more than
    /// `within` dB under the same one unreversed (orientation 1, or 5 for the turned ones).
    static func againstUnreversed(_ source: [UInt8], _ specs: [RenditionSpec], _ output: ChromaSubsampling,
                                  within: Double, name: String) throws -> [String] {
        var failures: [String] = []
        var unreversed: [Int: [Double]] = [:]
        for orientation in [1, 5, 2, 3, 4, 6, 7, 8] {
            let jpeg = orientation == 1 ? source : JPEGSurgery.withOrientation(source, orientation)
            let options = RenderOptions(quality: 100, subsampling: output)
            let made = try specs.map { try RenditionRenderer().render(jpeg, specs: [$0], options: options)[0] }
            let psnr = try Straight.psnrs(source, made, orientation: orientation)
            if orientation == 1 || orientation == 5 { unreversed[orientation] = psnr }
            let base = unreversed[orientation >= 5 ? 5 : 1]!
            for (index, value) in psnr.enumerated() where value < base[index] - within {
                failures.append("\(name) o\(orientation) \(output) \(specs[index]) \(made[index].width)x\(made[index].height): "
                    + "\(value) dB, unreversed \(base[index])")
            }
        }
        return failures
    }

    /// Tiny pictures whose renditions hold 1-3 chroma samples a side (the moved grid then starts
    /// before a plane two samples wide): every orientation at 4:2:0 and 4:2:2, quality 100, nothing
    /// traps, and each is within 2.5 dB of itself unreversed (orientation 1 or 5). Measured: e735870
    /// took a 17x17's 9x9 half from 29.3 to 34.9 dB at o2 (upright 35.6); what is left, at most 1.9 dB
    /// (33x19's fit:3x3 at 4:2:2, o2: 27.71 against 29.62), is these sizes' own scatter, not the moved
    /// grid: it goes both ways (a 4:4:4 source's 9x9 at 4:2:2 gains 1.6 dB turned, o6 38.83 against o5
    /// 37.18), a moved grid across is the transpose of one moved down (below), and 4:4:4 output, which
    /// moves nothing, scatters 0.5 dB. The 1- and 2-pixel sides are `aOnePixelRenditionHasItsColour`'s.
    @Test func tinyRenditionsWithOneToThreeChromaSamples() throws {
        var failures: [String] = []
        for (width, height) in [(17, 17), (19, 17), (17, 35), (33, 19)] {
            let source = try Straight.small("2x2", width: width, height: height)
            let specs = try ["fit:5x5", "fit:3x3", "fit:9x9", "50%"].map { try RenditionSpec($0) }
            for output in [ChromaSubsampling.s420, .s422] {
                failures += try Self.againstUnreversed(source, specs, output, within: 2.5, name: "\(width)x\(height)")
            }
        }
        #expect(failures.isEmpty, "\(failures)")
    }

    /// A 1x1 rendition has one chroma sample at 4:2:0 as at 4:4:4, so it should carry the same
    /// colour; but its chroma grid's sample covers two luma pixels of which the picture is one, so
    /// the sample is centred on the picture's far edge and its Lanczos (two pictures wide) weighs the
    /// edge half: 30.6 dB against 52.9 at 4:4:4 (a 17x17 crop of ladybird-444, upright). A flip moves
    /// the centre to the other edge, so since e735870 a one-pixel picture's colour depends on its
    /// orientation (CLI, quality 100: 30.6 dB at o1, o5; 31.2 at o2, o8; 37.9 at o3, o4, o6, o7; at
    /// 3ddc6c3 30.6 at all eight). The edge centring itself is older (the upright case never moves);
    /// 1-pixel sides (1x2, 1x3: 26.8 and 28.6 dB against 40.2 and 34.5) show it too. Expected: within
    /// 1 dB of 4:4:4 (or 45 dB).
    @Test func aOnePixelRenditionHasItsColour() throws {
        var failures: [String] = []
        for (width, height) in [(17, 17), (17, 35), (33, 19)] {
            let source = try Straight.small("2x2", width: width, height: height)
            for orientation in [1, 3, 6] {
                let jpeg = orientation == 1 ? source : JPEGSurgery.withOrientation(source, orientation)
                var psnr: [ChromaSubsampling: Double] = [:]
                for output in ChromaSubsampling.allCases {
                    let made = try RenditionRenderer().render(jpeg, specs: [try RenditionSpec("fit:1x1")],
                                                              options: RenderOptions(quality: 100, subsampling: output))
                    psnr[output] = try Straight.psnrs(source, made, orientation: orientation)[0]
                }
                print("\(width)x\(height) o\(orientation) 1x1: \(psnr)")
                for output in [ChromaSubsampling.s420, .s422] where psnr[output]! < min(45, psnr[.s444]! - 1) {
                    failures.append("\(width)x\(height) o\(orientation) 1x1 \(output): \(psnr[output]!) dB, 4:4:4 \(psnr[.s444]!) dB")
                }
            }
        }
        #expect(failures.isEmpty, "\(failures)")
    }

    /// Three and four custom renditions in odd orders, turned and flipped, odd-sided: whatever the
    /// chain (straight from the half when all are 1.25x under it, else by the 3x rule, else decoded),
    /// each is within 0.6 dB of itself made alone in the same orientation, the right size, and a
    /// straight half goes only with every other rendition 1.25x under it.
    @Test(arguments: [["fit:60x60", "50%", "fit:120x120", "fit:30x30"], ["size:101x63", "fit:40x40", "50%"],
                      ["fit:150x150", "fit:100x100", "50%"], ["fit:20x20", "fit:127x127", "fit:41x41", "50%"],
                      ["fit:127x127", "fit:101x101", "fit:41x41"]])
    func customRenditionsInOddOrdersTurned(_ set: [String]) throws {
        let source = try Straight.small("2x2", width: 317, height: 199)
        let specs = try set.map { try RenditionSpec($0) }
        var failures: [String] = []
        for output in [ChromaSubsampling.s420, .s422] {
            for orientation in [1, 2, 3, 6, 7, 8] {
                let jpeg = orientation == 1 ? source : JPEGSurgery.withOrientation(source, orientation)
                let options = RenderOptions(subsampling: output)
                let together = try RenditionRenderer().render(jpeg, specs: specs, options: options)
                let alone = try specs.map { try RenditionRenderer().render(jpeg, specs: [$0], options: options)[0] }
                let a = try Straight.psnrs(source, alone, orientation: orientation)
                let t = try Straight.psnrs(source, together, orientation: orientation)
                for index in specs.indices {
                    if (together[index].width, together[index].height) != (alone[index].width, alone[index].height) {
                        failures.append("\(set) o\(orientation) \(specs[index]): size differs")
                    }
                    if t[index] < a[index] - 0.6 {
                        failures.append("\(set) o\(orientation) \(output) \(specs[index]): together \(t[index]) dB "
                            + "(\(together[index].made)), alone \(a[index]) dB")
                    }
                }
                if let straight = together.firstIndex(where: { $0.made.contains("4/8 (straight") }) {
                    let gap = together.indices.allSatisfy { $0 == straight
                        || (Double(together[straight].width) >= 1.25 * Double(together[$0].width)
                            && Double(together[straight].height) >= 1.25 * Double(together[$0].height))
                        || !together[$0].made.contains("resized from the") }
                    if !gap { failures.append("\(set) o\(orientation) \(output): chained closer than 1.25x: \(together.map(\.made))") }
                }
                print("\(set) o\(orientation) \(output): together \(t), alone \(a)")
            }
        }
        #expect(failures.isEmpty, "\(failures)")
    }

    /// The 50 MP baseline 4:2:0 of the issue, upside down (orientation 3) with both half sides odd
    /// (4331x2885): the half is a chain source whose chroma is moved (both sides reversed and odd), so
    /// it keeps an unshifted stored copy beside the moved one and the upright one; at --memory 128 the
    /// peak must stay under 120 MB, as the turned one's does.
    @Test func fiftyMegapixelUpsideDownOddHalfAt128MB() throws {
        let upright = try ImagingPlanesTests.enlarged(width: 8662, height: 5770, quality: 95)
        var peaks: [Int: Int] = [:]
        // Upright the half keeps no second copy (nor a turned one): measured 67 MB upright, 96 MB
        // upside down; the unshifted chroma copy itself is 2.8 MB of that (94.4 MB at 3ddc6c3).
        for orientation in [1, 3] {
            let run = try Self.resizeAt128(orientation == 1 ? upright : JPEGSurgery.withOrientation(upright, orientation),
                                           ["--scale", "50%"], also: ["fit:1801x1801", "fit:255x255"])
            peaks[orientation] = run.peak
            print("50 MP o\(orientation), odd half + fit:1801x1801 + fit:255x255 at --memory 128: exit \(run.status), "
                  + "peak \(run.peak) KiB\n\(run.log)")
            #expect(run.status == 0, "\(run.log)")
            #expect(run.log.contains("resized from the 4331x2885 rendition's planes"), "\(run.log)")
            #expect(run.peak > 0 && run.peak < 120 << 10, "o\(orientation) peak \(run.peak) KiB: \(run.log)")
        }
        print("peaks: \(peaks)")
    }

    /// `tessera resize --memory 128 --explain --report-peak-memory` of `jpeg` with `options` and
    /// each of `also` as a further rendition: its exit status, log and peak resident memory (KiB).
    static func resizeAt128(_ jpeg: [UInt8], _ options: [String], also: [String]) throws -> (status: Int32, log: String, peak: Int) {
        let folder = try ImagingReferee.directory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let input = folder.appendingPathComponent("in.jpg")
        try Data(jpeg).write(to: input)
        let binary = FunctionProcess.binDirectory.appendingPathComponent("tessera").path
        let renditions = also.enumerated().flatMap { ["--also", "\($1)=\(folder.appendingPathComponent("also\($0).jpg").path)"] }
        let child = try ChildProcess([binary, "resize", "--memory", "128"] + options + renditions
                                         + ["--explain", "--report-peak-memory", input.path, folder.appendingPathComponent("out.jpg").path],
                                     environment: [:], logPath: folder.appendingPathComponent("log").path)
        let exit = child.waitForExit(timeout: 900) ?? child.terminate()
        return (exit.status, child.log, HostileProcessTests.peakKiB((exit.status, child.log, nil, exit.peakRSSKiB, 0)))
    }
}


extension ImagingOriginAttackTests {
    static func transposed(_ p: PixelBuffer) -> PixelBuffer {
        PixelBuffer(width: p.height, height: p.width, channels: 1,
                    pixels: (0..<(p.width * p.height)).map { p.pixels[($0 % p.height) * p.width + $0 / p.height] })
    }

    /// A moved grid across must do what the same grid moved down does to the transposed plane:
    /// a 4/8 decode's chroma (n samples covering n - 0.5 or so) resized with its grid a luma pixel
    /// back, as the straight half of an odd-sided picture flipped is, within 1 level either way.
    @Test func aMovedGridAcrossIsTheTransposeOfOneMovedDown() {
        var resampler = Resampler()
        var failures: [String] = []
        for (n, extent, out) in [(5, 4.25, 5), (5, 4.5, 5), (9, 8.5, 5), (9, 8.5, 9), (5, 4.25, 3), (17, 16.5, 9), (41, 40.5, 21), (80, 79.5, 40)] {
            let source = Straight.noise(n, n, seed: UInt64(n * 7 + out))
            for shift in [-0.5, -1.0, -extent / Double(out) / 2] {
                let across = resampler.resize(source, extent: (extent, extent), width: out, height: out, origin: (shift, 0))
                let down = Self.transposed(resampler.resize(Self.transposed(source), extent: (extent, extent), width: out,
                                                            height: out, origin: (0, shift)))
                let worst = zip(across.pixels, down.pixels).map { abs(Int($0) - Int($1)) }.max() ?? 0
                if worst > 1 { failures.append("\(n) covering \(extent) to \(out), moved \(shift): off by \(worst)") }
            }
        }
        #expect(failures.isEmpty, "\(failures)")
    }
}
