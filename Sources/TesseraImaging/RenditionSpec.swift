import TesseraSupport

/// One rendition to make, parsed from text: `50%`, `fit:256x256`, `width:800`, `size:640x480`;
/// add `:upscale` to allow growing past the source (never done otherwise).
public struct RenditionSpec: Sendable, Equatable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// Both sides times a factor.
        case scale(Double)
        /// Fit inside a box, keeping the aspect ratio.
        case fit(width: Int, height: Int)
        /// This width, height from the aspect ratio.
        case width(Int)
        /// Exactly this size (the aspect ratio may change).
        case size(width: Int, height: Int)
    }

    public let kind: Kind
    public let allowUpscale: Bool
    public let description: String

    /// The largest side a rendition may ask for (JPEG's own limit).
    public static let maxSide = 65_500

    public init(_ text: String) throws {
        description = text
        var body = text.trimmingHTTPWhitespace()
        allowUpscale = body.hasSuffix(":upscale")
        if allowUpscale { body.removeLast(":upscale".count) }
        func fail(_ reason: String) -> ImagingError { .invalidSpec(text, reason: reason) }

        if body.hasSuffix("%") {
            guard let percent = Double(body.dropLast()), percent.isFinite, percent > 0 else {
                throw fail("a percentage must be a number above 0, like 50%")
            }
            guard percent <= 100 || allowUpscale else { throw fail("over 100% needs \":upscale\"") }
            guard percent <= 1000 else { throw fail("at most 1000%") }
            kind = .scale(percent / 100)
            return
        }
        let parts = body.split(separator: ":", maxSplits: 1).map(String.init)
        guard parts.count == 2 else {
            throw fail("expected 50%, fit:WxH, width:W or size:WxH (optionally followed by :upscale)")
        }
        func side(_ s: Substring) throws -> Int {
            guard let value = Int(s), value >= 1, value <= Self.maxSide else {
                throw fail("\"\(s)\" is not a whole number of pixels from 1 to \(Self.maxSide)")
            }
            return value
        }
        func box(_ s: String) throws -> (Int, Int) {
            let sides = s.split(separator: "x", omittingEmptySubsequences: false)
            guard sides.count == 2 else { throw fail("\"\(s)\" is not WIDTHxHEIGHT") }
            return (try side(sides[0]), try side(sides[1]))
        }
        switch parts[0] {
        case "fit": let (w, h) = try box(parts[1]); kind = .fit(width: w, height: h)
        case "size": let (w, h) = try box(parts[1]); kind = .size(width: w, height: h)
        case "width": kind = .width(try side(Substring(parts[1])))
        default: throw fail("unknown kind \"\(parts[0])\" (use fit, width, size or a percentage)")
        }
    }

    /// The rendition's size for a source displayed at `width` x `height`.
    public func targetSize(width: Int, height: Int) -> (width: Int, height: Int) {
        let w = Double(width), h = Double(height)
        func scaled(_ factor: Double) -> (Int, Int) {
            let f = allowUpscale ? factor : min(factor, 1)
            return (max(1, Int((w * f).rounded())), max(1, Int((h * f).rounded())))
        }
        switch kind {
        case let .scale(factor): return scaled(factor)
        case let .fit(bw, bh): return scaled(min(Double(bw) / w, Double(bh) / h))
        case let .width(bw): return scaled(Double(bw) / w)
        case let .size(bw, bh):
            let shrink = allowUpscale ? 1 : min(1, w / Double(bw), h / Double(bh))
            return (max(1, Int((Double(bw) * shrink).rounded())), max(1, Int((Double(bh) * shrink).rounded())))
        }
    }
}
