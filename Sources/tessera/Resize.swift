import ArgumentParser
import Glibc
import TesseraAWS
import TesseraEvents
import TesseraImaging
import TesseraPictures
import TesseraSupport
import TesseraLocal

/// `tessera resize`: one rendition of a JPEG, made as the picture processor makes them.
struct Resize: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Resize a JPEG: shrink-on-load decode, Lanczos-3, orientation applied, ICC kept.")

    @Argument(help: "Input JPEG.") var input: String
    @Argument(help: "Output JPEG.") var output: String

    @Option(help: "Scale both sides, e.g. 50%.") var scale: String?
    @Option(help: "Fit inside a box, keeping the aspect ratio, e.g. 256x256.") var fit: String?
    @Option(help: "Exact size, e.g. 640x480.") var size: String?
    @Option(help: "Width in pixels; height follows the aspect ratio.") var width: Int?
    @Flag(help: "Allow renditions larger than the source.") var upscale = false

    @Option(help: "JPEG quality, 1-100.") var quality = 85
    @Option(help: "Chroma subsampling: 4:2:0, 4:2:2 or 4:4:4.") var subsampling = "4:2:0"
    @Flag(help: "Keep EXIF metadata (GPS included); off by default.") var keepMetadata = false
    @Option(help: "Largest source picture in pixels.") var maxPixels = 50_000_000
    @Option(help: ArgumentHelp("Limits of a function of this many MB (128-10240), as the picture processor "
                               + "sets them from AWS_LAMBDA_FUNCTION_MEMORY_SIZE; default: the library's defaults.",
                               valueName: "MB"))
    var memory: Int?
    @Flag(help: ArgumentHelp("Print the process's peak resident memory when done (VmHWM: since exec, unlike "
                             + "wait4's maxrss, which a child of a large process inherits)."))
    var reportPeakMemory = false
    @Option(help: ArgumentHelp("Decode at least this many times the target before filtering (1 = straight to size); "
                               + "default: the margin measured for each DCT scale (1.25 above 4/8, 3 at 4/8 and below)."))
    var margin: Double?
    @Option(help: ArgumentHelp("Another rendition from the same decode, as the picture processor makes its renditions "
                               + "together, e.g. fit:256x256=thumb.jpg; repeatable.", valueName: "SPEC=OUTPUT"))
    var also: [String] = []
    @Flag(help: "Print how each rendition was made (YUV planes or RGB, the DCT scale and why).") var explain = false

    func validate() throws {
        let given = [scale, fit, size, width.map(String.init)].compactMap { $0 }
        guard given.count == 1 else { throw ValidationError("give exactly one of --scale, --fit, --size, --width") }
        guard (1...100).contains(quality) else { throw ValidationError("--quality must be 1 to 100") }
        if let margin, !(1...8).contains(margin) { throw ValidationError("--margin must be 1 to 8") }
        if let memory, !(128...10_240).contains(memory) {
            throw ValidationError("--memory must be a Lambda memory size, 128 to 10240 (MB)")
        }
        guard ChromaSubsampling(rawValue: subsampling) != nil else {
            throw ValidationError("--subsampling must be 4:2:0, 4:2:2 or 4:4:4")
        }
        // A size no rendition can have is the arguments' fault, not the input's: a usage error.
        do {
            _ = try RenditionSpec(specText)
            for extra in also {
                // A spec has no "=", an output path may: the first one splits.
                guard let split = extra.firstIndex(of: "="), split != extra.startIndex,
                      extra.index(after: split) != extra.endIndex else {
                    throw ValidationError("--also takes SPEC=OUTPUT, e.g. fit:256x256=thumb.jpg")
                }
                _ = try RenditionSpec(String(extra[..<split]))
            }
        } catch let error as ImagingError { throw ValidationError("\(error)") }
    }

    /// The rendition asked for, as picture-processor's RENDITIONS spells it.
    var specText: String {
        let text = scale.map { $0.hasSuffix("%") ? $0 : $0 + "%" } ?? fit.map { "fit:\($0)" }
            ?? size.map { "size:\($0)" } ?? "width:\(width!)"
        return upscale ? text + ":upscale" : text
    }

    func run() throws {
        defer { if reportPeakMemory { printError("tessera resize: peak resident memory \(peakResidentKiB()) KiB") } }
        let text = specText
        do {
            let extras = try also.map { extra in
                let split = extra.firstIndex(of: "=")!
                return (spec: try RenditionSpec(String(extra[..<split])), output: String(extra[extra.index(after: split)...]))
            }
            let spec = try RenditionSpec(text)
            var limits = memory.map { ImageLimits.forMemory(megabytes: $0) } ?? ImageLimits()
            limits.maxPixels = maxPixels
            // A file over the input limit is refused before it is read, as a function refuses an object by its size.
            var info = stat()
            if stat(input, &info) == 0, Int(info.st_size) > limits.maxInputBytes {
                throw ImagingError.inputTooLarge(bytes: Int(info.st_size), limit: limits.maxInputBytes)
            }
            guard let bytes = readFile(input) else { throw ValidationError("cannot read \(input)") }
            let options = RenderOptions(quality: quality, subsampling: ChromaSubsampling(rawValue: subsampling)!,
                                        keepMetadata: keepMetadata, limits: limits, qualityMargin: margin)
            let renditions = try RenditionRenderer().render(bytes, specs: [spec] + extras.map(\.spec), options: options)
            guard let rendition = renditions.first else { throw ImagingError.invalidSpec(text, reason: "no rendition") }
            for note in rendition.notes { printError("tessera resize: \(input): note: \(note)") }
            for (made, path) in zip(renditions, [output] + extras.map(\.output)) {
                if explain { printError("tessera resize: \(path): \(made.made)") }
                guard writeFile(path, made.jpeg) else { throw ValidationError("cannot write \(path)") }
                print("\(path): \(made.width)x\(made.height), \(made.jpeg.count) bytes")
            }
        } catch let error as ImagingError {
            printError("tessera resize: \(input): \(error.errorType): \(error)")
            throw ExitCode(1)
        }
    }

    /// VmHWM from /proc/self/status: the high-water mark of this process's own memory since exec.
    private func peakResidentKiB() -> Int {
        guard let status = readFile("/proc/self/status") else { return -1 }
        let line = String(decoding: status, as: UTF8.self).split(separator: "\n").first { $0.hasPrefix("VmHWM:") }
        return line.flatMap { Int($0.dropFirst(6).split(whereSeparator: { $0 == " " || $0 == "\t" }).first ?? "") } ?? -1
    }
}
