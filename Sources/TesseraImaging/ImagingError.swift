import TesseraSupport

/// Why a picture could not be read, resized or written; every case says what was wrong.
public enum ImagingError: LambdaReportableError, Equatable {
    /// Not a JPEG; names what it looks like instead.
    case unsupportedFormat(String)
    /// A JPEG this engine or the library cannot decode (12-bit, lossless, hierarchical, ...).
    case unsupportedJPEG(String)
    case truncated(String)
    case corrupt(String)
    /// More pixels than the configured limit, found from the header before any allocation.
    case tooManyPixels(width: Int, height: Int, limit: Int)
    case inputTooLarge(bytes: Int, limit: Int)
    /// Decoding would need more memory than allowed, known from the header.
    case tooMuchMemory(needed: Int, limit: Int, reason: String)
    /// More scans than `maxScans`: libjpeg decodes each over the whole picture.
    case tooManyScans(limit: Int)
    /// A rendition that takes the renditions of one call (`total` pixels, itself included) over
    /// `maxOutputPixels`, refused before any pixel exists.
    case outputTooLarge(spec: String, width: Int, height: Int, total: Int, limit: Int)
    /// A rendition with a side over `RenditionSpec.maxSide`, which no JPEG can hold (a percentage or
    /// a width of an extreme strip, with `:upscale`), refused before any pixel exists.
    case outputSideTooLarge(spec: String, width: Int, height: Int, limit: Int)
    case invalidSpec(String, reason: String)
    /// The decoder or encoder failed; the library's message.
    case codec(String)

    public var errorType: String {
        switch self {
        case .unsupportedFormat: "Imaging.UnsupportedFormat"
        case .unsupportedJPEG: "Imaging.UnsupportedJPEG"
        case .truncated: "Imaging.Truncated"
        case .corrupt: "Imaging.Corrupt"
        case .tooManyPixels: "Imaging.TooManyPixels"
        case .inputTooLarge: "Imaging.InputTooLarge"
        case .tooMuchMemory: "Imaging.TooMuchMemory"
        case .tooManyScans: "Imaging.TooManyScans"
        case .outputTooLarge, .outputSideTooLarge: "Imaging.OutputTooLarge"
        case .invalidSpec: "Imaging.InvalidSpec"
        case .codec: "Imaging.CodecError"
        }
    }

    public var description: String {
        switch self {
        case let .unsupportedFormat(kind): "unsupported format: \(kind), only JPEG is accepted"
        case let .unsupportedJPEG(reason): "unsupported JPEG: \(reason)"
        case let .truncated(reason): "truncated JPEG: \(reason)"
        case let .corrupt(reason): "corrupt JPEG: \(reason)"
        case let .tooManyPixels(width, height, limit):
            "picture of \(width)x\(height) (\(width * height) pixels) is over the limit of \(limit) pixels (maxPixels)"
        case let .inputTooLarge(bytes, limit):
            "input of \(bytes) bytes is over the limit of \(limit) bytes (maxInputBytes); a function with more "
                + "memory takes larger files (ImageLimits.forMemory, tessera resize --memory)"
        case let .tooMuchMemory(needed, limit, reason):
            "decoding needs \(mebibytes(needed)), over the limit of \(mebibytes(limit)): \(reason); "
                + "a function with more memory can take it (ImageLimits.forMemory, tessera resize --memory)"
        case let .tooManyScans(limit):
            "JPEG of more than \(limit) scans (maxScans): each scan is decoded over the whole picture, "
                + "so this many cost seconds of CPU; re-encode it with a usual scan script (10 scans or fewer)"
        case let .outputTooLarge(spec, width, height, total, limit):
            "rendition \"\(spec)\" would be \(width)x\(height) (\(width * height) pixels"
                + (total > width * height ? ", \(total) with the renditions before it in the same call" : "")
                + "), over the limit of \(limit) pixels (maxOutputPixels); ask for a smaller size"
        case let .outputSideTooLarge(spec, width, height, limit):
            "rendition \"\(spec)\" would be \(width)x\(height), over JPEG's largest side of \(limit) pixels; "
                + "ask for a smaller size"
        case let .invalidSpec(spec, reason): "invalid rendition \"\(spec)\": \(reason)"
        case let .codec(message): "JPEG codec error: \(message)"
        }
    }
}

/// Bytes as MiB for messages, with a decimal below 10 MiB so small budgets do not read as 0.
func mebibytes(_ bytes: Int) -> String {
    let value = Double(bytes) / Double(1 << 20)
    return value >= 10 ? "\(Int(value.rounded())) MiB" : "\((value * 10).rounded() / 10) MiB"
}
