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
            "picture of \(width)x\(height) (\(width * height) pixels) is over the limit of \(limit) pixels"
        case let .inputTooLarge(bytes, limit): "input of \(bytes) bytes is over the limit of \(limit) bytes"
        case let .tooMuchMemory(needed, limit, reason):
            "decoding needs \(needed >> 20) MiB, over the limit of \(limit >> 20) MiB: \(reason)"
        case let .invalidSpec(spec, reason): "invalid rendition \"\(spec)\": \(reason)"
        case let .codec(message): "JPEG codec error: \(message)"
        }
    }
}
