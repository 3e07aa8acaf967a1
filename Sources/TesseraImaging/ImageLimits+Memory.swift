import TesseraSupport

extension ImageLimits {
    /// Limits a function of `megabytes` (Lambda's `AWS_LAMBDA_FUNCTION_MEMORY_SIZE`, MiB) can hold.
    ///
    /// A rendering holds, measured on `tessera resize` as a process (peak RSS): its resident baseline,
    /// the input, the decoded picture, and then either libjpeg's coefficient image (a multi-scan file,
    /// freed when the decode ends) or the renditions (made after it). So the budget is
    /// `reserved + input + decode + max(coefficients, renditions)`:
    /// - `reservedBytes` 32 MiB: 20-23 MB resident before any picture (runtime, libturbojpeg, code),
    ///   and heap slack;
    /// - the input, held whole: 1/8 of the rest, 4 to 64 MiB;
    /// - of what is left, 1/4 for the decode (pixels + libjpeg's rows: 7 MP of RGB at 128 MB, so a 50%
    ///   rendition of 28 MP) and 3/4 for the coefficient image (a 21 MP progressive 4:2:0 at 128 MB, any
    ///   picture under the pixel limit from 1024 MB) or, as much, for the renditions at
    ///   `outputBytesPerPixel` (6 MP at 128 MB: a 50% rendition of 24 MP).
    /// Pixels, ICC profiles and scans do not scale with memory and keep their defaults. The worst cases
    /// measured at 128 MB peak at 104 MiB (a 62 MiB coefficient image and an 18 MB decode) and 97 MiB
    /// (a 6 MP quality-100 4:4:4 rendition of noise, turned upright).
    public static func forMemory(megabytes: Int) -> ImageLimits {
        let available = max(0, (megabytes << 20) - reservedBytes)
        let input = min(64 << 20, max(4 << 20, available / 8))
        let rest = max(0, available - input)
        return ImageLimits(maxInputBytes: input, maxDecodeBytes: rest / 4, maxCoefficientBytes: rest - rest / 4,
                           maxOutputPixels: (rest - rest / 4) / outputBytesPerPixel)
    }

    /// What a function process holds before any picture, with heap slack.
    static let reservedBytes = 32 << 20
    /// Bytes a rendition holds a pixel: RGB resized (3), its upright copy (3), its JPEG (up to 4.1 at
    /// quality 100 4:4:4 on noise; JPEGEncoder writes it in place), rounded up.
    static let outputBytesPerPixel = 11
}
