import TesseraSupport

extension ImageLimits {
    /// Limits a function of `megabytes` (Lambda's `AWS_LAMBDA_FUNCTION_MEMORY_SIZE`, MiB) can hold.
    ///
    /// A rendering holds, measured on `tessera resize` and render-process as processes (peak RSS): its
    /// resident baseline, the input, and then one of three stages, which never overlap:
    /// - decoding: the decode (planes, or RGB pixels, and libjpeg's rows) and, for a multi-scan file,
    ///   libjpeg's coefficient image;
    /// - resizing: the decode and the renditions' planes (or pixels);
    /// - encoding, the decode freed: the renditions' planes, their upright copies and their JPEGs.
    /// So the budget is `reserved + input + rest`, each stage within `rest`:
    /// - `reservedBytes` 32 MiB: 8-23 MB resident before any picture (runtime, libturbojpeg, code),
    ///   and heap slack;
    /// - the input, held whole: 1/4 of the rest, 4 to 64 MiB (24 MiB at 128 MB: a 50 MP photo of 20 MB);
    /// - of what is left, 2/5 for the decode (28.8 MiB at 128 MB: the 5/8 planes of a 50 MP 4:2:0,
    ///   27.9 MiB) and 3/5 for the coefficient image (43 MiB at 128 MB: a 14 MP progressive 4:2:0);
    ///   the renditions get all of it (`maxOutputBytes`), and with the decode, their planes
    ///   (`RenditionRenderer` checks both before decoding).
    /// Pixels, ICC profiles and scans do not scale with memory and keep their defaults; the output
    /// pixel limit is what the rest holds at 4:2:0's `outputBytesPerPixel` (15 MP at 128 MB).
    public static func forMemory(megabytes: Int) -> ImageLimits {
        let available = max(0, (megabytes << 20) - reservedBytes)
        let input = min(64 << 20, max(4 << 20, available / 4))
        let rest = max(0, available - input)
        let decode = rest / 5 * 2
        return ImageLimits(maxInputBytes: input, maxDecodeBytes: decode, maxCoefficientBytes: rest - decode,
                           maxOutputPixels: Int(Double(rest) / outputBytesPerPixel(planes: true, subsampling: .s420)),
                           maxOutputBytes: rest)
    }

    /// What a function process holds before any picture, with heap slack.
    static let reservedBytes = 32 << 20

    /// Bytes a rendition holds a pixel while it is encoded: its resized planes (4:2:0: 1.5 a pixel)
    /// or RGB pixels (3), as many again for the upright copy, and its JPEG at its worst, 1.37 bytes a
    /// sample (quality 100 on noise: 4.1 a pixel at 4:4:4; JPEGEncoder writes it in place). The RGB
    /// path's 4:4:4 figure, 10.1, was this constant's 11 before the planes path.
    static func outputBytesPerPixel(planes: Bool, subsampling: ChromaSubsampling, gray: Bool = false) -> Double {
        let samples = gray ? 1 : subsampling == .s420 ? 1.5 : subsampling == .s422 ? 2 : 3
        return 2 * (planes || gray ? samples : 3) + 1.37 * samples
    }

    /// The RGB path's worst figure (4:4:4), for callers that count without knowing the path.
    static let outputBytesPerPixel = 11

    /// The smallest function memory, MB, whose limits `fit`, or nil up to Lambda's 10240 MB: named in
    /// refusals, so that a user knows what the picture would need.
    static func functionMegabytes(where fit: (ImageLimits) -> Bool) -> Int? {
        var low = 128, high = 10_240
        guard fit(forMemory(megabytes: high)) else { return nil }
        while low < high {
            let middle = (low + high) / 2
            if fit(forMemory(megabytes: middle)) { high = middle } else { low = middle + 1 }
        }
        return low
    }

    /// `neededFunction` for a decode of `bytes`: a function whose decode budget, lowered by what the
    /// renditions hold beside it (`heldBesideDecode`, as the renderer lowers it), takes the decode.
    func neededFunction(decoding bytes: Int) -> String {
        Self.neededFunction { min($0.maxDecodeBytes, $0.maxOutputBytes - heldBesideDecode) >= bytes }
    }

    /// "; a function of N MB takes it" for a refusal's reason, from `functionMegabytes`.
    static func neededFunction(where fit: (ImageLimits) -> Bool) -> String {
        functionMegabytes(where: fit).map { "; a function of \($0) MB or more takes it" }
            ?? "; no function up to 10240 MB takes it"
    }
}
