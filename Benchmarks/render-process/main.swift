import Glibc
import TesseraImaging

// render-process: the picture processor's default renditions (half=50%, thumb=fit:256x256, from one
// decode, at the limits of a 1024 MB function) of one photo, in a process of its own, for
// scripts/bench-resize to time from exec to exit beside the plain libturbojpeg C program. It links
// only TesseraImaging, as the processor's imaging does; the `tessera` CLI also carries the local
// stack (YAML, Foundation), whose loading would be timed instead.
//   render-process IN.jpg OUT-PREFIX [MEMORY-MB]  -> OUT-PREFIX-half.jpg, OUT-PREFIX-thumb.jpg; prints
//   "<in-process ms> <peak KiB>" (VmHWM), then how each rendition was made. The limits are those of a
//   function of MEMORY-MB (default 1024).

func fail(_ message: String) -> Never {
    _ = "render-process: \(message)\n".withCString { write(2, $0, strlen($0)) }
    exit(1)
}

/// The whole file, read to its end: /proc files have no size (fseek to SEEK_END fails there and
/// ftell stays at 0, so /proc/self/status was read as empty and the peak printed as 0).
func read(_ path: String) -> [UInt8]? {
    guard let file = fopen(path, "rb") else { return nil }
    defer { fclose(file) }
    var bytes: [UInt8] = []
    var info = stat()
    if fstat(fileno(file), &info) == 0 { bytes.reserveCapacity(Int(info.st_size)) }
    var chunk = [UInt8](repeating: 0, count: 64 << 10)
    while true {
        let count = chunk.withUnsafeMutableBytes { fread($0.baseAddress, 1, $0.count, file) }
        bytes += chunk[..<count]
        if count < chunk.count { return ferror(file) == 0 ? bytes : nil }
    }
}

func save(_ path: String, _ bytes: [UInt8]) -> Bool {
    guard let file = fopen(path, "wb") else { return false }
    defer { fclose(file) }
    return bytes.withUnsafeBufferPointer { fwrite($0.baseAddress, 1, $0.count, file) } == bytes.count
}

func peakKiB() -> Int {
    guard let status = read("/proc/self/status"),
          let line = String(decoding: status, as: UTF8.self).split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") })
    else { return 0 }
    return Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0
}

let arguments = CommandLine.arguments
guard arguments.count == 3 || arguments.count == 4, let memory = Int(arguments.count == 4 ? arguments[3] : "1024") else {
    fail("usage: render-process IN.jpg OUT-PREFIX [MEMORY-MB]")
}
var how: [String] = []
var start = timespec()
clock_gettime(CLOCK_MONOTONIC, &start)
guard let jpeg = read(arguments[1]) else { fail("cannot read \(arguments[1])") }
do {
    let specs = [try RenditionSpec("50%"), try RenditionSpec("fit:256x256")]
    // Variants for measurements: a forced DCT scale (eighths), each rendition decoded on its own.
    var options = RenderOptions(limits: ImageLimits.forMemory(megabytes: memory))
    options.forcedScale = getenv("RENDER_SCALE").flatMap { Int(String(cString: $0)) }
    options.chainRenditions = getenv("RENDER_NO_CHAIN") == nil
    let made = try RenditionRenderer().render(jpeg, specs: specs, options: options)
    for (name, rendition) in zip(["half", "thumb"], made) where !save("\(arguments[2])-\(name).jpg", rendition.jpeg) {
        fail("cannot write \(arguments[2])-\(name).jpg")
    }
    how = zip(["half", "thumb"], made).map { "\($0): \($1.made)" }
} catch let error as ImagingError {
    fail("\(arguments[1]): \(error.errorType): \(error)")
}
var end = timespec()
clock_gettime(CLOCK_MONOTONIC, &end)
let ms = Double(end.tv_sec - start.tv_sec) * 1e3 + Double(end.tv_nsec - start.tv_nsec) / 1e6
print("\(Double(Int(ms * 1000)) / 1000) \(peakKiB())")
for line in how { print(line) }
